# SPDX-License-Identifier: GPL-2.0-or-later
"""test_migration - every step of docs/MIGRATING.md on a fixture of a qpopper + DRAC + sendmail box:
mboxes with qpopper's X-UIDL and Status: headers and UW-IMAP's folder-data message, a crashed
session's .USER.pop drop file in qpopper's temp directory, a popauth export, and a dracd.db made
with db5.3_load holding keys in every form DRAC writes, and a DB 1.85 dracd.db written through
Debian's libdb1-compat. The commands are
taken from the document itself, with its paths moved into the test's directory."""

import ctypes
import fcntl
import os
import poplib
import subprocess
import time

import popgate_harness as h

DOC = os.path.join(h.SRCDIR, "docs", "MIGRATING.md")
SENDMAIL = os.path.join(os.environ.get("POPGATE_SENDMAIL_CACHE", "/var/cache/popgate-tests/sendmail"),
                        "root/usr/libexec/sendmail/sendmail")

PSEUDO = (b"From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n"
          b"Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
          b"From: Mail System Internal Data <MAILER-DAEMON@oldbox.example>\n"
          b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
          b"Message-ID: <1704067200@oldbox.example>\n"
          b"X-IMAP: 1704067200 0000000003\n"
          b"Status: RO\n\n"
          b"This text is part of the internal format of your mail folder, and is not\n"
          b"a real message.  It is created automatically by the mail system software.\n\n")

# qpopper's UIDLs, as its X-UIDL headers hold them.
OLD_UIDLS = ["3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f", "qpop-uidl-2", "0123456789abcdef0123456789abcdef"]


def qpop_message(n, uidl, status=b"RO"):
    return (b"From sender%d@example.org Mon Jan  1 00:0%d:00 2024\n" % (n, n) +
            b"From: sender%d@example.org\nSubject: old message %d\nX-UIDL: %s\nStatus: %s\n\n"
            % (n, n, uidl.encode(), status) + b"body of old message %d\n\n" % n)


def deliver(path, msg):
    """Append MSG as an MDA does: fcntl write lock, append."""
    with open(path, "ab") as f:
        fcntl.lockf(f, fcntl.LOCK_EX)
        f.write(msg)


def load_db185():
    """Debian's DB 1.85 library (libdb1-compat), or None."""
    try:
        return ctypes.CDLL("libdb1.so.2")
    except OSError:
        return None


def write_db185(lib, path, records):
    """A DB 1.85 btree at PATH, written by the library old DRAC builds linked (dbopen, put, close)."""
    class DBT(ctypes.Structure):
        _fields_ = [("data", ctypes.c_void_p), ("size", ctypes.c_size_t)]

    class DB(ctypes.Structure):
        pass

    DB._fields_ = [("type", ctypes.c_int), ("close", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(DB))),
                   ("del_", ctypes.c_void_p), ("get", ctypes.c_void_p),
                   ("put", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(DB), ctypes.POINTER(DBT),
                                            ctypes.POINTER(DBT), ctypes.c_uint)),
                   ("seq", ctypes.c_void_p), ("sync", ctypes.c_void_p), ("internal", ctypes.c_void_p),
                   ("fd", ctypes.c_void_p)]
    lib.dbopen.restype = ctypes.POINTER(DB)
    lib.dbopen.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    db = lib.dbopen(path.encode(), os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644, 0, None)  # DB_BTREE
    assert db, "dbopen %s failed" % path
    keep = []
    for k, v in records:
        kb, vb = ctypes.create_string_buffer(k, len(k)), ctypes.create_string_buffer(v, len(v))
        keep += [kb, vb]
        assert db.contents.put(db, ctypes.byref(DBT(ctypes.cast(kb, ctypes.c_void_p), len(k))),
                               ctypes.byref(DBT(ctypes.cast(vb, ctypes.c_void_p), len(v))), 0) == 0
    assert db.contents.close(db) == 0


def doc_commands():
    """The shell command lines of MIGRATING.md's ```sh blocks."""
    out, inside = [], False
    with open(DOC) as f:
        for line in f:
            if line.startswith("```"):
                inside = line.strip() == "```sh"
                continue
            if inside and line.strip():
                out.append(line.rstrip("\n"))
    return out


def doc_lines():
    with open(DOC) as f:
        return [l.rstrip("\n") for l in f]


