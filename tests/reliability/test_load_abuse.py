"""test_load_abuse - slow clients and password guessing, against the real daemon on 127.0.0.0/8.

- Slow clients, twice as many as server.max_connections, each from its own address, sending a
  byte every two seconds and reconnecting at once when dropped or refused: new POP3 clients
  still log in within a second (the oldest POP3 session that has not logged in makes room).
  The same attack on the SMTP port still locks everybody out: SMTP sessions are never pushed
  out (an expected failure, see TESTING.md).
- Password guessing from one address in parallel sessions: every failure is delayed, no session
  gets more than auth.max_failures passwords checked, then the address is refused (the right
  password too) for auth.lockout while other addresses are served.
"""

import re
import threading
import time
import unittest

import relib as r
from relib import quick_login

import popgate_harness as h


class Abuse(h.TestCase):
    def slow_clients(self, service):
        """2 x server.max_connections slow clients on SERVICE, each from its own address, a byte
        every 2 s and never a whole line, reconnecting at once when dropped or refused; then five
        new POP3 logins. Returns (login times or the error, statistics)."""
        limit = 20
        with r.Daemon(self, config={"server": {"max_connections": str(limit)}}, listeners=("pop3", "smtp")) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            stop = threading.Event()
            stats = {"connects": 0, "refused": 0}

            def slow_client(i):
                while not stop.is_set():
                    s = None
                    try:
                        s = r.connect(d.port(service), source=r.source_ip(i), timeout=5)
                        stats["connects"] += 1
                        if s.recv(200)[:3] not in (b"+OK", b"220"):
                            stats["refused"] += 1
                            stop.wait(0.5)
                            continue
                        while not stop.wait(2):
                            s.sendall(b"N")
                    except OSError:
                        pass
                    finally:
                        if s is not None:
                            s.close()
            attackers = [threading.Thread(target=slow_client, args=(i,)) for i in range(2 * limit)]
            for t in attackers:
                t.start()
            try:
                time.sleep(3)
                times = []
                for k in range(5):
                    try:
                        times.append(quick_login(d, "127.9.9.%d" % (k + 1)))
                    except (r.Pop3Error, OSError, EOFError) as e:
                        times.append(str(e))
                    time.sleep(0.5)
            finally:
                stop.set()
                for t in attackers:
                    t.join(10)
            stats["evicted"] = d.log().count(" evicted: ")
        print("\n%d slow %s clients against max_connections=%d: %d connects (%d refused), %d evicted; "
              "new POP3 logins: %s" % (2 * limit, service, limit, stats["connects"], stats["refused"],
                                        stats["evicted"], times))
        return times, stats

    def test_slow_pop3_clients_do_not_lock_others_out(self):
        times, stats = self.slow_clients("pop3")
        self.assertTrue(all(isinstance(t, float) and t < 1.0 * h.SLOWDOWN for t in times), times)
        self.assertGreaterEqual(stats["evicted"], 5)

    @unittest.expectedFailure  # SMTP sessions are never pushed out: see "Findings" in TESTING.md
    def test_slow_smtp_clients_do_not_lock_others_out(self):
        times, _ = self.slow_clients("smtp")
        self.assertTrue(all(isinstance(t, float) and t < 1.0 * h.SLOWDOWN for t in times), times)

    def test_password_guessing_is_throttled(self):
        per_ip, max_failures = 5, 6
        cfg = {"auth": {"fail_delay": "1s", "fail_delay_max": "2s", "max_failures": str(max_failures),
                        "lockout": "30s"},
               "server": {"max_connections_per_ip": str(per_ip)}}
        with r.Daemon(self, config=cfg, listeners=("pop3",)) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            attacker = "127.77.0.1"
            answers, refused, stop = [], [0], threading.Event()
            lock = threading.Lock()

            def guesser(k):
                """Open sessions from the one address and guess in each as long as it lasts."""
                while not stop.is_set():
                    try:
                        c = r.Pop3(d.port("pop3"), source=attacker, timeout=30)
                    except r.Pop3Error:
                        with lock:
                            refused[0] += 1
                        stop.wait(0.2)
                        continue
                    except OSError:
                        continue
                    try:
                        while not stop.is_set():
                            c.cmd("USER alice")
                            t0 = time.time()
                            try:
                                c.cmd("PASS guess-%d-%f" % (k, t0))
                                raise AssertionError("a wrong password was accepted")
                            except r.Pop3Error:
                                pass
                            with lock:
                                answers.append(time.time() - t0)
                    except (OSError, EOFError):
                        pass
                    finally:
                        c.close()
            threads = [threading.Thread(target=guesser, args=(k,)) for k in range(per_ip)]
            t0 = time.time()
            for t in threads:
                t.start()
            time.sleep(12)
            stop.set()
            for t in threads:
                t.join(30)
            elapsed = time.time() - t0
            # Locked out: the right password from that address fails too, in a new session...
            with self.assertRaisesRegex(r.Pop3Error, r"SYS/TEMP"):
                quick_login(d, attacker)
            self.assertLess(quick_login(d, "127.77.0.2"), 1.0 * h.SLOWDOWN)  # ...while other addresses are served.
            log = d.log()
            checked = len(re.findall(r"ip=127\.77\.0\.1 user=alice login failed", log))
            refused_in_session = len(re.findall(r"ip=127\.77\.0\.1 user=alice login refused: locked out", log))
            refused_at_connect = log.count("ip=127.77.0.1 user=- refused: locked out")
        # Each session checks at most max_failures passwords (fewer once the address is known bad
        # when it connects); past that, answers come without a check, and new sessions are refused.
        self.assertLessEqual(checked, per_ip * max_failures)
        self.assertGreater(refused_in_session + refused_at_connect, 0)
        self.assertGreater(min(answers), 0.9, "every failure is delayed")
        print("\npassword guessing from one address, %d parallel sessions for %.0fs: %d answers, %d passwords "
              "actually checked (bound %d), %d refused unchecked in open sessions, %d connections refused"
              % (per_ip, elapsed, len(answers), checked, per_ip * max_failures, refused_in_session,
                 refused_at_connect))


if __name__ == "__main__":
    h.main()
