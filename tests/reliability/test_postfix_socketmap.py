# SPDX-License-Identifier: GPL-2.0-or-later
"""test_postfix_socketmap - a real, private Postfix decides relaying from popgate's authorizations.

1. Postfix asks popgate's socketmap itself (`check_client_access socketmap:inet:127.0.0.1:PORT:relay`,
   the main.cf lines of docs/MTA.md): a client at 127.0.0.6 is refused by Postfix before its POP
   login and relayed right after it, over one persistent socketmap connection, while Postfix also
   asks its host name and parent networks (NOTFOUND, never an error).
2. popgate's own SMTP listener in front of that Postfix (smtp.forward = smtp:127.0.0.1:PORT) passes
   the client on with XFORWARD (Postfix: smtpd_authorized_xforward_hosts = 127.0.0.0/8). XFORWARD
   changes what Postfix logs and writes in Received:, not whom its access rules judge (that is
   XCLIENT): popgate decides relaying for its own clients and Postfix trusts popgate's 127.0.0.1
   (mynetworks). So popgate refuses 127.0.0.7 before its POP login and relays right after, and
   Postfix logs the message as orig_client=unknown[127.0.0.7] with popgate's queue id, and keeps
   127.0.0.7 and the client's HELO name as the queued message's logging attributes, instead of
   only localhost[127.0.0.1] and popgate's name.

Needs root (a private Postfix); skipped otherwise.
"""

import os
import re
import smtplib
import subprocess
import sys

from postfix_instance import PrivatePostfix

import popgate_harness as h
import smtp_helpers as sh

if not h.IS_ROOT:
    print("SKIP: needs root for a private Postfix")
    sys.exit(h.SKIP)
h.need("postfix", "postcat")


SourcePOP3 = h.SourcePOP3
pop_login = h.pop_login


def message(msgid, helo):
    return ("From: <alice@example.org>\r\nTo: <bob@example.net>\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n"
            "\r\nsent by %s\r\n" % (msgid, msgid, helo)).encode()


def send(port, source, helo, msgid):
    """One message to bob@example.net through 127.0.0.1:PORT from SOURCE; (stage, code, text) of the
    first refusal, or ("sent", 250, "") ."""
    s = smtplib.SMTP("127.0.0.1", port, local_hostname=helo, timeout=60, source_address=(source, 0))
    try:
        s.ehlo(helo)
        code, text = s.mail("alice@example.org")
        if code != 250:
            return "MAIL", code, text.decode()
        code, text = s.rcpt("bob@example.net")
        if code not in (250, 251):
            return "RCPT", code, text.decode()
        code, text = s.data(message(msgid, helo))
        if code != 250:
            return "DATA", code, text.decode()
        return "sent", code, text.decode()
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def wait_for(pred, what, timeout=30):
    return sh.wait_until(pred, timeout=timeout, what=what)


