#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_process_reuse - reused session processes (server.process_reuse, issue 15).

One POP3 or SMTP process pair serves connection after connection. What is checked:
- a second client is served by the same protocol process as the first (the log's pid), and nothing
  of the first client reaches it: not its SMTP transaction, its SMTP AUTH login, its TLS, its
  allow-listed address, its POP3 USER name or login, its failed logins, its session id;
- a protocol child serves server.process_reuse connections and then ends (its monitor forks the
  next: test_pop3_mailbox_reuse); 0 forks a pair per connection;
- a reload retires the idle pairs (they served with the old configuration); one idle for
  server.process_idle_timeout ends; one killed while idle is replaced without the client noticing,
  also when the master meets it dead as it sends it a connection, before it has reaped it;
- a session's slot is given back when it is done (server.max_connections = 1, five clients in turn);
- after a login over TLS (POP3S, STLS) the child relays the session to its end; then the pair
  serves the next client, who is not logged in.

Each next client waits for the master's "done with session=" line of the previous one, so which
process serves it does not depend on how fast the master reads the end of the last.
"""

import os
import poplib
import re
import signal
import smtplib
import socket
import ssl

import popgate_harness as h
import smtp_helpers as sh

OUTSIDE = "friend@elsewhere.net"


def parent_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


class Reuse(h.TestCase):
    def daemon(self, server=None, smtp=None, pop3=None, relay=None, tls=False, listeners=("smtp", "pop3")):
        cfg = sh.base_config(server=server or {}, relay=relay or {},
                             smtp=dict({"plaintext_auth": "always"}, **(smtp or {})),
                             pop3=dict({"plaintext_auth": "always"}, **(pop3 or {})))
        d = h.Popgated(self, config=cfg, tls=tls, listeners=listeners)
        self.mta = sh.Sendmail(d)
        return d

    def served_by(self, d, proto, sid):
        """The pid of the protocol process that logged session SID's connect line."""
        m = d.wait_for_log(r"%s\[(\d+)\]: info: %s session=%s ip=\S+ user=- connect:" % (proto, proto, sid))
        return int(m.group(1))

    def session_of(self, d, proto, ip, start):
        """The id of the next session from IP after log offset START."""
        m = d.wait_for_log(r"%s\[\d+\]: info: %s session=(\w+) ip=%s user=- connect:" % (proto, proto, re.escape(ip)),
                           start=start)
        return m.group(1)

    def done(self, d, sid):
        d.wait_for_log(r"session process \d+ is done with session=%s" % sid, timeout=30)

    def smtp_client(self, d, ip, tls=False):
        mark = len(d.log())
        s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=20, source_address=(ip, 0))
        sid = self.session_of(d, "smtp", ip, mark)
        return s, sid, self.served_by(d, "smtp", sid)

    def test_smtp_nothing_of_one_client_reaches_the_next(self):
        with self.daemon(relay={"allow": "127.0.0.2/32"}, tls=True, listeners=("smtp",)) as d:
            d.add_user("alice", "secret")
            d.start()
            # A: allow-listed, logged in with SMTP AUTH over STARTTLS, a transaction left open, then gone.
            a, sid_a, pid_a = self.smtp_client(d, "127.0.0.2")
            a.ehlo("a.test")
            a.starttls(context=ssl._create_unverified_context())
            a.ehlo("a.test")
            a.login("alice", "secret")
            a.mail("alice@example.org")
            self.assertEqual(a.rcpt(OUTSIDE)[0], 250)
            a.sock.shutdown(socket.SHUT_RDWR)  # no QUIT: the transaction is abandoned mid-way
            a.close()
            self.done(d, sid_a)
            # B: another address, in clear, never logged in.
            b, sid_b, pid_b = self.smtp_client(d, "127.0.0.3")
            self.assertEqual(pid_b, pid_a, "the second client must be served by the reused process")
            self.assertNotEqual(sid_b, sid_a)
            code, text = b.ehlo("b.test")
            self.assertEqual(code, 250)
            self.assertIn(b"STARTTLS", text, "B's session starts in clear, whatever A did")
            self.assertEqual(b.docmd("RCPT TO:<bob@example.org>")[0], 503, "A's MAIL must not carry over")
            b.mail("bob@example.org")
            self.assertEqual(b.rcpt(OUTSIDE)[0], 550, "neither A's login nor A's address may relay for B")
            self.assertEqual(b.rcpt("carol@example.org")[0], 250)
            self.assertEqual(b.data(b"Subject: b\r\n\r\nfrom b\r\n")[0], 250)
            b.quit()
            self.done(d, sid_b)
            msg = self.mta.runs()[-1]["msg"]
            self.assertIn(b"127.0.0.3", msg)
            self.assertNotIn(b"127.0.0.2", msg)
            self.assertNotIn(b"alice", msg.split(b"\r\n\r\n")[0].lower().replace(b"alice@example.org", b""))
            log = d.log()
            self.assertRegex(log, r"smtp session=%s ip=127\.0\.0\.3 .*relay denied" % sid_b)
            for line in log.splitlines():
                if "session=%s" % sid_b in line:
                    self.assertNotIn("ip=127.0.0.2", line)
                    self.assertNotIn("user=alice", line)

    def test_pop3_nothing_of_one_client_reaches_the_next(self):
        with self.daemon(listeners=("pop3",)) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1, body=b"for alice\n")])
            d.add_user("bob", "hunter2", messages=[h.mbox_message(1, body=b"for bob\n"),
                                                   h.mbox_message(2, body=b"bob again\n")])
            d.start()
            port = d.port("pop3")

            def client(ip):
                mark = len(d.log())
                p = h.SourcePOP3("127.0.0.1", port, ip)
                sid = self.session_of(d, "pop3", ip, mark)
                return p, sid, self.served_by(d, "pop3", sid)

            # A names a user and a wrong password, then a user, and leaves.
            a, sid_a, pid_a = client("127.0.0.2")
            with self.assertRaises(poplib.error_proto):
                a.user("alice")
                a.pass_("wrong")
            a.user("alice")
            a.sock.shutdown(socket.SHUT_RDWR)
            a.sock.close()
            a.file.close()
            self.done(d, sid_a)
            # B: PASS alone must not complete A's USER.
            b, sid_b, pid_b = client("127.0.0.3")
            self.assertEqual(pid_b, pid_a)
            with self.assertRaises(poplib.error_proto) as e:
                b.pass_("secret")
            self.assertIn(b"USER first", e.exception.args[0])
            b.quit()
            self.done(d, sid_b)
            # C logs in as alice and quits; D, in the same process, logs in as bob and sees bob's mail.
            c, sid_c, pid_c = client("127.0.0.4")
            self.assertEqual(pid_c, pid_a)
            c.user("alice")
            c.pass_("secret")
            self.assertEqual(c.stat()[0], 1)
            c.quit()
            self.done(d, sid_c)
            e_, sid_d, pid_d = client("127.0.0.5")
            self.assertEqual(pid_d, pid_a)
            with self.assertRaises(poplib.error_proto):
                e_.stat()  # not logged in: C's login is not D's
            e_.user("bob")
            e_.pass_("hunter2")
            self.assertEqual(e_.stat()[0], 2)
            self.assertIn(b"for bob", b"\n".join(e_.retr(1)[1]))
            e_.quit()
            self.done(d, sid_d)
            log = d.log()
            self.assertRegex(log, r"session=%s ip=127\.0\.0\.4 user=alice login ok" % sid_c)
            self.assertRegex(log, r"session=%s ip=127\.0\.0\.5 user=bob login ok" % sid_d)
            # A's failed login counted against A's address only.
            self.assertRegex(log, r"session=%s ip=127\.0\.0\.2 user=alice login failed: delay=\d+s failures=1 "
                                  r"address_failures=1" % sid_a)

    def test_the_protocol_child_holds_no_channel_to_the_master(self):
        """The dispatch sockets: the monitor holds its own, the child none, so it cannot take connections."""
        if h.shutil.which("ss") is None:
            self.skipTest("ss (iproute2) is not installed")
        with self.daemon(listeners=("smtp",)) as d:
            d.start()
            first, sid, child = self.smtp_client(d, "127.0.0.2")
            first.ehlo("a.test")
            first.quit()
            self.done(d, sid)
            busy, sid, child2 = self.smtp_client(d, "127.0.0.3")  # the reused pair, serving again
            self.assertEqual(child2, child)
            monitor = parent_of(child)
            master = d.proc.pid
            peers = h.unix_peers()
            mine = h.socket_inodes(master)
            reach = lambda pid: {peers[i] for i in h.socket_inodes(pid) if i in peers} & mine
            # The monitor reaches the master (its dispatch socket, the report channel, ...): the check sees them.
            self.assertGreaterEqual(len(reach(monitor)), 2, "the monitor's channels to the master")
            self.assertEqual(reach(child), set(), "the protocol child holds a channel to the master")
            busy.quit()

    def sequence(self, d, n):
        """N SMTP clients one after the other, each waiting for the last one's end; their pids."""
        pids = []
        for i in range(n):
            s, sid, pid = self.smtp_client(d, "127.0.0.%d" % (i + 2))
            self.assertEqual(s.ehlo("x.test")[0], 250)
            s.quit()
            self.done_or_exit(d, sid, pid)
            pids.append(pid)
        return pids

    def done_or_exit(self, d, sid, pid):
        """The session's end: the master's "done" line, or (no reuse, or its last) the process's exit."""
        sh.wait_until(lambda: re.search(r"is done with session=%s" % sid, d.log()) or h.gone(pid),
                      30, "session %s over" % sid)

    def test_a_pair_serves_process_reuse_connections_then_ends(self):
        with self.daemon(server={"process_reuse": "2"}, listeners=("smtp",)) as d:
            d.start()
            pids = self.sequence(d, 5)
            self.assertEqual(pids[0], pids[1])
            self.assertEqual(pids[2], pids[3])
            self.assertNotEqual(pids[1], pids[2])
            self.assertNotEqual(pids[3], pids[4])
            sh.wait_until(lambda: h.gone(pids[0]), 30, "the first child ended after 2 connections")
            sh.wait_until(lambda: h.gone(pids[2]), 30, "the second child ended after 2 connections")
            self.assertFalse(h.gone(pids[4]))

    def test_zero_forks_a_pair_per_connection(self):
        with self.daemon(server={"process_reuse": "0"}, listeners=("smtp",)) as d:
            d.start()
            pids = self.sequence(d, 3)
            self.assertEqual(len(set(pids)), 3)
            for pid in pids:
                sh.wait_until(lambda: h.gone(pid), 30, "process %d ended with its connection" % pid)
            self.assertNotIn("is done with session=", d.log())

    def test_slots_are_given_back(self):
        with self.daemon(server={"max_connections": "1"}, listeners=("smtp",)) as d:
            d.start()
            pids = self.sequence(d, 5)
            self.assertEqual(len(set(pids)), 1)
            self.assertNotIn("limit: server.max_connections", d.log())
            self.assertNotIn("evicted", d.log())

    def test_reload_idle_timeout_and_a_killed_idle_pair(self):
        with self.daemon(server={"process_idle_timeout": "1h"}, listeners=("smtp",)) as d:
            d.start()
            first = self.sequence(d, 1)[0]
            mark = len(d.log())
            d.reload()
            d.wait_for_log(r"reloaded ", start=mark)
            sh.wait_until(lambda: h.gone(first), 30, "the idle pair retired at the reload")
            second = self.sequence(d, 1)[0]
            self.assertNotEqual(second, first)
            # Killed while idle (its monitor, the master's child): the next client does not notice.
            monitor = parent_of(second)
            os.kill(monitor, signal.SIGKILL)
            sh.wait_until(lambda: h.gone(monitor) and h.gone(second), 30, "the killed pair reaped")
            third = self.sequence(d, 1)[0]
            self.assertNotIn(third, (first, second))
            # A short idle timeout ends an idle pair: set by a reload.
            d.config["server"]["process_idle_timeout"] = "1s"
            d.write_config()
            mark = len(d.log())
            d.reload()
            d.wait_for_log(r"reloaded ", start=mark)
            fourth = self.sequence(d, 1)[0]
            sh.wait_until(lambda: h.gone(fourth), 30, "the pair idle for process_idle_timeout ended")
            self.assertNotEqual(self.sequence(d, 1)[0], fourth)

    def test_an_idle_pair_found_dead_at_dispatch(self):
        """The master sends a connection to an idle pair that died before it was reaped: the send
        fails, the pair is dropped, and a new pair serves the client (who never notices)."""
        with self.daemon(listeners=("smtp",)) as d:
            d.start()
            dead = self.sequence(d, 1)[0]
            monitor = parent_of(dead)
            master = d.proc.pid
            # Held still, the master cannot reap the pair before the client's connection is read:
            # its loop accepts before it reads SIGCHLD, so the dispatch meets the dead pair.
            os.kill(master, signal.SIGSTOP)
            try:
                os.kill(monitor, signal.SIGKILL)
                sh.wait_until(lambda: h.gone(monitor) and h.gone(dead), 30, "the idle pair dead")
                c = socket.create_connection(("127.0.0.1", d.port("smtp")), 20, source_address=("127.0.0.9", 0))
            finally:
                os.kill(master, signal.SIGCONT)
            f = c.makefile("rb")
            self.assertTrue(f.readline().startswith(b"220 "), "the client is greeted")
            c.sendall(b"QUIT\r\n")
            self.assertTrue(f.readline().startswith(b"221 "))
            f.close()
            c.close()
            sid = self.session_of(d, "smtp", "127.0.0.9", 0)
            self.assertNotEqual(self.served_by(d, "smtp", sid), dead)
            self.assertNotIn("died of signal", d.log())

    def test_pop3s_and_stls_sessions_reuse_the_pair(self):
        """After a login over TLS the child relays the session; when it ends the pair serves again."""
        with self.daemon(tls=True, listeners=("pop3", "pop3s")) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1, body=b"for alice\n")])
            d.add_user("bob", "hunter2", messages=[h.mbox_message(1), h.mbox_message(2)])
            d.start()
            ctx = ssl._create_unverified_context()
            seen = {}
            for i, (proto, user, password, count) in enumerate([("pop3s", "alice", "secret", 1),
                                                                ("pop3s", "bob", "hunter2", 2),
                                                                ("pop3", "alice", "secret", 1),
                                                                ("pop3", "bob", "hunter2", 2)]):
                mark = len(d.log())
                if proto == "pop3s":
                    p = poplib.POP3_SSL("127.0.0.1", d.port("pop3s"), context=ctx, timeout=20)
                else:
                    p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=20)
                    p.stls(context=ctx)
                m = d.wait_for_log(r"pop3\[(\d+)\]: info: %s session=(\w+) ip=127\.0\.0\.1 user=- connect:" % proto,
                                   start=mark)
                pid, sid = int(m.group(1)), m.group(2)
                if i % 2 == 1:
                    with self.assertRaises(poplib.error_proto):
                        p.stat()  # the last client's login is not this one's
                p.user(user)
                p.pass_(password)
                self.assertEqual(p.stat()[0], count)
                p.quit()
                self.done(d, sid)
                seen.setdefault(proto, []).append(pid)
            self.assertEqual(seen["pop3s"][0], seen["pop3s"][1], "the POP3S pair served its next client")
            self.assertEqual(seen["pop3"][0], seen["pop3"][1], "the STLS pair served its next client")


if __name__ == "__main__":
    h.main()
