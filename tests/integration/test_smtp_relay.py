#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_smtp_relay - every path of the relay decision at RCPT, each logged with its reason, and
the seeds' POP-before-SMTP scenario end to end: relaying denied, a POP login from that address,
relaying accepted, and after the (shortened) relay.timeout denied again.

The client is 127.0.0.1, so these configs empty relay.allow (its default allows loopback).
"""

import os
import poplib
import re
import signal
import smtplib
import time

import popgate_harness as h
import smtp_helpers as sh

OUTSIDE = "friend@elsewhere.net"
WORKER_LISTENING = r"popgated/lookup\[(\d+)\]: \w+: relaydb: lookup worker listening"
TEMPFAIL = b"4.3.0 Temporary failure checking relay permission, try again later"
LOOKUP_TIMEOUT_S = 3.0  # RELAY_LOOKUP_TIMEOUT_MS, src/relaydb/lookup.h


def try_rcpt(port, rcpt, login=None, ehlo="client.test"):
    """MAIL and one RCPT in a fresh session; the RCPT reply (code, text)."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    try:
        s.ehlo(ehlo)
        if login:
            s.login(*login)
        s.mail("alice@example.org")
        code, text = s.rcpt(rcpt)
        s.rset()
        return code, text.decode()
    finally:
        s.quit()