class PostfixSocketmap(h.TestCase):
    def setUp(self):
        self.d = h.Popgated(self, config={"relay": {"timeout": "10m", "allow": ""}}, listeners=("pop3", "smtp"))
        self.d.add_user("alice", "secret")
        self.map_port = h.free_port()
        # The lines docs/MTA.md gives, with this test's port; relaying needs popgate's word alone
        # (no permit_mynetworks), and what Postfix accepts is held in its queue for us to read.
        self.pf = PrivatePostfix(self.d.dir, spool=os.path.join(self.d.dir, "spool"), extra={
            "mynetworks": "127.0.0.1/32",
            "smtpd_relay_restrictions": "permit_mynetworks, "
                "check_client_access socketmap:inet:127.0.0.1:%d:relay, reject_unauth_destination" % self.map_port,
            "smtpd_recipient_restrictions": "check_recipient_access static:HOLD",
            "smtpd_authorized_xforward_hosts": "127.0.0.0/8",
            # error: would make smtpd refuse the recipient itself; nothing leaves the hold queue anyway.
            "default_transport": "discard:tests send nothing out",
            "relay_transport": "discard:tests send nothing out",
        })
        os.makedirs(self.pf.spool, exist_ok=True)
        self.d.config["relay"]["socketmap_listen"] = "127.0.0.1:%d" % self.map_port
        self.d.config["smtp"].update({"forward": "smtp:127.0.0.1:%d" % self.pf.port, "forward_tls": "no"})
        self.d.__enter__()
        self.pf.start()
        self.d.start()

    def tearDown(self):
        if os.environ.get("POPGATE_KEEP"):
            sys.stderr.write("postfix log:\n%s\n" % self.pf.log())
        self.pf.stop()
        self.d.__exit__(None, None, None)

    def held(self, msgid):
        """The queue file of the held message MSGID as postcat prints it, or None."""
        for root, _, files in os.walk(os.path.join(self.pf.queue, "hold")):
            for f in files:
                out = subprocess.run(["postcat", "-c", self.pf.etc, "-q", f], capture_output=True, text=True).stdout
                if "<%s@test>" % msgid in out:
                    return out
        return None

    def test_postfix_asks_the_socketmap(self):
        client = "127.0.0.6"
        stage, code, text = send(self.pf.port, client, "client6.example", "direct-before")
        self.assertEqual((stage, code), ("RCPT", 554), text)
        self.assertIn("Relay access denied", text)
        pop_login(self.d, client)
        self.assertEqual(send(self.pf.port, client, "client6.example", "direct-after")[:2], ("sent", 250))
        held = wait_for(lambda: self.held("direct-after"), "the relayed message in Postfix's hold queue")
        self.assertRegex(held, r"Received: from client6\.example \(\S+ \[127\.0\.0\.6\]\)")
        # Postfix writes its log through postlogd, after the fact: wait for the line, not read once.
        reject = r"reject: RCPT from \S+\[127\.0\.0\.6\]: 554 5\.7\.1 <bob@example\.net>: Relay access denied"
        wait_for(lambda: re.search(reject, self.pf.log()), "Postfix's log of the refused RCPT")
        log = self.pf.log()
        self.assertNotRegex(log, r"(?i)socketmap.*(error|fail|malformed)|table lookup problem|"
                                 r"Server configuration error")
        print("\nPostfix via socketmap: before the POP login 554 (%s), after it 250" % text)

    def test_xforward_names_the_real_client(self):
        client, helo = "127.0.0.7", "client7.example"
        stage, code, text = send(self.d.port("smtp"), client, helo, "xf-before")
        self.assertEqual((stage, code), ("RCPT", 550), text)  # popgate's own refusal
        pop_login(self.d, client)
        stage, code, text = send(self.d.port("smtp"), client, helo, "xf-after")
        self.assertEqual((stage, code), ("sent", 250), text)
        held = wait_for(lambda: self.held("xf-after"), "the relayed message in Postfix's hold queue")
        # Postfix keeps the forwarded client as the message's logging attributes (what its later
        # log lines and bounces name); its Received: line is the connection's, below popgate's own.
        self.assertIn("named_attribute: log_client_address=127.0.0.7\n", held)
        self.assertIn("named_attribute: log_helo_name=%s\n" % helo, held)
        self.assertIn("named_attribute: log_protocol_name=ESMTP\n", held)
        self.assertRegex(held, r"Received: from %s \(\[127\.0\.0\.7\]\)\n\t\(relay=authorized\)\n\tby popgate"
                         % re.escape(helo))
        client_line = (r"(\w+): client=localhost\[127\.0\.0\.1\], orig_queue_id=(\w+), "
                       r"orig_client=unknown\[127\.0\.0\.7\]")
        m = wait_for(lambda: re.search(client_line, self.pf.log()), "Postfix's log of the forwarded client")
        wait_for(lambda: re.search(r"%s: message-id=<xf-after@test>" % m.group(1), self.pf.log()),
                 "Postfix's log of the message's id")
        log = self.pf.log()
        self.assertNotRegex(log, r"RCPT from \S+\[127\.0\.0\.7\]")  # popgate refused it, not Postfix
        self.assertIn("id=%s " % m.group(2), self.d.log())  # popgate's queue id, as IDENT
        print("\nXFORWARD: popgate refused 127.0.0.7 before its POP login and relayed after; Postfix "
              "logged %s" % m.group(0))


if __name__ == "__main__":
    h.main()
