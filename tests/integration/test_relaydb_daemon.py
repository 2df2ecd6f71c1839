# SPDX-License-Identifier: GPL-2.0-or-later
"""test_relaydb_daemon - popgatectl and the relay sweeper while popgated runs, kill -9 and restart;
and how a POP login's relay authorization is recorded: by the lookup worker alone, on the word of
the session monitor sent over the login channel (never over lookup.sock, which refuses it), waiting
for a worker that restarts, and failing visibly, without a hang, when the worker does not answer.
"""

import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

import popgate_harness as h
import smtp_helpers as sh

IPC_MAGIC, IPC_RELAY_LOGIN = 0x70676931, 10  # src/common/ipc.h
RELAY_LOGIN_WAIT_S = 20         # RELAY_LOGIN_WAIT_MS, src/relaydb/login_channel.h
WORKER_LISTENING = r"popgated/lookup\[(\d+)\]: \w+: relaydb: lookup worker listening"


def entries(d):
    return {e["ip"]: e for e in json.loads(d.ctl("list", "--json").stdout)}


def wait_until(pred, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def sweeper_pid(master):
    for pid in subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                              text=True).stdout.split():
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            if b"sweeper" in f.read():
                return int(pid)
    return None


class RelayWithDaemon(h.TestCase):
    def test_ctl_and_sweeper_while_running(self):
        with h.Popgated(self, config={"relay": {"sweep_interval": "1s", "allow": ""}}) as d:
            state = d.config["server"]["state_dir"]
            d.config["relay"]["export_map"] = os.path.join(state, "dracd")
            d.start()
            d.ctl("add", "198.51.100.5", "--user", "alice")
            d.ctl("add", "198.51.100.6", "--ttl", "2s")
            self.assertIn("authorized", d.ctl("check", "198.51.100.5").stdout)
            self.assertEqual(d.ctl("check", "198.51.100.99", check=False).returncode, 1)
            self.assertEqual(sorted(entries(d)), ["198.51.100.5", "198.51.100.6"])
            # The sweeper removes the expired entry by itself.
            self.assertTrue(wait_until(lambda: "198.51.100.6" not in entries(d)),
                            "expired entry never swept")
            # popgatectl ran as root, yet every file stays usable by the daemon's user.
            relay_dir = d.config["relay"]["db_dir"]
            owners = {n: os.stat(os.path.join(relay_dir, n)).st_uid for n in os.listdir(relay_dir)}
            self.assertEqual(set(owners.values()), {d.uid}, owners)

            # kill -9 the sweeper mid-run: the database stays usable for everybody else.
            pid = sweeper_pid(d.proc.pid)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
            d.ctl("add", "198.51.100.7")
            self.assertIn("authorized", d.ctl("check", "198.51.100.7").stdout)
            d.stop()
            # Restart: recovery at start, and the committed entries are all there.
            d.start()
            self.assertIn("198.51.100.5", entries(d))
            self.assertIn("authorized", d.ctl("check", "198.51.100.7").stdout)



def login_record(ip, user=b"forged", proto=b"pop3"):
    """A struct relay_login_req (src/relaydb/lookup_wire.h) in its frame (src/common/ipc.h)."""
    payload = struct.pack("=46s128s16s", ip.encode(), user, proto)
    return struct.pack("=III", IPC_MAGIC, IPC_RELAY_LOGIN, len(payload)) + payload


def monitor_of_login(d, ip):
    """The pid of the session monitor that logged the login from IP."""
    return int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 session=\w+ ip=%s user=alice login ok"
                              % re.escape(ip)).group(1))


