#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_auth_worker - the auth worker (issue 15), the one process that reads the user database:
- it is started by the master as popgated/auth and answers the monitors' checks (a login works);
- killed, it is restarted with the workers' back-off and logins work again through the new one;
- a check it had taken when it died (held still: the passwd file is a FIFO the worker blocks on)
  gets the protocol's temporary failure at once, not after the monitor's 30 s deadline and not a
  hang; the session lives on, and the same client logs in once the worker is back;
- a check sent while the worker is stopped waits in the channel, which the master keeps open,
  and the restarted worker answers it: the client logs in;
- checks queued while the worker and its helpers are held still, then told to stop (SIGTERM, as
  a reload does) before they run again, are all answered before they exit: every client logs in;
- with auth.workers = 2 the worker forks a helper that serves the same channel: with the worker
  itself stopped, the helper answers; a helper killed is replaced, and dies with the worker.
"""

import os
import poplib
import re
import signal
import socket
import subprocess
import threading
import time

import popgate_harness as h

TEMP = "-ERR [SYS/TEMP] Authentication temporarily unavailable, try again later"


def auth_worker(d, start=0):
    """The pid of the auth worker whose ready line comes after offset START of the log."""
    m = d.wait_for_log(r"popgated/auth\[(\d+)\]: \w+: auth worker ready", timeout=40, start=start)
    return int(m.group(1))


class Pop3Line:
    """A raw POP3 client: send a line, read one reply line (timeouts generous: no test waits on them)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()

    def line(self):
        return self.f.readline().decode().rstrip("\r\n")

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def close(self):
        self.f.close()
        self.sock.close()


def login(d, password="secret"):
    """USER alice / PASS PASSWORD on a new connection: the PASS reply."""
    c = Pop3Line(d.port("pop3"))
    try:
        c.cmd("USER alice")
        return c.cmd("PASS %s" % password)
    finally:
        c.close()


def helpers_of(pid):
    """The auth worker's helper processes (its children)."""
    return [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                           text=True).stdout.split()]


def cap_eff(pid):
    """PID's effective capabilities, as /proc shows them."""
    with open("/proc/%d/status" % pid) as f:
        return [l.split()[1] for l in f if l.startswith("CapEff:")][0]


def recv_queue(inode):
    """The bytes waiting in the receive queue of the unix socket INODE (ss's Recv-Q), or None."""
    out = subprocess.run(["ss", "-x", "-a", "-n"], capture_output=True, text=True).stdout
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) >= 8 and f[5] == str(inode):
            return int(f[2])
    return None


def sigterm_pending(pid):
    """Whether a SIGTERM sent to PID waits, undelivered (PID is stopped)."""
    return bool(int(h.proc_status(pid)["ShdPnd"][0], 16) & (1 << (signal.SIGTERM - 1)))


def answered_by(log):
    """{user: pid of the auth worker process that checked the user's password} from LOG's debug lines."""
    return {m.group(2): int(m.group(1)) for m in re.finditer(
        r"popgated/auth\[(\d+)\]: debug: auth worker: password (\S+) from \S+ for pop3: ", log)}


def pop_pass(d, user, results):
    """A poplib login of USER that waits for its PASS reply, into RESULTS[USER] (a thread's body)."""
    try:
        pop = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=60)
        pop.user(user)
        results[user] = pop.pass_("secret").decode()
        pop.quit()
    except (poplib.error_proto, OSError) as e:
        results[user] = "%s: %s" % (type(e).__name__, e)


