#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_pop3_passed_sessions - a logged-in POP3 session goes on without its pair (issue 15).

In a reused pair, once a plain POP3 client is its mailbox process's, the monitor tells the master
it is free and takes the next connection; the session's end reaches the master later, from the
monitor's watch. What is checked, against the real popgated with poplib and its admin /metrics:
- two idle logged-in sessions are served by one monitor and one protocol child: the second came
  to the pair while the first idled; only the mailbox processes are per session;
- the master counts each session passed on until its end (popgate_sessions_active), and
  server.max_connections_per_ip counts them;
- make_room, pushing out a session not logged in on a pair that has passed another on, kills
  only that session: the one passed on is served to its QUIT and its update, then the pair ends;
  a pair whose protocol child dies under a client gives back that client's slot at once, while it
  serves the session it passed on to its end;
- a session passed on that ends while the pair waits for another client's PASS is told to the
  master then, and that client's login lines keep its own session id;
- a monitor that has passed 63 sessions on serves the 64th attached, and the next client gets
  another pair;
- a monitor killed takes its sessions passed on with it, and the master counts them ended;
- on SIGTERM the master waits for a session passed on, and exits as soon as it ends;
- a mailbox process holds no end of the monitor's channels to its other mailbox processes.
Each step waits for the master's own log line of what it names, never for time.
"""

import http.client
import os
import re
import signal
import socket

import popgate_harness as h
import smtp_helpers as sh


class PassedSessions(h.TestCase):
    def daemon(self, **server):
        server.setdefault("process_idle_timeout", "1h")
        cfg = sh.base_config(server=server, pop3={"plaintext_auth": "always", "mailbox_process_idle": "1h"})
        d = h.Popgated(self, config=cfg, listeners=("pop3", "admin"))
        d.add_user("alice", "secret", messages=[h.mbox_message(i, body=b"alice %d\n" % i) for i in (1, 2)])
        d.add_user("bob", "hunter2", messages=[h.mbox_message(1, body=b"for bob\n")])
        return d

    def login(self, d, ip, user="alice", password="secret"):
        """A client logged in from IP and passed on: (client, session id, monitor, protocol child, mailbox process)."""
        mark = len(d.log())
        p = h.SourcePOP3("127.0.0.1", d.port("pop3"), ip)
        p.user(user)
        p.pass_(password)
        m = d.wait_for_log(r"pop3\[(\d+)\]: info: pop3 session=(\w+) ip=%s user=%s login ok" % (re.escape(ip), user),
                           start=mark)
        monitor, sid = int(m.group(1)), m.group(2)
        child = int(d.wait_for_log(r"pop3\[(\d+)\]: info: pop3 session=%s ip=\S+ user=- connect:" % sid,
                                   start=mark).group(1))
        mbx = int(d.wait_for_log(r"session process %d passed session=%s to process (\d+)" % (monitor, sid),
                                 start=mark).group(1))
        return p, sid, monitor, child, mbx

    def stranger(self, d, ip):
        """A client from IP that has its greeting and says nothing: (socket, its reader, the protocol child's pid)."""
        mark = len(d.log())
        s = socket.create_connection(("127.0.0.1", d.port("pop3")), timeout=20, source_address=(ip, 0))
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        pid = d.wait_for_log(r"pop3\[(\d+)\]: info: pop3 session=\w+ ip=%s user=- connect:" % re.escape(ip),
                             start=mark).group(1)
        return s, f, int(pid)

    def over(self, d, sid, mbx):
        d.wait_for_log(r"session process \d+ is done with session=%s \(served on by process %d\)" % (sid, mbx),
                       timeout=30)

    def active(self, d):
        conn = http.client.HTTPConnection("127.0.0.1", d.port("admin"), timeout=10)
        conn.request("GET", "/metrics")
        body = conn.getresponse().read().decode()
        conn.close()
        return int(re.search(r'^popgate_sessions_active\{service="all"\} (\d+)$', body, re.M).group(1))

    def wait_active(self, d, n):
        sh.wait_until(lambda: self.active(d) == n, 30, "%d sessions active" % n)

    def test_an_idle_session_holds_only_its_mailbox_process(self):
        with self.daemon() as d:
            d.start()
            a, sid_a, monitor, child, mbx_a = self.login(d, "127.0.0.2")
            b, sid_b, monitor_b, child_b, mbx_b = self.login(d, "127.0.0.3", "bob", "hunter2")
            self.assertEqual((monitor_b, child_b), (monitor, child), "the pair did not serve the next client")
            self.assertNotEqual(mbx_b, mbx_a)
            self.assertEqual(sorted(h.descendants(monitor)), sorted([monitor, child, mbx_a, mbx_b]))
            self.wait_active(d, 2)
            self.assertEqual(a.stat()[0], 2)
            self.assertEqual(b.stat()[0], 1)
            a.quit()
            self.over(d, sid_a, mbx_a)
            self.wait_active(d, 1)
            self.assertIn(b"for bob", b"\n".join(b.retr(1)[1]))
            b.quit()
            self.over(d, sid_b, mbx_b)
            self.wait_active(d, 0)
            self.assertRegex(d.log(), r"session=%s ip=127\.0\.0\.2 user=alice quit: retr=0 dele=0 left=2 update=ok"
                             % sid_a)

    def test_the_per_address_limit_counts_sessions_passed_on(self):
        with self.daemon(max_connections_per_ip="2") as d:
            d.start()
            a, sid_a, _, _, mbx_a = self.login(d, "127.0.0.2")
            b, _, _, _, _ = self.login(d, "127.0.0.2", "bob", "hunter2")
            s = socket.create_connection(("127.0.0.1", d.port("pop3")), timeout=20, source_address=("127.0.0.2", 0))
            self.assertEqual(s.makefile("rb").readline(), b"-ERR [SYS/TEMP] Too many connections, try again later\r\n")
            s.close()
            a.quit()
            self.over(d, sid_a, mbx_a)
            c, _, _, _, _ = self.login(d, "127.0.0.2")
            self.assertEqual(c.stat()[0], 2)
            c.quit()
            b.quit()

    def test_make_room_spares_a_session_passed_on(self):
        # process_reuse 1: the pair forks a new protocol child after every connection, so the
        # stranger's is one the monitor names after alice's connection was over.
        for reuse in ("100", "1"):
            with self.subTest(process_reuse=reuse):
                self.make_room_spares(reuse)

    def make_room_spares(self, reuse):
        with self.daemon(max_connections="2", process_reuse=reuse) as d:
            d.start()
            a, sid_a, monitor, child, mbx_a = self.login(d, "127.0.0.2")
            # A stranger who never logs in, on the pair that passed alice's session on.
            mark = len(d.log())
            s, f, stranger = self.stranger(d, "127.0.0.3")
            self.assertIn(stranger, h.descendants(monitor), "the stranger is not on alice's pair")
            # The third client needs room: the stranger goes, alice's session stays.
            n = h.SourcePOP3("127.0.0.1", d.port("pop3"), "127.0.0.4")
            d.wait_for_log(r"ip=127\.0\.0\.3 user=- evicted: server.max_connections reached", start=mark)
            self.assertEqual(f.read(), b"", "the stranger was not pushed out")
            s.close()
            self.assertEqual(a.stat()[0], 2, "the session passed on died with the stranger")
            a.dele(1)
            a.quit()
            self.over(d, sid_a, mbx_a)
            self.assertRegex(d.log(), r"session=%s ip=127\.0\.0\.2 user=alice quit: retr=0 dele=1 left=1 update=ok"
                             % sid_a)
            sh.wait_until(lambda: h.gone(monitor), 30, "the pair whose child was killed ended after its last session")
            n.user("bob")
            n.pass_("hunter2")
            self.assertEqual(n.stat()[0], 1)
            n.quit()

    def test_a_pair_whose_child_dies_gives_back_that_slot_at_once(self):
        with self.daemon() as d:
            d.start()
            a, sid_a, monitor, child, mbx_a = self.login(d, "127.0.0.2")
            s, f, on = self.stranger(d, "127.0.0.3")
            self.assertEqual(on, child)
            self.wait_active(d, 2)
            # The child dies with a client on it: the monitor serves alice's session to its end,
            # but the dead one's slot must not wait for that.
            os.kill(child, signal.SIGKILL)
            self.assertEqual(f.read(), b"")
            s.close()
            self.wait_active(d, 1)
            self.assertFalse(h.gone(monitor), "the monitor ended before the session it passed on")
            self.assertEqual(a.stat()[0], 2)
            a.quit()
            self.over(d, sid_a, mbx_a)
            self.wait_active(d, 0)
            sh.wait_until(lambda: h.gone(monitor), 30, "the pair ended after its last session")

    def test_a_session_ending_while_the_pair_serves_a_login_is_heard_then(self):
        with self.daemon() as d:
            d.start()
            a, sid_a, monitor, child, mbx_a = self.login(d, "127.0.0.2")
            # bob's client is half way through its login on the same pair: the monitor waits for
            # its child's PASS when alice's session ends, and must tell the master at once.
            mark = len(d.log())
            b = h.SourcePOP3("127.0.0.1", d.port("pop3"), "127.0.0.3")
            b.user("bob")
            sid_b = d.wait_for_log(r"pop3\[%d\]: info: pop3 session=(\w+) ip=127\.0\.0\.3 user=- connect:" % child,
                                   start=mark).group(1)
            a.quit()
            self.over(d, sid_a, mbx_a)
            self.wait_active(d, 1)
            b.pass_("hunter2")
            # The lines of bob's login carry bob's session id, not the one heard ending meanwhile.
            d.wait_for_log(r"pop3\[%d\]: info: pop3 session=%s ip=127\.0\.0\.3 user=bob login ok" % (monitor, sid_b),
                           start=mark)
            self.assertEqual(b.stat()[0], 1)
            b.quit()

    def test_a_monitor_past_63_sessions_passed_on_serves_the_next_attached(self):
        # Tests run as one uid: every login fits every kept process, so nothing but the cap forks.
        with self.daemon(max_connections="100") as d:
            users = ["user%d" % i for i in range(64)]
            for u in users:
                d.add_user(u, "pw-" + u, messages=[h.mbox_message(1)])
            d.start()
            held = [self.login(d, "127.0.1.%d" % (i + 1), users[i], "pw-" + users[i])[0:3] for i in range(63)]
            monitor = held[0][2]
            self.assertEqual({m for _, _, m in held}, {monitor}, "one pair served the 63 logins")
            self.wait_active(d, 63)
            # The 64th is this monitor's last mailbox process's: served attached, the pair busy.
            mark = len(d.log())
            p = h.SourcePOP3("127.0.0.1", d.port("pop3"), "127.0.2.1")
            p.user("bob")
            p.pass_("hunter2")
            m = d.wait_for_log(r"pop3\[(\d+)\]: info: pop3 session=(\w+) ip=127\.0\.2\.1 user=bob login ok",
                               start=mark)
            self.assertEqual(int(m.group(1)), monitor)
            self.assertEqual(p.stat()[0], 1)
            # So the next client gets another pair, while this one waits for bob's end.
            q, _, other, _, _ = self.login(d, "127.0.2.2", users[63], "pw-" + users[63])
            self.assertNotEqual(other, monitor)
            self.wait_active(d, 65)
            p.quit()
            # The monitor's own end of the connection, not one heard from a process it passed it to.
            d.wait_for_log(r"(?m)session process %d is done with session=%s$" % (monitor, m.group(2)), start=mark)
            self.assertNotRegex(d.log(), r"passed session=%s " % m.group(2))
            for c in [c for c, _, _ in held] + [q]:
                c.quit()
            self.wait_active(d, 0)

    def test_a_killed_monitor_takes_its_sessions_passed_on(self):
        with self.daemon() as d:
            d.start()
            a, _, monitor, _, mbx_a = self.login(d, "127.0.0.2")
            b, _, _, _, mbx_b = self.login(d, "127.0.0.3", "bob", "hunter2")
            self.wait_active(d, 2)
            os.kill(monitor, signal.SIGKILL)
            for pid in (mbx_a, mbx_b):
                sh.wait_until(lambda: h.gone(pid), 30, "a mailbox process outlived its monitor")
            self.wait_active(d, 0)
            c, _, monitor_c, _, _ = self.login(d, "127.0.0.4")
            self.assertNotEqual(monitor_c, monitor)
            self.assertEqual(c.stat()[0], 2, "a session without QUIT changed the mailbox")
            c.quit()
            for p in (a, b):
                p.close()

    def test_shutdown_waits_for_a_session_passed_on(self):
        with self.daemon(shutdown_timeout="5m") as d:
            d.start()
            a, sid_a, monitor, _, mbx_a = self.login(d, "127.0.0.2")
            d.proc.send_signal(signal.SIGTERM)
            d.wait_for_log(r"shutting down: 1 sessions may run")
            self.assertEqual(a.stat()[0], 2, "the session passed on was cut at SIGTERM")
            a.quit()
            self.assertEqual(d.proc.wait(60), 0, "the master did not exit when the last session ended")
            self.assertRegex(d.log(), r"session=%s ip=127\.0\.0\.2 user=alice quit:" % sid_a)
            for pid in (monitor, mbx_a):
                sh.wait_until(lambda: h.gone(pid), 30, "a process outlived the master")

    def test_a_mailbox_process_holds_no_channel_of_another(self):
        with self.daemon() as d:
            d.start()
            a, _, monitor, child, mbx_a = self.login(d, "127.0.0.2")
            b, _, _, _, mbx_b = self.login(d, "127.0.0.3", "bob", "hunter2")
            peers = h.unix_peers()
            own = {name: h.socket_inodes(pid) for name, pid in
                   (("monitor", monitor), ("child", child), ("a", mbx_a), ("b", mbx_b))}
            # b was forked while the monitor held its channel to a: what b talks to, besides its
            # client, is its own channel to the monitor. (a, forked first, could hold none of b's.)
            self.assertEqual(own["b"] & own["monitor"], set(), "b holds an end the monitor holds")
            self.assertEqual(own["b"] & own["a"], set(), "b shares a socket with a")
            self.assertEqual({peers[i] for i in own["b"] if i in peers} & (own["a"] | own["child"]), set(),
                             "b reaches a or the protocol child")
            a.quit()
            b.quit()


if __name__ == "__main__":
    h.main()
