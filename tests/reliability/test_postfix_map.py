# SPDX-License-Identifier: GPL-2.0-or-later
"""test_postfix_map - a real Postfix smtpd decides relaying from popgated's export map
(`check_client_access btree:MAP`): it refuses a client before its POP login, relays for it on an
SMTP connection opened the moment the login's +OK arrives, and refuses it again once
`popgatectl del` revoked it. Three clients, 127.0.0.6, .7 and .8, as in the report that asked for
it. Needs root (a private Postfix); skipped otherwise.
"""

import os
import re
import poplib
import smtplib
import socket
import sys
import time

import relib as r
from postfix_instance import PrivatePostfix

import popgate_harness as h

if not h.IS_ROOT:
    print("SKIP: needs root for a private Postfix")
    sys.exit(h.SKIP)
h.need("postfix")

CLIENTS = ["127.0.0.6", "127.0.0.7", "127.0.0.8"]


class SourcedPOP3(poplib.POP3):
    """poplib's client, connecting from the client's own 127.x address."""

    def __init__(self, port, source):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=30)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))


def rcpt(port, source):
    """A fresh SMTP connection to Postfix from SOURCE: the RCPT's reply code for an outside domain."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        s.ehlo("client.test")
        code, _ = s.mail("someone@client.test")
        if code != 250:
            return code
        code, _ = s.rcpt("friend@elsewhere.example")
        s.rset()
        return code
    finally:
        s.close()


class PostfixReadsTheMap(h.TestCase):
    def test_postfix_relays_right_after_ok(self):
        with r.Daemon(self, config={"relay": {"allow": ""}}, listeners=("pop3",)) as d:
            mapdir = os.path.join(d.dir, "map")
            os.makedirs(mapdir)
            os.chown(mapdir, d.uid, d.gid)  # popgated's server.user writes it; Postfix reads it
            mapfile = os.path.join(mapdir, "dracd")
            d.config["relay"]["export_map"] = mapfile
            d.add_user("alice", "secret")
            d.start()
            deadline = time.time() + 20 * h.SLOWDOWN
            while not os.path.exists(mapfile + ".db") and time.time() < deadline:
                time.sleep(0.05)  # the sweeper builds it at start; Postfix needs it to exist
            self.assertTrue(os.path.exists(mapfile + ".db"), "the sweeper never built the map")
            pf = PrivatePostfix(d.dir, r.spool_dir(d.dir), extra={
                "smtpd_peername_lookup": "no",  # no DNS on a test machine
                "smtpd_relay_restrictions": "check_client_access btree:%s, reject" % mapfile,
                # error: transports are refused at RCPT; discard: accepts, and nothing leaves
                "default_transport": "discard:relayed in a test",
                "relay_transport": "discard:relayed in a test",
            })
            try:
                pf.start()
                self.check_clients(d, pf)
            finally:
                pf.stop()

    def check_clients(self, d, pf):
        outcomes = []
        for src in CLIENTS:
            self.assertEqual(rcpt(pf.port, src), 554, "Postfix relayed for %s before its login" % src)
            mark = len(d.log())
            c = SourcedPOP3(d.port("pop3"), src)
            c.user("alice")
            self.assertTrue(c.pass_("secret").startswith(b"+OK"))
            after = rcpt(pf.port, src)  # the moment +OK arrived, the POP session still open
            c.quit()
            self.assertEqual(after, 250, "Postfix refused %s right after its +OK:\n%s"
                             % (src, pf.log()[-2000:]))
            # The session's end records the authorization again: revoke after it, not before.
            sid = d.wait_for_log(r"pop3 session=(\w+) ip=%s user=alice login ok" % re.escape(src), start=mark).group(1)
            d.wait_for_log(r"session process \d+ is done with session=%s" % sid, start=mark, timeout=30)
            d.ctl("del", src)
            revoked = rcpt(pf.port, src)
            self.assertEqual(revoked, 554, "Postfix still relays for %s after popgatectl del" % src)
            outcomes.append("%s 554/250/554" % src)
        restarts = pf.log().count("has changed -- restarting")
        print("\npostfix check_client_access btree: %s; smtpd restarts on a changed map: %d"
              % (", ".join(outcomes), restarts))


if __name__ == "__main__":
    h.main()
