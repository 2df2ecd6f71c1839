#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_relay_postgresql - relay.backend = postgresql with a real PostgreSQL cluster (Debian's
initdb and pg_ctl, started by the test in a scratch directory on loopback) shared by two popgated,
A and B: popgatectl db init and upgrade; a POP login on A relays on B, with A as the node; a
revocation on B refuses on A; with PostgreSQL stopped a login on A still succeeds, RCPT on A is
250 from A's local copy, on B 451 (never 5xx), one warning per outage; the queued login survives
a kill -9 of A and reaches the table when PostgreSQL is back, and B relays then; a kill -9 of
popgated while logins are being written loses none that was acknowledged.

Every wait is for a condition, with a generous deadline; nothing sleeps and hopes.
"""

import json
import re
import signal
import smtplib
import subprocess
import threading

import admin_helpers as ah
import pg_cluster
import popgate_harness as h
import smtp_helpers as sh

OUTSIDE = "friend@elsewhere.net"
TRIGGERS = "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'relay_auth'::regclass AND NOT tgisinternal"
CACHED = "relaydb: the lookup worker holds the store's"


def rcpt(d, source):
    """MAIL and one RCPT to an outside address from SOURCE on D's SMTP listener: the reply code."""
    s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=30, source_address=(source, 0))
    try:
        s.ehlo("client.test")
        s.mail("alice@example.org")
        code, _ = s.rcpt(OUTSIDE)
        return code
    finally:
        s.quit()


def node(test, pg, name, admin=False, store_timeout="10s"):
    """A popgated on PG's store, named NAME (server.hostname), with POP3 and SMTP listeners (and the admin page)."""
    cfg = sh.base_config(relay={"backend": "postgresql", "postgresql": pg.conninfo(),
                                "store_timeout": store_timeout, "sweep_interval": "1s"},
                         pop3={"plaintext_auth": "always"})
    d = h.Popgated(test, config=cfg, listeners=("pop3", "smtp") + (("admin",) if admin else ()))
    d.config["server"]["hostname"] = name
    d.add_user("alice", "secret", messages=[h.mbox_message(1)])
    if admin:
        ah.setup_admin(d, {"vic": ("vic-pw-2", "viewer")})
    return d


def store_metrics(d):
    """The store's samples on D's /metrics (a scraper needs no session)."""
    m = ah.parse_metrics(ah.AdminClient(d).get("/metrics", cookie=False).text)
    return {k: v for k, v in m.items() if k.startswith("popgate_relay_store_")}


def row(pg, address):
    """ADDRESS's row as (username, protocol, node, logins), or None."""
    out = pg.psql("SELECT username, protocol, node, logins FROM relay_auth WHERE address = '%s'" % address)
    return tuple(out.split("|")) if out else None


def kill9(d):
    """kill -9 D's master and reap it; its children follow it out (their lifeline)."""
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d._logf.close()
    d.proc = None