class LoginRecords(h.TestCase):
    def daemon(self):
        d = h.Popgated(self, config=sh.base_config(pop3={"plaintext_auth": "always"}), listeners=("pop3", "smtp"))
        d.add_user("alice", "secret")
        return d

    def test_the_worker_records_logins_and_lookup_sock_refuses_them(self):
        with self.daemon() as d:
            d.start()
            worker = int(d.wait_for_log(WORKER_LISTENING).group(1))
            # lookup.sock answers look-ups only: a login record there is refused and logged.
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.settimeout(30)
            try:
                s.connect(os.path.join(d.config["server"]["state_dir"], "login", "lookup.sock"))
                s.send(login_record("127.7.0.9"))
                self.assertEqual(s.recv(64), b"", "lookup.sock answered a login record")
            finally:
                s.close()
            d.wait_for_log(r"popgated/lookup\[%d\]: \w+: relaydb: protocol violation on lookup.sock: a login "
                           r"record \(for 127\.7\.0\.9\) from pid %d uid 0 refused" % (worker, os.getpid()))
            self.assertNotIn("127.7.0.9", entries(d))
            self.assertEqual(sh.rcpt_code(d, "127.7.0.9"), 550)

            # A real login is recorded by the worker, on the monitor's word (the kernel stamped
            # its pid), and the worker goes on answering look-ups.
            h.pop_login(d, "127.7.0.1")
            monitor = monitor_of_login(d, "127.7.0.1")
            d.wait_for_log(r"popgated/lookup\[%d\]: \w+: relaydb: authorized 127\.7\.0\.1 \(user alice, pop3\) "
                           r"for session pid %d uid %d" % (worker, monitor, d.uid))
            self.assertEqual(entries(d)["127.7.0.1"]["user"], "alice")
            self.assertEqual(sh.rcpt_code(d, "127.7.0.1"), 250)

    def test_a_login_waits_for_the_restarted_worker(self):
        with self.daemon() as d:
            d.start()
            worker = int(d.wait_for_log(WORKER_LISTENING).group(1))
            os.kill(worker, signal.SIGKILL)
            d.wait_for_log(r"the relay-lookup worker was killed by signal 9")
            # No worker now: the login's record waits in the channel the master keeps, and the
            # next worker (started after the back-off) records it before the +OK.
            pop = h.SourcePOP3("127.0.0.1", d.port("pop3"), "127.7.0.2", timeout=RELAY_LOGIN_WAIT_S + 40)
            pop.user("alice")
            self.assertTrue(pop.pass_("secret").startswith(b"+OK"))
            pop.quit()
            monitor = monitor_of_login(d, "127.7.0.2")
            m = d.wait_for_log(r"popgated/lookup\[(\d+)\]: \w+: relaydb: authorized 127\.7\.0\.2 \(user alice, "
                               r"pop3\) for session pid %d " % monitor)
            self.assertNotEqual(int(m.group(1)), worker)
            self.assertNotIn("authorization not recorded", d.log())
            self.assertIn("127.7.0.2", entries(d))
            self.assertEqual(sh.rcpt_code(d, "127.7.0.2"), 250)

    def test_a_worker_that_does_not_answer_fails_the_authorization_not_the_login(self):
        with self.daemon() as d:
            d.start()
            worker = int(d.wait_for_log(WORKER_LISTENING).group(1))
            os.kill(worker, signal.SIGSTOP)
            try:
                # The session does not open the database itself: after its wait the login
                # succeeds, and its authorization is reported as not recorded.
                pop = h.SourcePOP3("127.0.0.1", d.port("pop3"), "127.7.0.3", timeout=RELAY_LOGIN_WAIT_S + 40)
                pop.user("alice")
                self.assertTrue(pop.pass_("secret").startswith(b"+OK"))
                self.assertEqual(pop.stat()[0], 0)
                self.assertNotIn("127.7.0.3", entries(d), "recorded without the worker")
                d.wait_for_log(r"relay (session=\w+ )?ip=127\.7\.0\.3 user=alice authorization not recorded: "
                               r"the relay lookup worker did not answer within %d s" % RELAY_LOGIN_WAIT_S)
                # Mail from that client is deferred, not bounced (the unrecorded note).
                self.assertEqual(sh.rcpt_code(d, "127.7.0.3") // 100, 4)
            finally:
                os.kill(worker, signal.SIGCONT)
            # The worker, back, does not record what its session gave up on.
            d.wait_for_log(r"popgated/lookup\[%d\]: \w+: relay ip=127\.7\.0\.3 user=alice authorization not "
                           r"recorded: the session \(pid \d+\) stopped waiting" % worker, timeout=30)
            self.assertNotIn("127.7.0.3", entries(d))
            # The session's end records the authorization again (pop3_session_end.c), now answered.
            pop.quit()

if __name__ == "__main__":
    h.main()