class Migration(h.TestCase):
    def setUp(self):
        self.d = h.Popgated(self)
        self.addCleanup(self.d.__exit__, None, None, None)
        d = self.d
        self.old = os.path.join(d.dir, "oldbox")
        os.makedirs(self.old)
        self.secrets = os.path.join(d.dir, "apop.secrets")
        self.map = os.path.join(d.dir, "state", "dracd")
        d.config["auth"]["apop_secrets_file"] = self.secrets
        d.config.setdefault("pop3", {})["trusted_networks"] = "127.0.0.0/8"  # APOP without TLS here
        with open(self.secrets, "w") as f:
            f.write("")
        os.chmod(self.secrets, 0o600)
        d.config["relay"]["export_map"] = self.map
        self.alice = d.add_user("alice", "alicepw", messages=[PSEUDO] + [
            qpop_message(i + 1, u, b"RO" if i else b"U") for i, u in enumerate(OLD_UIDLS)])
        self.bob = d.add_user("bob", "bobpw", messages=[qpop_message(1, "bob-1")])
        self.carol = d.add_user("carol", "carolpw")
        self.spool = os.path.dirname(self.alice)
        # Paths of the document, moved into this test's directory.
        self.paths = [("/var/spool/poptemp", os.path.join(self.old, "poptemp")),
                      ("/var/mail", self.spool), ("/root/popauth.txt", os.path.join(self.old, "popauth.txt")),
                      ("/etc/mail/dracd.db5", os.path.join(self.old, "dracd.db5")),
                      ("/etc/mail/dracd.db", os.path.join(self.old, "dracd.db")),
                      ("/etc/popgate/apop.secrets", self.secrets), ("/var/lib/popgate/dracd", self.map)]
        d.write_config()  # popgatectl runs before popgated starts

    def here(self, text):
        for doc, real in self.paths:
            text = text.replace(doc, real)
        return text

    def doc(self, prefix):
        """The one command of MIGRATING.md starting with PREFIX, with this test's paths."""
        found = [c for c in doc_commands() if c == prefix] or [c for c in doc_commands() if c.startswith(prefix)]
        self.assertEqual(len(found), 1, "MIGRATING.md has %d commands starting %r" % (len(found), prefix))
        return self.here(found[0])

    def run_doc(self, prefix, expect=0):
        cmd = self.doc(prefix)
        if cmd.startswith("popgatectl "):
            cmd = "%s -f %s %s" % (h.POPGATECTL, self.d.conf_path, cmd[len("popgatectl "):])
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        r = subprocess.run(["/bin/sh", "-ec", cmd], capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(r.returncode, expect, "%s: exit %d\n%s%s" % (cmd, r.returncode, r.stdout, r.stderr))
        return r

    def login(self, user, password):
        p = poplib.POP3("127.0.0.1", self.d.port("pop3"), timeout=20)
        p.user(user)
        p.pass_(password)
        return p

    def uidls(self, user, password):
        p = self.login(user, password)
        u = [line.split()[1].decode() for line in p.uidl()[1]]
        p.quit()
        return u

    # ---- step 1: drop files ------------------------------------------------------------------------
    def test_step1_drop_file_comes_back_once(self):
        d = self.d
        poptemp = os.path.join(self.old, "poptemp")
        os.makedirs(poptemp)
        drop = (qpop_message(1, "bob-1") + qpop_message(2, "bob-2") +
                b"From late@example.org Mon Jan  1 00:09:00 2024\nSubject: arrived in that session\n\nlate\n")
        with open(os.path.join(poptemp, ".bob.pop"), "wb") as f:
            f.write(drop)
        if h.IS_ROOT:
            os.chown(os.path.join(poptemp, ".bob.pop"), d.uid, d.gid)
        self.run_doc("for f in /var/spool/poptemp/")
        self.assertTrue(os.path.exists(os.path.join(self.spool, ".bob.pop")))
        d.start()
        p = self.login("bob", "bobpw")
        self.assertEqual(p.stat()[0], 3)
        subjects = [b"\n".join(p.retr(i)[1]) for i in (1, 2, 3)]
        self.assertIn(b"Subject: old message 1", subjects[0])
        self.assertIn(b"Subject: old message 2", subjects[1])
        self.assertIn(b"Subject: arrived in that session", subjects[2])
        self.assertEqual([l.split()[1] for l in p.uidl()[1]][:2], [b"bob-1", b"bob-2"])
        p.quit()
        self.assertFalse(os.path.exists(os.path.join(self.spool, ".bob.pop")))
        d.wait_for_log(r"brought back 2 of 3 messages from qpopper drop file")
        p = self.login("bob", "bobpw")
        self.assertEqual(p.stat()[0], 3)  # and once only
        p.quit()

    # ---- step 2: APOP secrets ----------------------------------------------------------------------
    def test_step2_apop_secrets_carried_over(self):
        d = self.d
        with open(self.secrets, "w") as f:
            f.write("# kept as it is\ncarol:carols-old-secret\nalice:replaced\n")
        os.chmod(self.secrets, 0o600)
        with open(os.path.join(self.old, "popauth.txt"), "w") as f:
            f.write("alice tanstaaf\nbob:bobs apop secret\nbad/name x\n")
        r = self.run_doc("popgatectl import-popauth")
        self.assertIn("skipped line 3: invalid user name", r.stdout)
        self.assertIn("2 imported (1 new, 1 replaced), 1 skipped", r.stdout)
        with open(self.secrets) as f:
            self.assertEqual(f.read(), "# kept as it is\ncarol:carols-old-secret\nalice:tanstaaf\n"
                             "bob:bobs apop secret\n")
        self.assertEqual(os.stat(self.secrets).st_mode & 0o777, 0o600)
        d.start()
        for user, secret in (("alice", "tanstaaf"), ("bob", "bobs apop secret")):
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=20)
            self.assertTrue(p.apop(user, secret).startswith(b"+OK"))
            p.quit()
        p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=20)
        with self.assertRaises(poplib.error_proto):
            p.apop("alice", "replaced")
        p.close()
        # The document's clean-up line removes the export.
        self.run_doc("shred -u /root/popauth.txt")
        self.assertFalse(os.path.exists(os.path.join(self.old, "popauth.txt")))

    # ---- step 3: UIDLs, later mail, the pseudo-message ----------------------------------------------
    def test_step3_uidls_unchanged_and_not_chosen_by_senders(self):
        d = self.d
        d.start()
        self.assertEqual(self.uidls("alice", "alicepw"), OLD_UIDLS)  # pseudo-message not served
        p = self.login("alice", "alicepw")
        self.assertEqual(p.stat()[0], 3)
        self.assertIn(b"Subject: old message 1", b"\n".join(p.retr(1)[1]))
        p.quit()
        # Mail delivered after the first index, its sender choosing UIDLs (a new one, an old one's).
        deliver(self.alice, b"From mallory@example.net Tue Jan  2 00:00:00 2024\nSubject: pick me\n"
                b"X-UIDL: mallory-chose-this\n\nforged\n\n")
        deliver(self.alice, b"From mallory@example.net Tue Jan  2 00:01:00 2024\nSubject: copy\n"
                b"X-UIDL: qpop-uidl-2\n\nforged again\n\n")
        u = self.uidls("alice", "alicepw")
        self.assertEqual(u[:3], OLD_UIDLS)
        for forged in u[3:]:
            self.assertRegex(forged, r"^[0-9a-f]{32}$")
        self.assertEqual(self.uidls("alice", "alicepw"), u)  # stable
        # Deleting everything keeps UW-IMAP's folder data at the top.
        p = self.login("alice", "alicepw")
        for i in range(1, 6):
            p.dele(i)
        p.quit()
        with open(self.alice, "rb") as f:
            self.assertEqual(f.read(), PSEUDO)
        # An empty mailbox at its first login: its first mail is not taken for qpopper's either.
        self.assertEqual(self.uidls("carol", "carolpw"), [])
        deliver(self.carol, qpop_message(1, "forged-on-first-mail"))
        self.assertRegex(self.uidls("carol", "carolpw")[0], r"^[0-9a-f]{32}$")

    # ---- step 4: DRAC ------------------------------------------------------------------------------
    def dracd_db(self, path):
        """A dracd.db with keys in every form, written by db5.3_load from a bytevalue dump."""
        now = int(time.time())
        # rpc.dracd's values: login time + its -e limit.
        recs = [(b"192.0.2.10", b"%d" % (now + 900)),
                (b"192.0.2.11\0", b"%d\0" % (now + 1200)),     # -DTERM_KD: key and value NUL-terminated
                (b"IPv6:2001:db8::10", b"%d" % (now + 600)),     # sendmail's spelling
                (b"2001:db8::11", b"%d" % (now + 600)),          # rpc.dracd's inet_ntop
                (b"192.0.2.9/32", b"%d" % (now + 600)),          # -DCIDR_KEY
                (b"198.51.100.0/24", b"%d" % (now + 600)),
                (b"192.0.2.12", b"%d" % (now - 30)),             # expired, not yet swept
                (b"junk", b"%d" % (now + 600))]
        dump = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n"
        for k, v in sorted(recs):
            dump += " %s\n %s\n" % (k.hex(), v.hex())
        dump += "DATA=END\n"
        subprocess.run(["db5.3_load", path], input=dump.encode(), check=True, timeout=30)

    def test_step4_import_drac(self):
        h.need("db5.3_load", "db5.3_dump")
        self.dracd_db(os.path.join(self.old, "dracd.db"))
        r = self.run_doc("popgatectl import-drac /etc/mail/dracd.db")
        self.assertIn("skipped 198.51.100.0/24: a /24 network is not one address; to let it relay, add "
                      "198.51.100.0/24 to relay.allow (network)\n", r.stdout)
        self.assertIn("skipped junk: not an IPv4 or IPv6 address (not an address)\n", r.stdout)
        self.assertIn("5 imported, 0 already held for longer, 1 expired, 2 skipped (1 not an address, "
                      "1 network, 0 bad value)", r.stdout)
        listed = self.d.ctl("list").stdout
        for ip in ("192.0.2.10", "192.0.2.11", "2001:db8::10", "2001:db8::11", "192.0.2.9"):
            self.assertIn(ip, listed)
            self.assertEqual(self.d.ctl("check", ip, check=False).returncode, 0)
        self.assertNotIn("192.0.2.12", listed)
        again = self.run_doc("popgatectl import-drac /etc/mail/dracd.db").stdout
        self.assertIn("0 imported, 5 already held for longer", again)
        # Step 5's map, where sendmail will read it: written at once, keys as sendmail looks them up.
        dump = subprocess.run(["db5.3_dump", "-p", self.map + ".db"], capture_output=True, text=True,
                              check=True).stdout
        for key in ("192.0.2.10", "192.0.2.11", "192.0.2.9", "IPv6:2001:db8:0:0:0:0:0:10"):
            self.assertIn("\n %s\n" % key, dump)
        # A missing file is bad input: 1, as popgatectl(8) says.
        os.unlink(os.path.join(self.old, "dracd.db"))
        self.run_doc("popgatectl import-drac /etc/mail/dracd.db", expect=1)

    def test_step4_db185_refused_then_converted_as_documented(self):
        h.need("db5.3_load")
        lib = load_db185()
        if lib is None:
            print("SKIP: libdb1-compat (libdb1.so.2) not installed: no DB 1.85 file to test with")
            self.skipTest("libdb1-compat not installed")
        now = int(time.time())
        db185 = os.path.join(self.old, "dracd.db")
        write_db185(lib, db185, [(b"192.0.2.20", b"%d" % (now + 900)),
                                 (b"192.0.2.21/32\0", b"%d\0" % (now + 900)),
                                 (b"192.0.2.22", b"%d" % (now - 30))])
        with open(db185, "rb") as f:
            self.assertEqual(f.read(4), bytes([0x62, 0x31, 0x05, 0x00]))  # 1.85's btree magic, first
        r = self.run_doc("popgatectl import-drac /etc/mail/dracd.db", expect=1)
        # The error names both of the document's conversion commands.
        said = r.stderr.replace("\n", " ")
        self.assertIn(self.doc("db5.3_dump185 "), said)
        self.assertIn(self.doc("tools/db185-dump "), said)
        # The Debian one, run as written (from the source tree), then the import of its output.
        convert = self.doc("tools/db185-dump ").replace("tools/db185-dump", os.path.join(h.SRCDIR, "tools",
                                                                                         "db185-dump"), 1)
        subprocess.run(["/bin/sh", "-ec", convert], check=True, timeout=60)
        out = self.run_doc("popgatectl import-drac /etc/mail/dracd.db5").stdout
        self.assertIn("2 imported, 0 already held for longer, 1 expired, 0 skipped", out)
        for ip in ("192.0.2.20", "192.0.2.21"):
            self.assertEqual(self.d.ctl("check", ip, check=False).returncode, 0)

    # ---- step 5: sendmail --------------------------------------------------------------------------
    def test_step5_sendmail_lines(self):
        lines = doc_lines()
        self.assertIn("Kdrac btree /etc/mail/dracd", lines)
        self.assertIn("Kdrac btree /var/lib/popgate/dracd", lines)
        self.assertIn("export_map = /var/lib/popgate/dracd", lines)
        with open(os.path.join(h.SRCDIR, "etc", "popgated.service.in")) as f:
            unit = f.read()
        self.assertIn("ProtectSystem=full", unit)  # why the map is not put in /etc/mail
        if not os.path.exists(SENDMAIL):
            self.skipTest("no sendmail binary at %s (tools/fetch-sendmail): the Kdrac line is not "
                          "run through sendmail here" % SENDMAIL)
        # Run bare, sendmail -bt canonifies its host name through the system resolver, which a test
        # must not contact; it needs the private namespaces of tests/reliability/test_sendmail_maps.py
        # (another branch), which also checks a Kdrac line against popgate's export map.
        self.skipTest("sendmail at %s, but the Kdrac line runs through it only in "
                      "test_sendmail_maps's namespaces" % SENDMAIL)

    # ---- step 6 ------------------------------------------------------------------------------------
    def test_step6_check_commands(self):
        self.d.ctl("add", "192.0.2.9")
        self.assertIn("192.0.2.9", self.run_doc("popgatectl list").stdout)
        self.run_doc("popgatectl check 192.0.2.9")


if __name__ == "__main__":
    h.main()