class RelayPostgresql(h.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pg_cluster.PgCluster()
        cls.pg.start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.__exit__(None, None, None)

    def setUp(self):
        if not self.pg.running:
            self.pg.start()
        self.pg.psql("DROP TABLE IF EXISTS relay_auth, popgate_schema")

    def test_db_init_upgrade_and_ctl(self):
        with node(self, self.pg, "a.test") as a:
            # relay.backend = postgresql without relay.postgresql is refused at load.
            a.config["relay"]["postgresql"] = ""
            a.write_config()
            r = subprocess.run([h.POPGATED, "-t", "-f", a.conf_path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 78, r.stdout + r.stderr)
            self.assertIn("relay.postgresql", r.stderr)
            a.config["relay"]["postgresql"] = self.pg.conninfo()
            a.write_config()
            r = a.ctl("db", "upgrade", check=False)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("db init", r.stderr)
            self.assertIn("schema version 2 created", a.ctl("db", "init").stdout)
            self.assertEqual(self.pg.psql("SELECT max(version) FROM popgate_schema"), "2")
            self.assertEqual(self.pg.psql(TRIGGERS), "2")
            # A version 1 table (no trigger) is brought to version 2 by db upgrade.
            self.pg.psql("DROP TRIGGER relay_auth_notify ON relay_auth;"
                         " DROP TRIGGER relay_auth_notify_truncate ON relay_auth;"
                         " DROP FUNCTION popgate_relay_notify(); UPDATE popgate_schema SET version = 1")
            self.assertIn("upgraded from version 1 to 2", a.ctl("db", "upgrade").stdout)
            self.assertEqual(self.pg.psql(TRIGGERS), "2")
            r = a.ctl("db", "init", check=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn("exists already", r.stderr)
            self.assertIn("up to date", a.ctl("db", "upgrade").stdout)
            # Canonical text, as the Berkeley DB key: ::ffff:192.0.2.7 is 192.0.2.7.
            a.ctl("add", "::ffff:192.0.2.7", "--user", "bob", "--ttl", "1h")
            self.assertEqual(row(self.pg, "192.0.2.7"), ("bob", "manual", "a.test", "1"))
            listed = json.loads(a.ctl("list", "--json").stdout)
            self.assertEqual([(e["ip"], e["user"], e["node"]) for e in listed], [("192.0.2.7", "bob", "a.test")])
            self.assertIn("a.test", a.ctl("list").stdout)
            self.assertIn("authorized", a.ctl("check", "192.0.2.7").stdout)
            # Expiry is the database's: a row past its expires is expired at once.
            self.pg.psql("UPDATE relay_auth SET expires = now() - interval '1 second'")
            self.assertEqual(a.ctl("check", "192.0.2.7", check=False).returncode, 1)
            self.assertIn("1", a.ctl("sweep").stdout)
            self.assertIsNone(row(self.pg, "192.0.2.7"))

    def test_statements_parsed_once_per_connection(self):
        """The lookup worker prepares its statements: the server parses a login's upsert once per
        connection, not at every login (bench/relay_backends: three quarters of its server time)."""
        self.pg.psql("ALTER DATABASE %s SET log_statement = 'all'" % self.pg.dbname)
        start = len(self.pg.log())   # the cluster's log is the whole class's
        try:
            with node(self, self.pg, "a.test") as a:
                a.write_config()
                a.ctl("db", "init")
                a.start()
                for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
                    h.pop_login(a, source)
                    self.assertEqual(row(self.pg, source)[:2], ("alice", "pop3"))
        finally:
            self.pg.psql("ALTER DATABASE %s RESET log_statement" % self.pg.dbname)
        upserts = [l for l in self.pg.log()[start:].splitlines() if " LOG:  " in l and "INSERT INTO relay_auth" in l]
        # Three logins; a session that ran into the next second also records its end (pop3_session_end.c),
        # with the same statement: how many do depends on the clock, which statement does not.
        self.assertTrue(3 <= len(upserts) <= 6, "\n".join(upserts))
        names = {re.search(r"execute (\S+): INSERT", l).group(1) for l in upserts}
        self.assertEqual(len(names), 1, "\n".join(upserts))
        self.assertTrue(names.pop().startswith("popgate_"), "\n".join(upserts))

    def test_import_between_backends(self):
        """popgatectl import-relay: bdb into postgresql and back, each entry whole, expired ones left out."""
        with node(self, self.pg, "a.test") as a:
            a.write_config()
            a.ctl("db", "init")
            a.config["relay"]["backend"] = "bdb"
            a.write_config()
            a.ctl("add", "192.0.2.10", "--user", "bob", "--ttl", "1h")
            a.ctl("add", "2001:db8::10", "--user", "carol", "--ttl", "2h")
            a.ctl("add", "192.0.2.11", "--ttl", "1s")
            bdb = {e["ip"]: e for e in json.loads(a.ctl("list", "--json").stdout)}
            # Expired by the time the copy is made: wait for it, never sleep and hope.
            sh.wait_until(lambda: a.ctl("check", "192.0.2.11", check=False).returncode == 1, timeout=30,
                          what="192.0.2.11 expired")
            a.config["relay"]["backend"] = "postgresql"
            a.write_config()
            out = a.ctl("import-relay", "bdb").stdout
            self.assertIn("2 copied", out)
            self.assertIn("1 expired left out", out)
            pg = {e["ip"]: e for e in json.loads(a.ctl("list", "--json").stdout)}
            self.assertEqual(sorted(pg), ["192.0.2.10", "2001:db8::10"])
            for ip in pg:
                for k in ("user", "proto", "first", "last", "expires", "logins", "node"):
                    self.assertEqual(pg[ip][k], bdb[ip][k], (ip, k))
            # A row with a later login than the copy's stays as it is.
            self.pg.psql("UPDATE relay_auth SET last = last + interval '1 minute', username = 'dave'"
                         " WHERE address = '192.0.2.10'")
            self.assertIn("1 copied, 1 already held", a.ctl("import-relay", "bdb").stdout)
            self.assertEqual(row(self.pg, "192.0.2.10")[0], "dave")
            # And back into an empty Berkeley DB.
            a.config["relay"]["backend"] = "bdb"
            a.write_config()
            a.ctl("flush")
            self.assertIn("2 copied", a.ctl("import-relay", "postgresql").stdout)
            self.assertEqual(sorted(e["ip"] for e in json.loads(a.ctl("list", "--json").stdout)),
                             ["192.0.2.10", "2001:db8::10"])
            r = a.ctl("import-relay", "bdb", check=False)
            self.assertEqual(r.returncode, 64)

    def test_two_nodes_and_an_outage(self):
        a_cm, b_cm = node(self, self.pg, "a.test", admin=True), node(self, self.pg, "b.test")
        with a_cm as a, b_cm as b:
            a.write_config()
            a.ctl("db", "init")
            a.start()
            b.start()
            # Refused before, relayed on B after a login on A: written before the +OK.
            self.assertEqual(rcpt(b, "127.0.0.2"), 550)
            h.pop_login(a, "127.0.0.2")
            self.assertEqual(rcpt(b, "127.0.0.2"), 250)
            self.assertEqual(row(self.pg, "127.0.0.2")[:3], ("alice", "pop3", "a.test"))
            entries = {e["ip"]: e for e in json.loads(b.ctl("list", "--json").stdout)}
            self.assertEqual(entries["127.0.0.2"]["node"], "a.test")
            h.pop_login(b, "127.0.0.6")
            c = ah.AdminClient(a)
            c.login("vic", "vic-pw-2")
            relays = {r["ip"]: r["node"] for r in c.get("/api/relays").json["relays"]}
            self.assertEqual(relays, {"127.0.0.2": "a.test", "127.0.0.6": "b.test"})
            # The lookup worker's state is written once a second: wait until it shows the login.
            m = sh.wait_until(lambda: (lambda m: m if m.get("popgate_relay_store_queries_total", 0) > 0 else None)
                              (store_metrics(a)), timeout=60, what="store queries on /metrics")
            self.assertEqual(m["popgate_relay_store_up"], 1)
            self.assertEqual(m["popgate_relay_store_queued"], 0)
            # A revocation on B refuses on A at the next RCPT.
            b.ctl("del", "127.0.0.2")
            self.assertEqual(rcpt(a, "127.0.0.2"), 550)

            # B's copy holds A's login of 127.0.0.9 (asked once, then from memory)...
            sh.wait_until(lambda: CACHED in b.log(), timeout=60, what="B's copy of the table loaded")
            h.pop_login(a, "127.0.0.9")
            self.assertEqual(rcpt(b, "127.0.0.9"), 250)
            self.assertEqual(rcpt(b, "127.0.0.9"), 250)

            # PostgreSQL stopped: the login on A succeeds and A relays for it; B says 451, also
            # for 127.0.0.9: a lost connection is revocations unheard, and B's copy goes with it.
            self.pg.stop()
            self.assertEqual(rcpt(b, "127.0.0.9"), 451)
            h.pop_login(a, "127.0.0.3")
            self.assertEqual(rcpt(a, "127.0.0.3"), 250)
            self.assertEqual(rcpt(b, "127.0.0.3"), 451)
            self.assertEqual(rcpt(b, "127.0.0.4"), 451)
            h.pop_login(a, "127.0.0.5")
            self.assertEqual(rcpt(a, "127.0.0.5"), 250)
            warned = a.log().count("warning: relaydb: the PostgreSQL store is unavailable")
            self.assertEqual(warned, 1, a.log())
            sh.wait_until(lambda: store_metrics(a) == dict(store_metrics(a), popgate_relay_store_up=0,
                                                           popgate_relay_store_queued=2),
                          timeout=60, what="the outage and its queue of 2 on /metrics")

            # kill -9 A while the store is away: the queue on disk keeps the logins.
            kill9(a)
            a.start()
            self.assertEqual(rcpt(a, "127.0.0.3"), 250)

            # PostgreSQL back: the queued logins reach the table and B relays.
            self.pg.start()
            sh.wait_until(lambda: row(self.pg, "127.0.0.3") is not None, timeout=60,
                          what="the queued login in the table")
            self.assertEqual(row(self.pg, "127.0.0.3")[:3], ("alice", "pop3", "a.test"))
            self.assertIsNotNone(row(self.pg, "127.0.0.5"))
            sh.wait_until(lambda: rcpt(b, "127.0.0.3") == 250, timeout=60, what="B relaying again")
            self.assertEqual(rcpt(b, "127.0.0.4"), 550)
            self.assertIn("the PostgreSQL store is available again", b.log())
            sh.wait_until(lambda: store_metrics(a).get("popgate_relay_store_queued") == 0, timeout=60,
                          what="an empty queue on /metrics")

    def test_cache_across_nodes(self):
        """B answers from its copy of the table; a revocation on A reaches it by NOTIFY."""
        # relay.store_timeout stays 10 s (node's default), so a loaded machine never makes a
        # store that answers look down; the one query meant to outlast it waits for it.
        a_cm, b_cm = node(self, self.pg, "a.test", admin=True), node(self, self.pg, "b.test")
        with a_cm as a, b_cm as b:
            ah.setup_admin(a, {"helen": ("helen-pw-1", "admin")})
            a.write_config()
            a.ctl("db", "init")
            a.start()
            b.start()
            sh.wait_until(lambda: CACHED in b.log(), timeout=60, what="B's copy of the table loaded")
            # A login on A relays on B at once: B's refusals are always asked of the store.
            self.assertEqual(rcpt(b, "127.0.0.20"), 550)
            h.pop_login(a, "127.0.0.20")
            self.assertEqual(rcpt(b, "127.0.0.20"), 250)
            self.assertEqual(rcpt(b, "127.0.0.20"), 250)
            # Revoked on A by popgatectl: B refuses once the notification is read (it is read
            # before every answer; wait for the condition, never sleep).
            a.ctl("del", "127.0.0.20")
            sh.wait_until(lambda: rcpt(b, "127.0.0.20") == 550, timeout=30, what="B refusing after del on A")
            # The same through A's admin API.
            h.pop_login(a, "127.0.0.22")
            self.assertEqual(rcpt(b, "127.0.0.22"), 250)
            self.assertEqual(rcpt(b, "127.0.0.22"), 250)
            c = ah.AdminClient(a)
            c.login("helen", "helen-pw-1")
            self.assertIn(c.delete("/api/relays/127.0.0.22").status, (200, 204))
            sh.wait_until(lambda: rcpt(b, "127.0.0.22") == 550, timeout=30, what="B refusing after the admin's revoke")
            # A login after the revocation relays on B at once.
            h.pop_login(a, "127.0.0.20")
            self.assertEqual(rcpt(b, "127.0.0.20"), 250)

            # The table locked on the server: B still relays for what it holds, without
            # asking the server (the old code asked it and said 451 at the deadline). The
            # notification of A's login above may reach B after B read the row, and take it
            # out again: then the locked query times out, B drops its copy with the connection,
            # and the attempt is made again once the copy is back, never by sleeping.
            def from_memory():
                self.assertEqual(rcpt(b, "127.0.0.20"), 250)
                loads = b.log().count(CACHED)
                if self.locked(lambda: [rcpt(b, "127.0.0.20"), rcpt(b, "127.0.0.20")]) == [250, 250]:
                    return True
                sh.wait_until(lambda: b.log().count(CACHED) > loads, timeout=120, what="B's copy loaded again")
                return False

            sh.wait_until(from_memory, timeout=600, what="B relaying from its copy with the table locked")
            # An address it does not hold is asked of the store, which does not answer: 451 (the
            # session waits 3 s for its lookup worker, and never asks the store itself). The lock
            # is held until the worker's own query gives up (relay.store_timeout, 10 s).
            loads = b.log().count(CACHED)
            mark = len(b.log())

            def refused_while_locked():
                code = rcpt(b, "127.0.0.21")
                sh.wait_until(lambda: "the PostgreSQL store is unavailable (query: relay.store_timeout passed"
                              in b.log()[mark:], timeout=120, what="B's lookup worker giving up its query")
                return code

            self.assertEqual(self.locked(refused_while_locked), 451)
            # That timeout cost B its connection and its copy: loaded again, and right.
            sh.wait_until(lambda: b.log().count(CACHED) > loads, timeout=120, what="B's copy loaded again")
            self.assertEqual(rcpt(b, "127.0.0.20"), 250)
            self.assertEqual(rcpt(b, "127.0.0.22"), 550)

    def locked(self, fn):
        """FN's result, called while another session holds relay_auth in ACCESS EXCLUSIVE mode."""
        locker = subprocess.Popen(["psql", "-X", "-q", "-At", "-h", self.pg.sock, "-p", str(self.pg.port),
                                   "-U", "popgate", "-d", self.pg.dbname], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            locker.stdin.write("BEGIN; LOCK TABLE relay_auth IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n")
            locker.stdin.flush()
            self.assertEqual(locker.stdout.readline().strip(), "locked")
            return fn()
        finally:
            locker.stdin.write("COMMIT;\n")
            locker.stdin.close()
            locker.wait()
            locker.stdout.close()

    def test_slow_store(self):
        """A store that takes connections but never answers (the table locked): as if it were down."""
        # The lock is held until the test lets go: every query outlasts the 300 ms deadline.
        a_cm, b_cm = (node(self, self.pg, "a.test", store_timeout="300ms"),
                      node(self, self.pg, "b.test", store_timeout="300ms"))
        with a_cm as a, b_cm as b:
            a.write_config()
            a.ctl("db", "init")
            a.start()
            b.start()
            locker = subprocess.Popen(["psql", "-X", "-q", "-At", "-h", self.pg.sock, "-p", str(self.pg.port),
                                       "-U", "popgate", "-d", self.pg.dbname], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
            h.pop_login(a, "127.0.0.8")
            try:
                locker.stdin.write("BEGIN; LOCK TABLE relay_auth IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n")
                locker.stdin.flush()
                self.assertEqual(locker.stdout.readline().strip(), "locked")
                h.pop_login(a, "127.0.0.7")
                self.assertEqual(rcpt(a, "127.0.0.7"), 250)
                self.assertEqual(rcpt(b, "127.0.0.7"), 451)
                self.assertIn("relay.store_timeout passed", a.log())
                # A revocation that cannot be done says so, and is not done later behind its back:
                # the server cancels the abandoned DELETE (statement_timeout) while the lock holds.
                self.assertEqual(b.ctl("del", "127.0.0.8", check=False).returncode, 75)
                sh.wait_until(lambda: self.pg.psql("SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                                                   " AND query LIKE 'DELETE FROM relay_auth%'") == "0",
                              timeout=60, what="the abandoned DELETE cancelled by the server")
            finally:
                locker.stdin.write("COMMIT;\n")
                locker.stdin.close()
                locker.wait()
            sh.wait_until(lambda: row(self.pg, "127.0.0.7") is not None, timeout=60,
                          what="the queued login in the table")
            sh.wait_until(lambda: rcpt(b, "127.0.0.7") == 250, timeout=60, what="B relaying")
            # Written once: an attempt abandoned at the deadline and applied anyway is not counted again.
            self.assertEqual(row(self.pg, "127.0.0.7")[3], "1")
            self.assertIsNotNone(row(self.pg, "127.0.0.8"), "a revocation reported failed was applied late")

    def test_kill9_loses_no_acknowledged_login(self):
        with node(self, self.pg, "a.test") as a:
            a.write_config()
            a.ctl("db", "init")
            a.start()
            acked, stop = [], threading.Event()
            enough = threading.Event()

            def logins():
                for i in range(1, 250):
                    if stop.is_set():
                        return
                    source = "127.0.1.%d" % i
                    try:
                        h.pop_login(a, source)
                    except Exception:   # the daemon is gone: this one was never acknowledged
                        return
                    acked.append(source)
                    if len(acked) >= 20:
                        enough.set()

            t = threading.Thread(target=logins)
            t.start()
            self.assertTrue(enough.wait(120), "20 logins never went through")
            kill9(a)
            stop.set()
            t.join(120)
            table = set(self.pg.psql("SELECT address FROM relay_auth").split())
            self.assertGreaterEqual(len(acked), 20)
            # The kill may take the lookup worker just before the session in flight (one here),
            # which then logs that it did not record the login, and says +OK (TESTING.md finding 12).
            missing = [s for s in acked if s not in table]
            told = h.unrecorded_logins(a.log(), missing)
            self.assertEqual([s for s in missing if s not in told], [])
            self.assertLessEqual(len(told), 1, told)
            self.assertEqual({r for reasons in told.values() for r in reasons} - {h.CHANNEL_GONE}, set(), told)


if __name__ == "__main__":
    pg_cluster.need_postgresql()
    h.main()
