# SPDX-License-Identifier: GPL-2.0-or-later
"""test_relaydb_export - the DRAC-form export map, read by Postfix's postmap and Berkeley DB's db_dump;
a POP login's key is in it before the client reads +OK."""

import fcntl
import os
import poplib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import popgate_harness as h

BUILDDIR = os.environ.get("POPGATE_BUILDDIR", os.getcwd())
CTL = os.path.join(BUILDDIR, "src", "popgatectl")
SBIN_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def find(*names):
    for n in names:
        p = shutil.which(n, path=SBIN_PATH)
        if p:
            return p
    return None


DB_DUMP = find("db_dump", "db5.3_dump")
POSTMAP = find("postmap")
STRACE = find("strace")


class ExportMap(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="relaydb-export.")
        self.map = os.path.join(self.dir, "dracd")
        self.conf = os.path.join(self.dir, "p.conf")
        with open(self.conf, "w") as f:
            f.write("[relay]\ndb_dir = %s/relay\nallow =\ndeny = 192.0.2.128/25\n"
                    "export_map = %s\n" % (self.dir, self.map))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def ctl(self, *args, expect=0):
        p = subprocess.run([CTL, "-f", self.conf] + list(args), capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, expect, p.stderr)
        return p.stdout

    def postmap(self, key):
        """What Postfix's check_client_access btree:MAP would find for KEY ('' for nothing)."""
        # Its own empty main.cf: a Debian postfix installed with "No configuration" has none.
        if not os.path.exists(os.path.join(self.dir, "main.cf")):
            open(os.path.join(self.dir, "main.cf"), "w").close()
        p = subprocess.run([POSTMAP, "-c", self.dir, "-q", key, "btree:" + self.map],
                           capture_output=True, text=True, timeout=30)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        return p.stdout.strip()

    def dump(self):
        """The map's records as db_dump -p prints them: {key: value}."""
        out = subprocess.run([DB_DUMP, "-p", self.map + ".db"], capture_output=True, text=True,
                             timeout=30, check=True).stdout.splitlines()
        self.assertIn("type=btree", out)
        body = out[out.index("HEADER=END") + 1:out.index("DATA=END")]
        recs = [line[1:] for line in body]
        return dict(zip(recs[0::2], recs[1::2]))

    def test_map_is_drac_form(self):
        self.ctl("add", "198.51.100.7", "--ttl", "10m")
        self.ctl("add", "2001:db8::7", "--ttl", "20m")
        self.ctl("add", "192.0.2.200")  # on the deny list: never exported
        now = time.time()
        recs = self.dump()
        # Keys are the address text without a trailing NUL (db_dump -p would show \00).
        self.assertEqual(sorted(recs), sorted(["198.51.100.7", "2001:db8::7",
                                               "IPv6:2001:db8:0:0:0:0:0:7",
                                               "ipv6:2001:db8:0:0:0:0:0:7"]))
        for k, v in recs.items():
            self.assertTrue(v.isdigit(), (k, v))
        self.assertAlmostEqual(int(recs["198.51.100.7"]), now + 600, delta=5)
        self.assertAlmostEqual(int(recs["IPv6:2001:db8:0:0:0:0:0:7"]), now + 1200, delta=5)
        self.assertEqual(os.stat(self.map + ".db").st_mode & 0o777, 0o644)

    @unittest.skipIf(POSTMAP is None, "postmap (Debian package postfix) is not installed")
    def test_postfix_reads_it(self):
        self.ctl("add", "198.51.100.8")
        self.ctl("add", "2001:db8::8")
        value = self.postmap("198.51.100.8")
        self.assertTrue(value.isdigit() and int(value) > time.time(), value)
        self.assertTrue(self.postmap("2001:db8::8").isdigit())
        # sendmail's spelling, which postmap folds to lower case like a sendmail map without -f.
        self.assertTrue(self.postmap("IPv6:2001:db8:0:0:0:0:0:8").isdigit())
        self.assertEqual(self.postmap("198.51.100.9"), "")
        self.ctl("del", "198.51.100.8")
        self.assertEqual(self.postmap("198.51.100.8"), "")
        self.ctl("flush")
        self.assertEqual(self.postmap("2001:db8::8"), "")

    def locked_dump(self):
        """db_dump under a shared flock on the map, as Postfix's dict_db locks around a lookup."""
        with open(self.map + ".db", "rb") as f:
            fcntl.flock(f, fcntl.LOCK_SH)
            try:
                return self.dump()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def test_changed_in_place_never_torn(self):
        # A reader that locks as the MTAs do, polling the map while it is changed over and over,
        # always reads a whole map; the file is changed in place, not replaced.
        self.ctl("add", "198.51.100.1")
        inode = os.stat(self.map + ".db").st_ino
        writer = subprocess.Popen(["/bin/sh", "-c", "for i in $(seq 2 60); do %s -f %s add 198.51.100.$i"
                                   " >/dev/null || exit 1; done" % (CTL, self.conf)])
        reads = 0
        while writer.poll() is None:
            recs = self.locked_dump()
            self.assertIn("198.51.100.1", recs)
            reads += 1
        self.assertEqual(writer.wait(), 0)
        self.assertGreater(reads, 0)
        self.assertEqual(len(self.locked_dump()), 60)
        self.assertEqual(os.stat(self.map + ".db").st_ino, inode, "the map was replaced, not changed")
        self.assertFalse([n for n in os.listdir(self.dir) if ".tmp." in n])

    def test_every_change_moves_the_mtime_on(self):
        # Postfix restarts smtpd when a map's mtime (in seconds) differs from the one it opened;
        # two changes within one second must still leave different mtimes.
        self.ctl("add", "198.51.100.1")
        seen = [int(os.stat(self.map + ".db").st_mtime)]
        for i in range(2, 6):
            self.ctl("add", "198.51.100.%d" % i)
            seen.append(int(os.stat(self.map + ".db").st_mtime))
        self.assertEqual(seen, sorted(set(seen)), seen)


