#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_pop3_mailbox_reuse - a reused pair keeps its mailbox process for the next login (issue 15).

What is checked, against the real popgated with poplib:
- the next login with the same uid, gid and groups is served by the same mailbox process (the
  log's pid), and nothing of one session reaches the next: not its deletions (a session dropped
  without QUIT applies none), its counters (the quit line's retr and dele), its user's mailbox,
  its client address or session id; pipelined input after PASS still reaches the kept process;
- the mailbox process, idle or serving, shares no socket with the protocol child (whose channel
  carries later clients' passwords) nor with the master;
- an idle mailbox process ends after pop3.mailbox_process_idle, and the pair stays;
- as root: a login with another uid is served by a new process as that uid, beside the kept one,
  which ends after its idle time (killed when it does not exit, here stopped) while the other
  session goes on;
- a user's index directory removed between two logins served by the same kept process is made
  again, and the second session's index lands in it;
- server.process_reuse = 0 or pop3.mailbox_process_idle = 0: a mailbox process per session, ended with it;
- after server.process_reuse connections the protocol child ends and the monitor forks a fresh one,
  keeping its mailbox process, which shares no socket with the new child either, and neither holds
  the monitor's reply pair to the auth worker; after ten children
  (SESSION_MONITOR_CHILDREN) the master retires the pair.
Each next client waits for the master's "done with session=" line of the previous one, so which
pair serves it does not depend on timing.
"""

import os
import re
import shutil
import signal
import socket
import stat

import popgate_harness as h
import smtp_helpers as sh


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))


class MailboxReuse(h.TestCase):
    def daemon(self, idle="1h", **server):
        """Mailbox processes kept for IDLE (pop3.mailbox_process_idle): which process serves does not hang on timing."""
        cfg = sh.base_config(server=server, pop3={"plaintext_auth": "always", "mailbox_process_idle": idle})
        d = h.Popgated(self, config=cfg, listeners=("pop3",))
        d.add_user("alice", "secret", messages=[h.mbox_message(i, body=b"alice %d\n" % i) for i in (1, 2, 3)])
        d.add_user("bob", "hunter2", messages=[h.mbox_message(1, body=b"for bob\n")])
        return d

    def login(self, d, ip, user, password):
        """A logged-in client from IP: (poplib client, session id, mailbox process pid, monitor pid)."""
        mark = len(d.log())
        p = h.SourcePOP3("127.0.0.1", d.port("pop3"), ip)
        p.user(user)
        p.pass_(password)
        m = d.wait_for_log(r"pop3\[(\d+)\]: info: pop3 session=(\w+) ip=%s user=%s login ok" % (re.escape(ip), user),
                           start=mark)
        monitor, sid = int(m.group(1)), m.group(2)
        m = d.wait_for_log(r"pop3\[(\d+)\]: info: pop3 session=%s ip=%s user=%s mailbox open"
                           % (sid, re.escape(ip), user), start=mark)
        return p, sid, int(m.group(1)), monitor

    def done(self, d, sid):
        d.wait_for_log(r"session process \d+ is done with session=%s" % sid, timeout=30)

    def protocol_child(self, d, sid):
        return int(d.wait_for_log(r"pop3\[(\d+)\]: info: pop3 session=%s ip=\S+ user=- connect:" % sid).group(1))

    def test_the_next_login_reuses_the_mailbox_process_and_nothing_carries_over(self):
        with self.daemon() as d:
            d.start()
            # 1: alice reads one message, marks another deleted, and vanishes without QUIT.
            a, sid_a, mbx, monitor = self.login(d, "127.0.0.2", "alice", "secret")
            self.assertEqual(a.stat()[0], 3)
            a.retr(1)
            a.dele(2)
            a.sock.shutdown(socket.SHUT_RDWR)
            a.sock.close()
            a.file.close()
            self.done(d, sid_a)
            self.assertFalse(h.gone(mbx), "the mailbox process ended with its session")
            if h.IS_ROOT:
                self.assertEqual(uid_of(mbx), d.uid, "the kept mailbox process runs as the owner")
            # 2: alice again, from elsewhere: the same process, none of the deletion or counters.
            b, sid_b, mbx_b, monitor_b = self.login(d, "127.0.0.3", "alice", "secret")
            self.assertEqual((mbx_b, monitor_b), (mbx, monitor), "the next login reuses the mailbox process")
            self.assertEqual(b.stat()[0], 3, "a deletion without QUIT came back")
            self.assertEqual(len(b.list()[1]), 3)
            b.quit()
            self.done(d, sid_b)
            # 3: bob (the same uid here) in the same process sees his own mailbox only.
            c, sid_c, mbx_c, _ = self.login(d, "127.0.0.4", "bob", "hunter2")
            self.assertEqual(mbx_c, mbx)
            self.assertEqual(c.stat()[0], 1)
            self.assertIn(b"for bob", b"\n".join(c.retr(1)[1]))
            c.quit()
            self.done(d, sid_c)
            # 4: commands pipelined after PASS reach the kept process with the client.
            mark = len(d.log())
            s = socket.create_connection(("127.0.0.1", d.port("pop3")), timeout=20, source_address=("127.0.0.5", 0))
            f = s.makefile("rb")
            self.assertTrue(f.readline().startswith(b"+OK"))
            s.sendall(b"USER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n")
            replies = [f.readline() for _ in range(4)]
            self.assertTrue(all(r.startswith(b"+OK") for r in replies), replies)
            self.assertTrue(replies[2].startswith(b"+OK 3 "), replies)
            self.assertEqual(f.read(), b"", "the connection closes after QUIT")
            s.close()
            m = d.wait_for_log(r"pop3\[(\d+)\]: info: pop3 session=(\w+) ip=127\.0\.0\.5 user=alice quit:", start=mark)
            self.assertEqual(int(m.group(1)), mbx)
            self.done(d, m.group(2))
            log = d.log()
            # Each session's lines carry its own id, address and counters.
            self.assertRegex(log, r"session=%s ip=127\.0\.0\.3 user=alice quit: retr=0 dele=0 left=3 update=ok" % sid_b)
            self.assertRegex(log, r"session=%s ip=127\.0\.0\.4 user=bob quit: retr=1 dele=0 left=1 update=ok" % sid_c)
            self.assertNotRegex(log, r"session=%s ip=127\.0\.0\.2 user=alice quit:" % sid_a)

    def test_the_mailbox_process_shares_no_socket_with_the_protocol_child_or_master(self):
        if h.shutil.which("ss") is None:
            self.skipTest("ss (iproute2) is not installed")
        with self.daemon() as d:
            d.start()
            a, sid, mbx, monitor = self.login(d, "127.0.0.2", "alice", "secret")
            child = self.protocol_child(d, sid)
            master = d.proc.pid

            def reach(pid, other):
                peers = h.unix_peers()
                return {peers[i] for i in h.socket_inodes(pid) if i in peers} & h.socket_inodes(other)

            # The protocol child's channel carries every later client's password check.
            self.assertEqual(reach(mbx, child), set(), "the serving mailbox process holds the protocol child's channel")
            self.assertEqual(reach(mbx, master), set(), "the mailbox process holds a channel to the master")
            self.assertTrue(reach(mbx, monitor), "the mailbox process's channel to its monitor")
            a.quit()
            self.done(d, sid)
            if not h.gone(mbx):  # kept: idle, it still holds nothing of theirs
                self.assertEqual(reach(mbx, child), set(), "the idle mailbox process holds the protocol child's channel")
                self.assertEqual(reach(mbx, master), set())

    def quick_session(self, d, ip):
        """One login, STAT and QUIT from IP: (session id, protocol child, monitor, mailbox process)."""
        p, sid, mbx, monitor = self.login(d, ip, "alice", "secret")
        child = self.protocol_child(d, sid)
        self.assertEqual(p.stat()[0], 3)
        p.quit()
        self.done(d, sid)
        return sid, child, monitor, mbx

    def test_a_fresh_protocol_child_keeps_the_monitor_and_mailbox_process(self):
        with self.daemon(process_reuse="2") as d:
            d.start()
            seen = [self.quick_session(d, "127.0.0.%d" % (i + 2)) for i in range(3)]
            (_, c1, m1, x1), (_, c2, m2, x2), (_, c3, m3, x3) = seen
            self.assertEqual(c1, c2, "a child serves server.process_reuse connections")
            self.assertNotEqual(c3, c2, "the third connection has a fresh protocol child")
            self.assertTrue(h.gone(c1), "the child that served its two connections ended")
            self.assertEqual((m3, x3), (m1, x1), "the monitor and its mailbox process stay for the new child")
            peers = h.unix_peers()
            shared = {peers[i] for i in h.socket_inodes(x3) if i in peers} & h.socket_inodes(c3)
            self.assertEqual(shared, set(), "the new child holds the mailbox process's channel")
            # The monitor keeps its reply pair to the auth worker (both ends its own between
            # checks): neither the new child nor the mailbox process may hold an end of it, or
            # it could read the monitor's answers, or forge one.
            own = h.socket_inodes(m3)
            pair = {i for i in own if peers.get(i) in own}
            self.assertTrue(pair, "the monitor keeps no reply pair")
            self.assertEqual(pair & h.socket_inodes(c3), set(), "the new child holds the monitor's reply pair")
            self.assertEqual(pair & h.socket_inodes(x3), set(), "the mailbox process holds the monitor's reply pair")
            # Ten children of two connections each: then the master retires the pair.
            for i in range(3, 20):
                seen.append(self.quick_session(d, "127.0.1.%d" % (i + 2)))
            self.assertEqual({s[2] for s in seen}, {m1}, "one monitor for its ten children")
            self.assertEqual(len({s[1] for s in seen}), 10)
            sh.wait_until(lambda: h.gone(m1), 30, "the monitor ended after ten children")
            _, _, m21, _ = self.quick_session(d, "127.0.2.2")
            self.assertNotEqual(m21, m1)

    def test_an_index_directory_removed_between_logins_is_made_again(self):
        with self.daemon() as d:
            d.start()
            index = os.path.join(d.dir, "state", "index", str(d.uid))
            _, _, monitor, mbx = self.quick_session(d, "127.0.0.2")
            self.assertTrue(os.listdir(index), "the first session left no index")
            shutil.rmtree(index)
            # The kept process, whose uid had the directory, serves the next login: the monitor
            # must see it gone and make it again, and the session must keep its index there.
            _, _, monitor_b, mbx_b = self.quick_session(d, "127.0.0.3")
            self.assertEqual((monitor_b, mbx_b), (monitor, mbx), "not the kept mailbox process")
            st = os.lstat(index)
            self.assertEqual((stat.S_ISDIR(st.st_mode), st.st_uid, st.st_mode & 0o777), (True, d.uid, 0o700))
            self.assertTrue(os.listdir(index), "the second session left no index")
            self.assertNotIn("index directory", d.log(), "the monitor failed to make it again")

    def test_an_idle_mailbox_process_ends(self):
        with self.daemon(idle="1s", process_idle_timeout="1h") as d:
            d.start()
            a, sid, mbx, monitor = self.login(d, "127.0.0.2", "alice", "secret")
            a.quit()
            self.done(d, sid)
            sh.wait_until(lambda: h.gone(mbx), 60, "the idle mailbox process ended")
            self.assertFalse(h.gone(monitor), "the pair itself stays for its next connection")
            # The pair serves the next login with a new mailbox process.
            b, sid_b, mbx_b, monitor_b = self.login(d, "127.0.0.3", "alice", "secret")
            self.assertEqual(monitor_b, monitor)
            self.assertNotEqual(mbx_b, mbx)
            self.assertEqual(b.stat()[0], 3)
            b.quit()

    def test_a_login_with_another_uid_gets_a_process_of_its_own(self):
        if not h.IS_ROOT:
            self.skipTest("needs root to serve two uids")
        with self.daemon(idle="1s", process_idle_timeout="1h") as d:
            other = h.pwd.getpwnam("daemon")
            path = os.path.join(d.dir, "mail", "carol")
            with open(path, "wb") as f:
                f.write(h.mbox_message(1, body=b"for carol\n"))
            os.chown(path, other.pw_uid, other.pw_gid)
            os.chmod(path, 0o600)
            d.users.append(("carol", h.crypt_hash("tiger"), "mbox:%s:%d:%d" % (path, other.pw_uid, other.pw_gid)))
            d._write_passwd()
            d.start()
            a, sid, mbx, monitor = self.login(d, "127.0.0.2", "alice", "secret")
            a.quit()
            self.done(d, sid)
            # Stopped, it cannot exit when its channel closes (as a subverted one might not): the
            # monitor must not wait for it for ever when it ends it after its idle second.
            os.kill(mbx, signal.SIGSTOP)
            c, sid_c, mbx_c, monitor_c = self.login(d, "127.0.0.3", "carol", "tiger")
            self.assertEqual(monitor_c, monitor)
            self.assertNotEqual(mbx_c, mbx, "carol's session in alice's mailbox process")
            self.assertEqual(uid_of(mbx_c), other.pw_uid)
            sh.wait_until(lambda: h.gone(mbx), 30, "the stopped idle process was ended")
            self.assertIn(b"for carol", b"\n".join(c.retr(1)[1]))
            c.quit()
            self.done(d, sid_c)

    def test_zero_reuse_ends_the_mailbox_process_with_its_session(self):
        for what in ({"process_reuse": "0"}, {"idle": "0"}):
            with self.subTest(**what), self.daemon(**what) as d:
                self.one_process_per_login(d)

    def one_process_per_login(self, d):
        d.start()
        a, sid, mbx, monitor = self.login(d, "127.0.0.2", "alice", "secret")
        a.quit()
        sh.wait_until(lambda: h.gone(mbx), 30, "the mailbox process ended with its session")
        b, sid_b, mbx_b, _ = self.login(d, "127.0.0.3", "alice", "secret")
        self.assertNotEqual(mbx_b, mbx)
        b.quit()


if __name__ == "__main__":
    h.main()
