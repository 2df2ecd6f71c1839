#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_postfix_pgsql - a real Postfix reads relay.backend = postgresql's table itself
(`check_client_access pgsql:`, Debian's postfix-pgsql, the map docs/CLUSTER.md gives), with
`permit_auth_destination` before it. Two popgated, A and B, share a private PostgreSQL cluster:
Postfix refuses a client before its POP login and relays after a login on either node, and
refuses again after a revocation on the other node; an expired row is refused. With PostgreSQL
stopped, mail for Postfix's own domain is still accepted (it never waits on the database) and
relaying is a temporary failure (4xx), never a bounce. Needs root (a private Postfix).
"""

import os
import smtplib
import sys

import pg_cluster
import popgate_harness as h
import relib as r
import smtp_helpers as sh
from postfix_instance import PrivatePostfix

if not h.IS_ROOT:
    print("SKIP: needs root for a private Postfix")
    sys.exit(h.SKIP)
h.need("postfix")
pg_cluster.need_postgresql()
if not os.path.exists("/usr/lib/postfix/postfix-pgsql.so"):
    print("SKIP: postfix-pgsql is not installed")
    sys.exit(h.SKIP)

# The map of docs/CLUSTER.md, with this test's cluster in hosts.
MAP_CF = """\
hosts = inet:127.0.0.1:{port}
user = popgate
dbname = {dbname}
query = SELECT 'OK' FROM relay_auth WHERE address = '%s' AND expires > now()
"""


def rcpt(port, source, to="friend@elsewhere.example"):
    """A fresh SMTP connection to Postfix from SOURCE: the RCPT's reply code."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        s.ehlo("client.test")
        code, _ = s.mail("someone@client.test")
        if code != 250:
            return code
        code, _ = s.rcpt(to)
        s.rset()
        return code
    finally:
        s.close()


def node(test, pg, name):
    d = r.Daemon(test, config={"relay": {"allow": "", "backend": "postgresql", "postgresql": pg.conninfo(),
                                         "store_timeout": "10s"},
                               "pop3": {"plaintext_auth": "always", "trusted_networks": ""}},
                 listeners=("pop3",))
    d.config["server"]["hostname"] = name
    d.add_user("alice", "secret")
    return d


class PostfixReadsTheTable(h.TestCase):
    def test_pgsql_map(self):
        with pg_cluster.PgCluster() as pg:
            pg.start()
            with node(self, pg, "a.test") as a, node(self, pg, "b.test") as b:
                a.write_config()
                a.ctl("db", "init")
                a.start()
                b.start()
                cf = os.path.join(a.dir, "popgate-relay.cf")
                with open(cf, "w") as f:
                    f.write(MAP_CF.format(port=pg.port, dbname=pg.dbname))
                os.chmod(cf, 0o644)
                pf = PrivatePostfix(a.dir, r.spool_dir(a.dir), extra={
                    "smtpd_peername_lookup": "no",  # no DNS on a test machine
                    "mynetworks": "",               # 127.x are customers here, not trusted
                    "smtpd_relay_restrictions":
                        "permit_auth_destination, check_client_access pgsql:%s, reject" % cf,
                    "default_transport": "discard:relayed in a test",
                    "relay_transport": "discard:relayed in a test",
                    "local_transport": "discard:local in a test",
                })
                try:
                    pf.start()
                    self.check(pg, pf, a, b)
                finally:
                    pf.stop()

    def check(self, pg, pf, a, b):
        for src, login_on, revoke_on in (("127.0.0.6", a, b), ("127.0.0.7", b, a)):
            self.assertEqual(rcpt(pf.port, src), 554, "relayed for %s before its login" % src)
            h.pop_login(login_on, src)
            self.assertEqual(rcpt(pf.port, src), 250, pf.log()[-2000:])
            revoke_on.ctl("del", src)
            self.assertEqual(rcpt(pf.port, src), 554, "still relays for %s after the revocation" % src)
        # Expiry is the table's: a row past expires is refused at once.
        h.pop_login(a, "127.0.0.8")
        self.assertEqual(rcpt(pf.port, "127.0.0.8"), 250)
        pg.psql("UPDATE relay_auth SET expires = now() - interval '1 second' WHERE address = '127.0.0.8'")
        self.assertEqual(rcpt(pf.port, "127.0.0.8"), 554)
        h.pop_login(a, "127.0.0.9")
        # The database away: local mail still goes in, relaying is try-later, never a bounce.
        pg.stop()
        self.assertEqual(rcpt(pf.port, "127.0.0.9", to="root@localhost"), 250)
        code = rcpt(pf.port, "127.0.0.9")
        self.assertTrue(400 <= code < 500, code)
        pg.start()
        sh.wait_until(lambda: rcpt(pf.port, "127.0.0.9") == 250, timeout=120, what="Postfix relaying again")


if __name__ == "__main__":
    h.main()