class AuthWorker(h.TestCase):
    def test_killed_worker_is_restarted_and_logins_go_on(self):
        with h.Popgated(self, listeners=("pop3",)) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            first = auth_worker(d)
            self.assertTrue(login(d).startswith("+OK"))
            self.assertTrue(login(d, "wrong").startswith("-ERR [AUTH]"))
            mark = len(d.log())
            os.kill(first, signal.SIGKILL)
            d.wait_for_log(r"the auth worker was killed by signal 9 \(Killed\); restarting it in \d+s", start=mark)
            second = auth_worker(d, start=mark)
            self.assertNotEqual(first, second)
            self.assertTrue(login(d).startswith("+OK"), "no login through the restarted auth worker")
            self.assertTrue(login(d, "wrong").startswith("-ERR [AUTH]"))
        print("\nauth worker %d killed, %d answered after it" % (first, second))

    def test_a_check_in_flight_gets_a_temporary_failure(self):
        with h.Popgated(self, listeners=("pop3",)) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            worker = auth_worker(d)
            # The next check blocks the worker in opening the passwd file: a FIFO with no writer.
            saved = d.passwd_path + ".saved"
            os.rename(d.passwd_path, saved)
            os.mkfifo(d.passwd_path, 0o644)
            c = Pop3Line(d.port("pop3"))
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            c.sock.sendall(b"PASS secret\r\n")
            deadline = time.time() + 30
            while True:  # a writer can open the FIFO only once the worker has it open for reading
                try:
                    writer = os.open(d.passwd_path, os.O_WRONLY | os.O_NONBLOCK)
                    break
                except OSError as e:
                    self.assertEqual(e.errno, 6, e)  # ENXIO: no reader yet
                    self.assertLess(time.time(), deadline, "the auth worker never opened the passwd file")
                    time.sleep(0.02)
            # It holds the check (reading a file no one writes); now it dies with it.
            mark = len(d.log())
            os.kill(worker, signal.SIGKILL)
            started = time.time()
            reply = c.line()
            waited = time.time() - started
            os.close(writer)
            self.assertEqual(reply, TEMP)
            self.assertLess(waited, 25, "the monitor waited for its deadline instead of seeing the worker die")
            d.wait_for_log(r"auth: the auth worker gave no answer about alice: it ended before answering",
                           start=mark)
            os.unlink(d.passwd_path)
            os.rename(saved, d.passwd_path)
            auth_worker(d, start=mark)
            # The same session goes on: the next PASS is checked by the new worker.
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            self.assertTrue(c.cmd("PASS secret").startswith("+OK"), "the session did not survive the worker")
            c.cmd("QUIT")
            c.close()
        print("\na check the dying worker held: %r after %.3f s" % (reply, waited))

    def test_a_queued_check_waits_for_the_next_worker(self):
        with h.Popgated(self, listeners=("pop3",)) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            worker = auth_worker(d)
            master = d.proc.pid
            chan = h.socket_inodes(worker) & h.socket_inodes(master)
            self.assertEqual(len(chan), 1, "the worker shares one socket, its end of the channel, with the master")
            chan = chan.pop()
            everyone = [worker] + helpers_of(worker)  # every process that serves the channel
            h.hold_still(everyone)  # stopped, not only signalled: a running one could take the check
            c = Pop3Line(d.port("pop3"))
            c.cmd("USER alice")
            c.sock.sendall(b"PASS secret\r\n")
            deadline = time.time() + 30
            while not recv_queue(chan):
                self.assertLess(time.time(), deadline, "the check never reached the auth channel")
                time.sleep(0.02)
            mark = len(d.log())
            os.kill(worker, signal.SIGKILL)  # stopped or not; its helpers die with it (parent-death signal)
            auth_worker(d, start=mark)
            self.assertTrue(c.line().startswith("+OK"), "the queued check was lost with the worker")
            c.cmd("QUIT")
            c.close()
        print("\na check queued while the worker was stopped and then killed: answered by the next one")

    def queue_logins(self, d, chan, users):
        """A poplib login of each of USERS, one at a time, each on until its check waits in the
        channel (inode CHAN), whose readers are all stopped: the threads and their results."""
        results, clients, queued, frame = {}, [], 0, None
        deadline = time.time() + 30
        for u in users:
            t = threading.Thread(target=pop_pass, args=(d, u, results), daemon=True)
            t.start()
            clients.append(t)
            while (recv_queue(chan) or 0) <= queued:
                self.assertLess(time.time(), deadline, "%s's check never reached the auth channel" % u)
                time.sleep(0.02)
            frame = frame or recv_queue(chan)
            queued += frame
            self.assertEqual(recv_queue(chan), queued, "%s's login queued more than one check" % u)
        return clients, results

    def test_checks_queued_at_a_stop_are_answered_before_the_exit(self):
        users = ["alice", "bob", "carol", "dave"]
        with h.Popgated(self, listeners=("pop3",), config={"auth": {"workers": "2"}}) as d:
            for u in users:
                d.add_user(u, "secret", messages=[h.mbox_message(1)])
            d.start()
            worker = auth_worker(d)
            deadline = time.time() + 30
            while len(helpers_of(worker)) != 1:
                self.assertLess(time.time(), deadline, "no helper")
                time.sleep(0.02)
            everyone = [worker] + helpers_of(worker)  # every process that serves the channel
            chan = h.socket_inodes(worker) & h.socket_inodes(d.proc.pid)
            self.assertEqual(len(chan), 1, "the worker shares one socket, its end of the channel, with the master")
            try:
                h.hold_still(everyone)
                clients, results = self.queue_logins(d, chan.pop(), users)
                self.assertEqual(results, {}, "a reply came while every process of the worker was stopped")
                mark = len(d.log())
                for p in everyone:  # a reload's SIGTERM, waiting until they run again
                    os.kill(p, signal.SIGTERM)
                    self.assertTrue(sigterm_pending(p), "process %d took its SIGTERM while stopped" % p)
            finally:
                for p in everyone:
                    os.kill(p, signal.SIGCONT)
            for t in clients:
                t.join(60)
                self.assertFalse(t.is_alive(), "a login hung at the worker's stop")
            for u in users:
                self.assertTrue(results[u].startswith("+OK"), "%s's queued check: %s" % (u, results[u]))
            d.wait_for_log(r"the auth worker exited with status 0; restarting it in \d+s", start=mark)
            # Answered by the processes told to stop, not left in the channel for the next worker.
            by = answered_by(d.log()[mark:])
            for u in users:
                self.assertIn(by.get(u), everyone, "%s's check was not answered before the stop" % u)
            for p in everyone:
                self.assertTrue(h.gone(p), "process %d of the stopped worker is still there" % p)
            self.assertNotIn("gave no answer", d.log()[mark:])
            # Logins through the restarted worker: test_killed_worker_is_restarted_and_logins_go_on
            # (waiting out the master's back-off once is enough for the suite).
        print("\n%d checks queued at the stop of worker %d and its helper: all answered by them" % (len(users), worker))

    def test_helpers_serve_side_by_side(self):
        with h.Popgated(self, listeners=("pop3",), config={"auth": {"workers": "2"}}) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            worker = auth_worker(d)
            self.assertIn("auth worker ready (auth.backend file, 2 processes)", d.log())
            deadline = time.time() + 30
            while len(helpers_of(worker)) != 1:
                self.assertLess(time.time(), deadline, "no helper")
                time.sleep(0.02)
            helper = helpers_of(worker)[0]
            self.assertEqual(cap_eff(helper), cap_eff(worker), "the helper's capabilities differ from the worker's")
            try:
                h.hold_still([worker])  # stopped before the login: only the helper can answer it
                self.assertTrue(login(d).startswith("+OK"), "the helper did not answer for the stopped worker")
            finally:
                os.kill(worker, signal.SIGCONT)
            mark = len(d.log())
            os.kill(helper, signal.SIGKILL)
            d.wait_for_log(r"auth worker: helper %d ended \(status 9\); starting another" % helper, start=mark)
            while len(helpers_of(worker)) != 1 or helpers_of(worker)[0] == helper:
                self.assertLess(time.time(), deadline + 30, "no new helper")
                time.sleep(0.02)
            replacement = helpers_of(worker)[0]
            try:
                h.hold_still([worker])  # stopped before the login: only the helper can answer it
                self.assertTrue(login(d).startswith("+OK"), "the new helper did not answer")
            finally:
                os.kill(worker, signal.SIGCONT)
            os.kill(worker, signal.SIGKILL)
            deadline = time.time() + 30
            while not h.gone(replacement):
                self.assertLess(time.time(), deadline, "the helper outlived the worker")
                time.sleep(0.02)
        print("\nwith the worker stopped its helpers answered; a killed helper was replaced; both died with the worker")


if __name__ == "__main__":
    h.main()