class SourcedPOP3(poplib.POP3):
    """poplib's client, connecting from a chosen 127.x address so each login is a new key."""

    def __init__(self, port, source):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=30)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))


@unittest.skipIf(POSTMAP is None, "postmap (Debian package postfix) is not installed")
class LoginBeforeOK(unittest.TestCase):
    LOGINS = 100

    def postmap(self, d, key):
        p = subprocess.run([POSTMAP, "-c", d.dir, "-q", key, "btree:" + self.map],
                           capture_output=True, text=True, timeout=30)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        return p.stdout.strip()

    def start(self, d):
        self.map = os.path.join(d.config["server"]["state_dir"], "dracd")
        d.config["relay"]["export_map"] = self.map
        open(os.path.join(d.dir, "main.cf"), "w").close()  # postmap's own, empty
        d.add_user("alice", "secret")
        d.start()

    def login(self, d, src):
        """A POP login from SRC; True when its key is in the map the moment +OK arrives."""
        c = SourcedPOP3(d.port("pop3"), src)
        c.user("alice")
        self.assertTrue(c.pass_("secret").startswith(b"+OK"))
        value = self.postmap(d, src)  # the moment +OK arrived, before anything else
        c.quit()
        return value.isdigit() and int(value) > time.time()

    def test_key_is_there_when_ok_arrives(self):
        with h.Popgated(self, config={"relay": {"allow": ""}}, listeners=("pop3",)) as d:
            self.start(d)
            misses = []
            for i in range(self.LOGINS):
                src = "127.3.%d.%d" % (1 + i // 200, 1 + i % 200)
                if not self.login(d, src):
                    misses.append(src)
            self.assertEqual(misses, [], "%d of %d logins not in the map at +OK" % (len(misses), self.LOGINS))
            # Logins change the map in place: the one file the sweeper built at start.
            self.assertIsNone(re_search(r"export map .* rebuilding", d.log()))
            print("%d logins, 0 misses" % self.LOGINS)

    def test_other_writers_between_logins(self):
        # The lookup worker keeps the map open between logins. popgatectl changing the map in
        # place, and flush renaming a new map over it, come between two of its changes: its next
        # change must start from the file as it is, not put its cached pages back over theirs.
        with h.Popgated(self, config={"relay": {"allow": ""}}, listeners=("pop3",)) as d:
            self.start(d)
            present = lambda *keys: [k for k in keys if self.postmap(d, k).isdigit()]
            self.assertTrue(self.login(d, "127.3.9.1"))
            d.ctl("add", "198.51.100.2")
            self.assertTrue(self.login(d, "127.3.9.3"))
            self.assertEqual(present("127.3.9.1", "198.51.100.2", "127.3.9.3"),
                             ["127.3.9.1", "198.51.100.2", "127.3.9.3"])
            d.ctl("del", "127.3.9.1")
            self.assertTrue(self.login(d, "127.3.9.4"))
            self.assertEqual(present("127.3.9.1", "198.51.100.2", "127.3.9.3", "127.3.9.4"),
                             ["198.51.100.2", "127.3.9.3", "127.3.9.4"])
            d.ctl("flush")
            self.assertTrue(self.login(d, "127.3.9.5"))
            self.assertEqual(present("198.51.100.2", "127.3.9.3", "127.3.9.4", "127.3.9.5"), ["127.3.9.5"])
            d.ctl("add", "198.51.100.6")
            self.assertTrue(self.login(d, "127.3.9.7"))
            self.assertEqual(present("127.3.9.5", "198.51.100.6", "127.3.9.7"),
                             ["127.3.9.5", "198.51.100.6", "127.3.9.7"])

    @unittest.skipIf(STRACE is None, "strace is not installed")
    def test_worker_keeps_the_map_open_and_never_syncs_it(self):
        # A login's map change is the locks, a put and the pages written (map_update.c): the
        # lookup worker neither opens the map file again nor fsyncs it, login after login.
        with h.Popgated(self, config={"relay": {"allow": ""}}, listeners=("pop3",)) as d:
            self.start(d)
            self.assertTrue(self.login(d, "127.3.8.1"))  # the worker opens the map once
            worker = int(re_search(r"popgated/lookup\[(\d+)\]", d.log()).group(1))
            trace = os.path.join(d.dir, "worker.strace")
            st = subprocess.Popen([STRACE, "-p", str(worker), "-y", "-o", trace,
                                   "-e", "trace=open,openat,fsync,fdatasync,sync_file_range,pwrite64,flock"],
                                  stderr=subprocess.PIPE, text=True)
            try:
                # strace says so on stderr once it is attached; nothing before that is traced.
                self.assertIn("attached", st.stderr.readline())
                for i in range(2, 22):
                    self.assertTrue(self.login(d, "127.3.8.%d" % i))
            finally:
                st.terminate()
                st.wait(30)
                st.stderr.close()
            with open(trace) as f:
                calls = [line for line in f.read().splitlines() if "dracd.db" in line]
            named = lambda pattern: [c for c in calls if re_search(pattern, c)]
            self.assertEqual(named(r"^(open|openat)\("), [])
            self.assertEqual(named(r"^(fsync|fdatasync|sync_file_range)\("), [])
            # ... and yet each login wrote its pages into the file under the readers' locks.
            self.assertGreaterEqual(len(named(r"^pwrite64\(")), 20, calls)
            self.assertGreaterEqual(len(named(r"^flock\(.*LOCK_EX")), 20, calls)


def re_search(pattern, text):
    import re
    return re.search(pattern, text)


if __name__ == "__main__":
    if not os.path.exists(CTL):
        print("popgatectl not built at %s" % CTL)
        sys.exit(99)
    if DB_DUMP is None:
        print("SKIP: neither db_dump nor db5.3_dump is installed (Debian package db5.3-util)")
        sys.exit(77)
    prog = unittest.main(exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