def send(port, rcpt, login=None):
    """A whole message to RCPT; the reply to the end of DATA, or the RCPT refusal."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    try:
        s.ehlo("client.test")
        if login:
            s.login(*login)
        s.mail("alice@example.org")
        code, text = s.rcpt(rcpt)
        if code != 250:
            return code, text.decode()
        code, text = s.data(b"Subject: relay test\r\n\r\nhello\r\n")
        return code, text.decode()
    finally:
        s.quit()


class Relay(h.TestCase):
    def daemon(self, relay=None, smtp=None, pop3=None, listeners=("smtp",)):
        cfg = sh.base_config(relay=relay or {}, smtp=dict({"relay_domains": "example.org, backup.example"},
                                                           **(smtp or {})), pop3=pop3 or {})
        d = h.Popgated(self, config=cfg, listeners=listeners)
        self.mta = sh.Sendmail(d)
        return d

    def test_relay_domains_accepted_from_anyone(self):
        with self.daemon() as d:
            d.start()
            p = d.port("smtp")
            self.assertEqual(send(p, "bob@example.org")[0], 250)
            self.assertEqual(try_rcpt(p, "bob@mail.example.org")[0], 250)
            self.assertEqual(try_rcpt(p, "bob@backup.example")[0], 250)
            self.assertEqual(try_rcpt(p, "postmaster")[0], 250)
            self.assertEqual(try_rcpt(p, "bob@example.org.evil.net"), (550, "5.7.1 Relaying denied"))
            self.assertEqual(try_rcpt(p, "bob@notexample.org")[0], 550)
            self.assertEqual(try_rcpt(p, OUTSIDE), (550, "5.7.1 Relaying denied"))
            log = d.log()
            self.assertIn("relay ok: from=<alice@example.org> to=<bob@mail.example.org> reason=relay-domain", log)
            self.assertIn("relay ok: from=<alice@example.org> to=<postmaster> reason=postmaster", log)
            self.assertIn("relay denied: from=<alice@example.org> to=<%s> reason=not-authorized" % OUTSIDE, log)
            msg = self.mta.runs()[0]["msg"]
            self.assertIn(b"(relay=relay-domain)", msg)
            self.assertIn(b"for <bob@example.org>;", msg)

    def test_allow_list(self):
        with self.daemon(relay={"allow": "127.0.0.0/8"}) as d:
            d.start()
            self.assertEqual(send(d.port("smtp"), OUTSIDE)[0], 250)
            self.assertIn("to=<%s> reason=allow-list" % OUTSIDE, d.log())
            self.assertIn(b"(relay=allow-list)", self.mta.runs()[0]["msg"])

    def test_deny_list_wins(self):
        users = {"smtp": {"plaintext_auth": "always"}}
        with self.daemon(relay={"allow": "127.0.0.0/8", "deny": "127.0.0.1"}, smtp=users["smtp"]) as d:
            d.add_user("alice", "secret")
            d.start()
            p = d.port("smtp")
            self.assertEqual(try_rcpt(p, OUTSIDE)[0], 550)
            self.assertEqual(try_rcpt(p, OUTSIDE, login=("alice", "secret"))[0], 550)
            self.assertEqual(try_rcpt(p, "bob@example.org")[0], 550)
            sh.ctl(d, "add", "127.0.0.1", "--ttl", "1h")
            self.assertEqual(try_rcpt(p, OUTSIDE)[0], 550)
            self.assertGreaterEqual(d.log().count("reason=deny-list"), 4)
            self.assertEqual(self.mta.runs(), [])

    def test_address_tricks_never_relay(self):
        tricks = {
            "<friend%elsewhere.net@example.org>": "percent hack",
            "<elsewhere.net!friend@example.org>": "bang path",
            "<@example.org:friend@elsewhere.net>": "source route",
            "<\"friend@elsewhere.net\"@example.org>": "quoted local part holding @",
            "<friend@example.org.>": "trailing dot",
        }
        with self.daemon(relay={"allow": "127.0.0.0/8"}) as d:
            d.start()
            c = sh.Dialog(d.port("smtp"))
            self.addCleanup(c.close)
            c.reply()
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<alice@example.org>")
            for path, why in tricks.items():
                # Even from the allow list, and even for our own domain.
                self.assertEqual(c.cmd("RCPT TO:" + path), (550, ["5.7.1 Relaying denied"]), path)
                self.assertIn("reason=address-trick: " + why, d.log())
            self.assertEqual(c.cmd("DATA")[0], 554)

    def test_smtp_auth_relays(self):
        with self.daemon(smtp={"plaintext_auth": "always"}) as d:
            d.add_user("alice", "secret")
            d.start()
            p = d.port("smtp")
            self.assertEqual(try_rcpt(p, OUTSIDE)[0], 550)
            self.assertEqual(send(p, OUTSIDE, login=("alice", "secret"))[0], 250)
            self.assertIn("user=alice relay ok: from=<alice@example.org> to=<%s> reason=smtp-auth" % OUTSIDE,
                          d.log())
            msg = self.mta.runs()[0]["msg"]
            self.assertIn(b"(relay=smtp-auth user=alice)", msg)
            self.assertIn(b"with ESMTPA id", msg)
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                send(p, OUTSIDE, login=("alice", "wrong"))

    def test_seed_scenario_with_popgatectl(self):
        """Denied; authorized (as a POP login would) for 3s; accepted; expired; denied again."""
        with self.daemon(relay={"timeout": "3s"}) as d:
            d.start()
            p = d.port("smtp")
            self.assertEqual(send(p, OUTSIDE), (550, "5.7.1 Relaying denied"))
            sh.ctl(d, "add", "127.0.0.1", "--user", "alice", "--ttl", "3s")
            t0 = time.time()
            self.assertEqual(send(p, OUTSIDE)[0], 250)
            self.assertIn("to=<%s> reason=authorized" % OUTSIDE, d.log())
            self.assertIn(b"(relay=authorized)", self.mta.runs()[0]["msg"])
            time.sleep(max(0, t0 + 4.5 - time.time()))
            self.assertEqual(send(p, OUTSIDE), (550, "5.7.1 Relaying denied"))
            self.assertIn("to=<%s> reason=expired" % OUTSIDE, d.log())
            self.assertEqual(len(self.mta.runs()), 1)

    def test_seed_scenario_with_pop_login(self):
        """The seeds' story with a real POP3 login from 127.0.0.1 and relay.timeout = 3s."""
        with self.daemon(relay={"timeout": "3s"}, pop3={"plaintext_auth": "always"},
                         listeners=("smtp", "pop3")) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            p = d.port("smtp")
            self.assertEqual(send(p, OUTSIDE), (550, "5.7.1 Relaying denied"))
            pop = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
            pop.user("alice")
            pop.pass_("secret")
            self.assertEqual(pop.stat()[0], 1)
            pop.quit()
            t0 = time.time()
            self.assertEqual(send(p, OUTSIDE)[0], 250)
            self.assertIn("to=<%s> reason=authorized" % OUTSIDE, d.log())
            time.sleep(max(0, t0 + 4.5 - time.time()))
            self.assertEqual(send(p, OUTSIDE), (550, "5.7.1 Relaying denied"))
            self.assertEqual(len(self.mta.runs()), 1)


    def test_a_transaction_asks_the_worker_once(self):
        """The first RCPT that needs the database asks the lookup worker; the transaction's later RCPTs
        take its answer (a stopped worker is not asked), a revocation reaches the next transaction,
        and the next transaction asks again (the stopped worker makes it a 451)."""
        with self.daemon() as d:
            d.start()
            p = d.port("smtp")
            worker = int(d.wait_for_log(r"popgated/lookup\[(\d+)\]: \w+: relaydb: lookup worker listening").group(1))
            sh.ctl(d, "add", "127.0.0.1", "--user", "alice", "--ttl", "1h")
            s = smtplib.SMTP("127.0.0.1", p, timeout=30)
            try:
                s.ehlo("client.test")
                s.mail("alice@example.org")
                self.assertEqual(s.rcpt("one@elsewhere.net")[0], 250)
                sh.ctl(d, "del", "127.0.0.1")
                self.assertEqual(s.rcpt("two@elsewhere.net")[0], 250)  # the revocation waits for the next one
                os.kill(worker, signal.SIGSTOP)
                try:
                    self.assertEqual(s.rcpt("three@elsewhere.net")[0], 250)
                    self.assertEqual(s.data(b"Subject: three recipients\r\n\r\nhello\r\n")[0], 250)
                    s.mail("alice@example.org")
                    self.assertEqual(s.rcpt("four@elsewhere.net")[0], 451)
                finally:
                    os.kill(worker, signal.SIGCONT)
                s.rset()
                s.mail("alice@example.org")
                self.assertEqual(s.rcpt("five@elsewhere.net"), (550, b"5.7.1 Relaying denied"))
            finally:
                s.quit()
            self.assertEqual(len(self.mta.runs()), 1)
            self.assertEqual(d.log().count("relay ok"), 3, d.log())

    def test_mail_asks_the_worker_ahead(self):
        """MAIL asks the lookup worker before its 250, so the first RCPT finds the answer there (a
        worker stopped after it answered is not asked again); an answer that does not authorize is
        asked again at RCPT, so a login recorded between MAIL and RCPT counts."""
        with self.daemon() as d:
            d.start()
            p = d.port("smtp")
            worker = int(d.wait_for_log(r"popgated/lookup\[(\d+)\]: \w+: relaydb: lookup worker listening").group(1))
            answered = r"popgated/lookup\[%d\]: \w+: relaydb: looked up 127\.0\.0\.1: %s"
            sh.ctl(d, "add", "127.0.0.1", "--user", "alice", "--ttl", "1h")
            s = smtplib.SMTP("127.0.0.1", p, timeout=30)
            try:
                s.ehlo("client.test")
                start = len(d.log())
                self.assertEqual(s.mail("alice@example.org")[0], 250)
                d.wait_for_log(answered % (worker, "entry"), start=start)
                os.kill(worker, signal.SIGSTOP)
                try:
                    self.assertEqual(s.rcpt("one@elsewhere.net")[0], 250)
                finally:
                    os.kill(worker, signal.SIGCONT)
                s.rset()
                sh.ctl(d, "del", "127.0.0.1")
                start = len(d.log())
                self.assertEqual(s.mail("alice@example.org")[0], 250)
                d.wait_for_log(answered % (worker, "no entry"), start=start)
                sh.ctl(d, "add", "127.0.0.1", "--user", "alice", "--ttl", "1h")
                self.assertEqual(s.rcpt("two@elsewhere.net")[0], 250)
            finally:
                s.quit()
            self.assertEqual(d.log().count("relay ok"), 2, d.log())

    def test_lookups_through_the_worker_and_without_it(self):
        """RCPT asks the relay-lookup worker; a stopped worker is a temporary failure, never a wrong
        answer: the protocol child (server.login_user) cannot read the database."""
        with self.daemon() as d:
            d.start()
            p = d.port("smtp")
            worker = int(d.wait_for_log(r"popgated/lookup\[(\d+)\]: \w+: relaydb: lookup worker listening").group(1))
            sh.ctl(d, "add", "127.0.0.1", "--ttl", "1h")
            self.assertEqual(try_rcpt(p, OUTSIDE)[0], 250)
            sh.ctl(d, "del", "127.0.0.1")
            self.assertEqual(try_rcpt(p, OUTSIDE), (550, "5.7.1 Relaying denied"))
            self.assertNotIn("did not answer", d.log(), "a healthy worker answers every question")
            # A stopped worker: the session waits for its answer (3 s), then answers 451, as an
            # MTA does when its policy service is down, and says so once.
            os.kill(worker, signal.SIGSTOP)
            try:
                sh.ctl(d, "add", "127.0.0.1", "--ttl", "1h")
                self.assertEqual(try_rcpt(p, OUTSIDE),
                                 (451, "4.3.0 Temporary failure checking relay permission, try again later"))
            finally:
                os.kill(worker, signal.SIGCONT)
            self.assertEqual(d.log().count("did not answer (Connection timed out)"), 1, d.log())
            # A dead worker and its successor: test_a_rcpt_while_the_worker_restarts (one wait for the
            # master's back-off is enough for the suite).

    def test_a_rcpt_while_the_worker_restarts(self):
        """A RCPT while the lookup worker is gone and no successor can come (the master, which would
        start it, is held still): the session retries the worker's socket for its 3 s, then answers
        451 4.3.0 and says so once; the session lives on, and once the master has started the new
        worker the same session's next transaction, and a new session, relay again."""
        with self.daemon() as d:
            d.start()
            p = d.port("smtp")
            master = d.proc.pid
            worker = int(d.wait_for_log(WORKER_LISTENING).group(1))
            sh.ctl(d, "add", "127.0.0.1", "--user", "alice", "--ttl", "1h")  # the database alone authorizes
            # The greeting before the master is held: it has handed this connection to a session.
            s = smtplib.SMTP("127.0.0.1", p, timeout=30)
            try:
                s.ehlo("client.test")
                s.mail("alice@example.org")
                self.assertEqual(s.rcpt("one@elsewhere.net")[0], 250)
                self.assertEqual(s.rset()[0], 250)
                try:
                    h.hold_still([master])
                    os.kill(worker, signal.SIGKILL)
                    sh.wait_until(lambda: h.gone(worker), what="the worker gone")
                    mark = len(d.log())
                    self.assertEqual(s.mail("alice@example.org")[0], 250)
                    t0 = time.monotonic()
                    self.assertEqual(s.rcpt("two@elsewhere.net"), (451, TEMPFAIL))
                    # Not at once: it kept trying the socket for the whole wait (no worker could come).
                    self.assertGreaterEqual(time.monotonic() - t0, LOOKUP_TIMEOUT_S - 0.1)
                    # The rest of the transaction is a 451 without asking (the line below says it once).
                    self.assertEqual(s.rcpt("three@elsewhere.net"), (451, TEMPFAIL))
                    # The session is still usable.
                    self.assertEqual(s.rset()[0], 250)
                    self.assertEqual(s.noop()[0], 250)
                    self.assertIsNone(re.search(WORKER_LISTENING, d.log()[mark:]), "no worker while the master is held")
                finally:
                    os.kill(master, signal.SIGCONT)
                log = d.log()[mark:]
                self.assertEqual(len(re.findall(r"relaydb: the lookup worker did not answer \(Connection refused\); "
                                                r"relaying refused with a temporary failure", log)), 1, log)
                for rcpt in ("two", "three"):
                    self.assertIn("relay denied: from=<alice@example.org> to=<%s@elsewhere.net> reason=database-error"
                                  % rcpt, log)
                # The master reaps the worker and starts another (after its back-off, as it died young).
                d.wait_for_log(r"the relay-lookup worker was killed by signal 9 \(Killed\); restarting it", start=mark)
                new_worker = r"popgated/lookup\[(?!%d\])(\d+)\]: \w+: relaydb: lookup worker listening" % worker
                successor = int(d.wait_for_log(new_worker, start=mark, timeout=30).group(1))
                self.assertNotEqual(successor, worker)
                # The same session's next transaction asks the new worker.
                self.assertEqual(s.mail("alice@example.org")[0], 250)
                self.assertEqual(s.rcpt("four@elsewhere.net")[0], 250)
                self.assertEqual(s.data(b"Subject: after the restart\r\n\r\nhello\r\n")[0], 250)
            finally:
                s.quit()
            self.assertEqual(try_rcpt(p, OUTSIDE)[0], 250)
            self.assertEqual(len(self.mta.runs()), 1)
            self.assertEqual(d.log().count("did not answer"), 1, d.log())
            # The successor answers from the database, a revocation too.
            sh.ctl(d, "del", "127.0.0.1")
            self.assertEqual(try_rcpt(p, OUTSIDE), (550, "5.7.1 Relaying denied"))


if __name__ == "__main__":
    h.main()
