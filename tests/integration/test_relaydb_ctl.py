# SPDX-License-Identifier: GPL-2.0-or-later
"""test_relaydb_ctl - popgatectl's relay commands on a real relay database, from many processes."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

BUILDDIR = os.environ.get("POPGATE_BUILDDIR", os.getcwd())
CTL = os.path.join(BUILDDIR, "src", "popgatectl")


class RelayCtl(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="relaydb-ctl.")
        self.conf = self.write_conf("main.conf", self.dir + "/relay",
                                    "allow = 127.0.0.0/8, 2001:db8:a::/48\n"
                                    "deny = 192.0.2.128/25, 2001:db8:a:dead::/64\n")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_conf(self, name, db_dir, extra=""):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("[relay]\ndb_dir = %s\ntimeout = 30m\n%s" % (db_dir, extra))
        return path

    def ctl(self, *args, conf=None, expect=0):
        p = subprocess.run([CTL, "-f", conf or self.conf] + list(args), capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, expect, "popgatectl %s: exit %d\nstdout: %s\nstderr: %s"
                         % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p.stdout

    def entries(self, conf=None):
        return {e["ip"]: e for e in json.loads(self.ctl("list", "--json", conf=conf))}

    def test_add_list_check_del(self):
        self.ctl("add", "198.51.100.7", "--user", "alice")
        self.ctl("add", "::ffff:198.51.100.8", "--ttl", "2h")
        self.ctl("add", "2001:DB8:0:0::1", "--user", "bob\"q")
        es = self.entries()
        self.assertEqual(sorted(es), ["198.51.100.7", "198.51.100.8", "2001:db8::1"])
        now = time.time()
        self.assertEqual(es["198.51.100.7"]["user"], "alice")
        self.assertEqual(es["198.51.100.7"]["proto"], "manual")
        self.assertAlmostEqual(es["198.51.100.7"]["expires"], now + 1800, delta=5)
        self.assertAlmostEqual(es["198.51.100.8"]["expires"], now + 7200, delta=5)
        self.assertEqual(es["2001:db8::1"]["user"], 'bob"q')
        self.assertFalse(es["2001:db8::1"]["expired"])
        # A second add refreshes the same record.
        self.ctl("add", "198.51.100.7", "--user", "alice")
        self.assertEqual(self.entries()["198.51.100.7"]["logins"], 2)

        table = self.ctl("list").splitlines()
        self.assertEqual(table[0].split()[:3], ["IP", "USER", "PROTO"])
        self.assertEqual(len(table), 4)
        # Aligned: every row starts its USER column where the header does.
        col = table[0].index("USER")
        for row in table[1:]:
            self.assertNotEqual(row[col], " ", row)
            self.assertEqual(row[col - 1], " ", row)

        out = self.ctl("check", "198.51.100.7")
        self.assertIn("authorized", out)
        self.assertIn("alice", out)
        self.assertIn("unknown", self.ctl("check", "198.51.100.99", expect=1))
        self.assertIn("deny-list (192.0.2.128/25)", self.ctl("check", "192.0.2.200", expect=1))
        self.assertIn("allow-list", self.ctl("check", "127.0.0.5"))
        self.assertIn("allow-list", self.ctl("check", "2001:db8:a::5"))
        self.assertIn("deny-list", self.ctl("check", "2001:db8:a:dead::5", expect=1))
        # Deny wins even over a manual authorization.
        self.ctl("add", "192.0.2.201")
        self.assertIn("deny-list", self.ctl("check", "192.0.2.201", expect=1))

        self.assertIn("removed", self.ctl("del", "::ffff:198.51.100.7"))
        self.ctl("del", "198.51.100.7", expect=1)
        self.assertIn("unknown", self.ctl("check", "198.51.100.7", expect=1))
        self.assertIn("3 entries removed", self.ctl("flush"))
        self.assertEqual(self.entries(), {})

    def test_expiry_and_sweep(self):
        self.ctl("add", "198.51.100.20", "--ttl", "1s")
        self.ctl("add", "198.51.100.21", "--ttl", "1h")
        time.sleep(1.2)
        self.assertIn("expired", self.ctl("check", "198.51.100.20", expect=1))
        self.assertTrue(self.entries()["198.51.100.20"]["expired"])
        self.assertIn("expired", self.ctl("list"))
        self.assertIn("1 entry removed", self.ctl("sweep"))
        self.assertEqual(sorted(self.entries()), ["198.51.100.21"])

    def test_bad_arguments(self):
        self.ctl("add", "not-an-ip", expect=64)
        self.ctl("add", "198.51.100.1", "--ttl", "forever", expect=64)
        self.ctl("check", expect=64)
        self.ctl("frobnicate", expect=64)
        self.ctl("list", "--yaml", expect=64)

    def test_help(self):
        for args in (["--help"], ["-h"], ["help"]):
            p = subprocess.run([CTL] + args, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, args)
            for word in ("list", "add", "del", "check", "import-drac", "passwd", "help", "exit status"):
                self.assertIn(word, p.stdout, args)
        out = self.ctl("help", "add")
        self.assertIn("popgatectl [-f CONFIG] add IP", out)
        self.ctl("help", "frobnicate", expect=64)
        # help needs no configuration file, like passwd.
        p = subprocess.run([CTL, "help"], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, HOME=self.dir))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_config_error_exits_78(self):
        bad = os.path.join(self.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("[relay]\n\ntimeout = soon\n")
        p = subprocess.run([CTL, "-f", bad, "list"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 78)
        self.assertTrue(p.stderr.startswith(bad + ":3:"), p.stderr)

    def test_a_stuck_database_is_waited_for_within_w(self):
        """popgatectl waits at most -w seconds for a database held by another process (Berkeley
        DB waits without end on a lock a killed process held), then says so and exits 75."""
        self.ctl("list")  # the environment exists
        with open(os.path.join(self.dir, "relay", "relaydb.open.lock"), "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)   # every opener waits here while we hold it
            p = subprocess.run([CTL, "-f", self.conf, "-w", "1", "add", "198.51.100.7"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 75, p.stderr)
            self.assertIn("did not answer within the time -w allows", p.stderr)
        self.ctl("add", "198.51.100.7")   # released: served at once
        self.assertIn("198.51.100.7", self.entries())
        for bad in ("-1", "x", "86401", ""):
            p = subprocess.run([CTL, "-f", self.conf, "-w", bad, "list"], capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 64, bad)

    def test_many_processes_at_once(self):
        procs = [subprocess.Popen([CTL, "-f", self.conf, "add", "198.51.100.%d" % (i % 10),
                                   "--user", "u%d" % i], stdout=subprocess.DEVNULL)
                 for i in range(40)]
        procs += [subprocess.Popen([CTL, "-f", self.conf, "list"], stdout=subprocess.DEVNULL)
                  for _ in range(5)]
        for p in procs:
            self.assertEqual(p.wait(timeout=20), 0)
        es = self.entries()
        self.assertEqual(len(es), 10)
        self.assertEqual(sum(e["logins"] for e in es.values()), 40)

    def test_import_drac(self):
        # A dracd.db of an "old install": the export map of another database has exactly that form.
        old = self.write_conf("old.conf", self.dir + "/old",
                              "allow =\nexport_map = %s/dracd\n" % self.dir)
        self.ctl("add", "203.0.113.5", "--ttl", "20m", conf=old)
        self.ctl("add", "2001:db8:5::1", "--ttl", "10m", conf=old)
        self.assertTrue(os.path.exists(self.dir + "/dracd.db"))
        out = self.ctl("import-drac", self.dir + "/dracd.db")
        # The IPv6 address is in the map under three spellings; it is imported once.
        self.assertIn("imported", out)
        es = self.entries()
        self.assertEqual(sorted(es), ["2001:db8:5::1", "203.0.113.5"])
        self.assertEqual(es["203.0.113.5"]["proto"], "drac")
        self.assertAlmostEqual(es["203.0.113.5"]["expires"], time.time() + 1200, delta=5)
        self.assertIn("authorized", self.ctl("check", "203.0.113.5"))
        # Bad input is 1 (popgatectl(8)); 75 is kept for a relay database that is unavailable.
        self.ctl("import-drac", self.dir + "/missing.db", expect=1)


if __name__ == "__main__":
    if not os.path.exists(CTL):
        print("popgatectl not built at %s" % CTL)
        sys.exit(99)
    prog = unittest.main(exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
