# SPDX-License-Identifier: GPL-2.0-or-later
"""test_relaydb_stuck - a process killed -9 in the middle of a relay database write leaves its
record's page locked (and latched) for good; the lookup worker, caught waiting on it, must not stay
stuck: it notices, says so once, exits, and the worker the master starts recovers the environment
(DB_REGISTER), so RCPT relays again and POP logins are recorded again.

The dying writer is tests/integration/relaydb_holder, held still inside DB->put until it is killed.
The sweeper, whose failchk and lock_detect could otherwise free or recover things behind the
worker's back at a moment of their own, is held still (SIGSTOP) while the worker is caught, so that
nothing depends on timing: with the old code the worker then waits for good.

The sweeper has the same watchdog: caught waiting on the page lock of a writer killed there, while
nothing else touches the database (another process's lock conflict would run Berkeley DB's
detector, which expires the sweeper's wait), it exits as the worker does and its successor sweeps.
"""

import os
import platform
import re
import signal
import smtplib
import subprocess
import time

import admin_helpers as ah
import popgate_harness as h
import smtp_helpers as sh

HOLDER = os.path.join(h.BUILDDIR, "tests", "integration", "relaydb_holder")
WORKER_LISTENING = r"popgated/lookup\[(\d+)\]: \w+: relaydb: lookup worker listening"
ADMIN_SERVING = r"popgated/admin\[(\d+)\]: \w+: admin: serving the admin page"
ADMINS = {"helen": ("helen-pw-1", "admin")}
STUCK_S = 15          # RELAYDB_STUCK_S, src/relaydb/relaydb_int.h
DEADLINE_S = 180      # generous: a loaded 2-core machine, an ASan build
SWEEPER_STUCK = (r"popgated/sweeper\[%d\]: \w+: relaydb: the sweeper made no progress inside the relay database "
                 r"for (\d+) s: a process that died in the middle of a database operation")
# The system calls of a sleep (nanosleep, clock_nanosleep): where the sweeper waits between its turns.
NANOSLEEP = {"x86_64": (35, 230), "aarch64": (101, 115)}.get(platform.machine())


def sweeper_pid(d, others):
    """The sweeper: the master's child with the environment mapped that is none of OTHERS."""
    region = os.path.join(d.config["relay"]["db_dir"], "__db.001")
    for pid in subprocess.run(["pgrep", "-P", str(d.proc.pid)], capture_output=True,
                              text=True).stdout.split():
        try:
            with open("/proc/%s/maps" % pid) as f:
                if int(pid) not in others and region in f.read():
                    return int(pid)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return None


def wait_until(pred, what):
    end = time.time() + DEADLINE_S
    while time.time() < end:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("never: %s" % what)


def current_syscall(pid):
    """The system call PID's main thread is in (its number), or None when it is in user space."""
    with open("/proc/%d/syscall" % pid) as f:
        first = f.read().split()[0]  # "running", "-1" (blocked outside a call), or the number
    return int(first) if first.isdigit() else None


def stop_between_turns(pid):
    """SIGSTOP the sweeper PID where it holds nothing of the database: in its sleep between turns
    (stopped inside a transaction it would hold up the writer the test starts next)."""
    end = time.time() + DEADLINE_S
    while time.time() < end:
        h.hold_still([pid])
        if NANOSLEEP is None or current_syscall(pid) in NANOSLEEP:
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("the sweeper (pid %d) never stopped between its turns" % pid)


def waiting_on_a_lock(pid):
    """Whether PID's main thread waits on a futex: a Berkeley DB lock or latch that is held elsewhere."""
    with open("/proc/%d/wchan" % pid) as f:
        return f.read().startswith("futex")


def hold_writer(d, ip):
    """Run relaydb_holder on IP's record until it holds it inside DB->put; the live holder."""
    holder = subprocess.Popen([HOLDER, d.config["relay"]["db_dir"], ip], stdout=subprocess.PIPE,
                              user=d.uid, group=d.gid)
    line = holder.stdout.readline()
    holder.stdout.close()
    if line != b"held\n":
        holder.kill()
        holder.wait()
        raise AssertionError("relaydb_holder did not hold %s: %r" % (ip, line))
    return holder


def kill_writer_inside(d, ip):
    """Run relaydb_holder on IP's record until it holds it inside DB->put, then kill -9 it there."""
    holder = subprocess.Popen([HOLDER, d.config["relay"]["db_dir"], ip], stdout=subprocess.PIPE,
                              user=d.uid, group=d.gid)
    try:
        line = holder.stdout.readline()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    if line != b"held\n":
        raise AssertionError("relaydb_holder did not hold %s: %r" % (ip, line))


class StuckWorkers(h.TestCase):
    def test_a_writer_killed_inside_the_database_does_not_stop_lookups_for_good(self):
        cfg = sh.base_config(pop3={"plaintext_auth": "always"}, relay={"sweep_interval": "1s"})
        with h.Popgated(self, config=cfg, listeners=("pop3", "smtp")) as d:
            d.add_user("alice", "secret")
            d.start()
            worker = int(d.wait_for_log(WORKER_LISTENING).group(1))
            h.pop_login(d, "127.7.0.1")
            self.assertEqual(sh.rcpt_code(d, "127.7.0.1"), 250)
            sweeper = sweeper_pid(d, {worker})
            self.assertIsNotNone(sweeper, "no sweeper process")
            # A session that asked the worker before, and asks again only after its successor came.
            early = smtplib.SMTP(timeout=60, source_address=("127.7.0.1", 0))
            self.addCleanup(early.close)
            early.connect("127.0.0.1", d.port("smtp"))
            early.ehlo("client.test")
            early.mail("a@example.org")
            self.assertEqual(early.rcpt("first@elsewhere.example")[0], 250)

            try:
                h.hold_still([sweeper])
                # A writer stops inside DB->put of 127.7.0.1's record, and is killed there.
                kill_writer_inside(d, "127.7.0.1")
                # The worker, asked about that record, waits on the dead writer's lock: the
                # session gives up on it (its 3 s) and defers the mail.
                self.assertEqual(sh.rcpt_code(d, "127.7.0.1"), 451)
                mark = len(d.log())
                # (a) the authorized address relays again, without anybody restarting popgated:
                # the worker noticed by itself and exited, and the one the master started
                # recovered the environment with its open.
                wait_until(lambda: sh.rcpt_code(d, "127.7.0.1") == 250, "RCPT from 127.7.0.1 got 250 again")
                successor = int(d.wait_for_log(WORKER_LISTENING, start=mark).group(1))
                self.assertNotEqual(successor, worker)
                # (b) a POP login is recorded again, by the new worker, and counts.
                h.pop_login(d, "127.7.0.2")
                d.wait_for_log(r"popgated/lookup\[%d\]: \w+: relaydb: authorized 127\.7\.0\.2 \(user alice, pop3\)"
                               % successor, timeout=DEADLINE_S)
                self.assertEqual(sh.rcpt_code(d, "127.7.0.2"), 250)
                # The early session's connection went with the old worker: it asks the new one.
                self.assertEqual(early.rcpt("second@elsewhere.example")[0], 250)
                early.quit()
                # (c) the log says why, in the worker's words, and the master's.
                stuck = d.wait_for_log(r"popgated/lookup\[%d\]: \w+: relaydb: the lookup worker made no progress "
                                       r"inside the relay database for (\d+) s: a process that died in the middle of a "
                                       r"database operation" % worker, start=mark)
                self.assertGreaterEqual(int(stuck.group(1)), STUCK_S)
                d.wait_for_log(r"the relay-lookup worker exited with status 75; restarting it", start=mark)
            finally:
                os.kill(sweeper, signal.SIGCONT)

            # The sweeper, back in an environment recovered under it, reopens and goes on sweeping.
            d.ctl("add", "198.51.100.6", "--ttl", "1s")
            wait_until(lambda: "198.51.100.6" not in d.ctl("list").stdout, "the sweeper swept an expired entry")
            self.assertEqual(sh.rcpt_code(d, "127.7.0.1"), 250)
            # Said once: one line, however many RCPTs waited meanwhile.
            self.assertEqual(len(re.findall(r"lookup worker made no progress inside the relay database", d.log())), 1,
                             d.log())
            self.assertNotIn("authorization not recorded", d.log())

    def test_the_sweeper_caught_on_a_dead_writer_comes_back(self):
        """The sweeper waits inside the database on the page of a writer that is then killed -9
        there (nothing else touches the database meanwhile, so no lock conflict of someone else's
        expires its wait): its own watchdog ends it (logged, status 75), the master starts a new
        one, whose open recovers the environment, and that one sweeps what expired meanwhile. The
        lookup worker, asked nothing then, is not caught and answers again afterwards."""
        cfg = sh.base_config(relay={"sweep_interval": "1s"})
        with h.Popgated(self, config=cfg, listeners=("smtp",)) as d:
            d.start()
            worker = int(d.wait_for_log(WORKER_LISTENING).group(1))
            d.ctl("add", "127.7.0.1", "--ttl", "1h")
            self.assertEqual(sh.rcpt_code(d, "127.7.0.1"), 250)
            sweeper = sweeper_pid(d, {worker})
            self.assertIsNotNone(sweeper, "no sweeper process")

            stop_between_turns(sweeper)
            try:
                # Expired by the time the sweeper walks the records: it must not get to it.
                d.ctl("add", "198.51.100.7", "--ttl", "1s")
                holder = hold_writer(d, "127.7.0.1")
                try:
                    # Let go, the sweeper's next sweep walks into the writer's page and waits there.
                    os.kill(sweeper, signal.SIGCONT)
                    wait_until(lambda: waiting_on_a_lock(sweeper), "the sweeper waiting on the writer's page")
                    mark = len(d.log())
                finally:
                    holder.kill()  # -9, inside DB->put: its page stays locked and latched
                    holder.wait()
            finally:
                os.kill(sweeper, signal.SIGCONT)

            stuck = d.wait_for_log(SWEEPER_STUCK % sweeper, start=mark, timeout=DEADLINE_S)
            self.assertGreaterEqual(int(stuck.group(1)), STUCK_S)
            d.wait_for_log(r"the relay-sweeper worker exited with status 75; restarting it", start=mark)
            successor = int(d.wait_for_log(r"popgated/sweeper\[(\d+)\]: \w+: relaydb: swept 1 expired authorization",
                                           start=mark, timeout=DEADLINE_S).group(1))
            self.assertNotEqual(successor, sweeper)
            listed = d.ctl("list").stdout
            self.assertNotIn("198.51.100.7", listed)
            self.assertIn("127.7.0.1", listed)  # the dead writer's put rolled back; the record stays
            # The lookup worker was not caught: the same one answers, from the recovered environment.
            wait_until(lambda: sh.rcpt_code(d, "127.7.0.1") == 250, "RCPT from 127.7.0.1 got 250 again")
            self.assertFalse(h.gone(worker), "the lookup worker was restarted")
            d.wait_for_log(r"popgated/lookup\[%d\]: \w+: relaydb: looked up 127\.7\.0\.1: entry" % worker, start=mark)
            log = d.log()
            self.assertEqual(len(re.findall(r"made no progress inside the relay database", log)), 1, log)
            self.assertEqual(len(re.findall(r"the sweeper made no progress", log)), 1, log)

    def test_the_admin_page_comes_back_too(self):
        with h.Popgated(self, listeners=("admin",)) as d:
            ah.setup_admin(d, ADMINS)
            d.start()
            admind = int(d.wait_for_log(ADMIN_SERVING).group(1))
            d.ctl("add", "127.7.0.1")
            sweeper = sweeper_pid(d, {admind})
            self.assertIsNotNone(sweeper, "no sweeper process")
            c = ah.AdminClient(d)
            c.login("helen", "helen-pw-1")
            self.assertIn("127.7.0.1", c.get("/api/relays").text)

            try:
                h.hold_still([sweeper])
                kill_writer_inside(d, "127.7.0.1")
                mark = len(d.log())
                # The page's list waits on the dead writer's lock: no answer.
                with self.assertRaises(OSError):
                    c.get("/api/relays")
                # The admin worker notices by itself and exits; the one the master starts recovers
                # the environment, and the page lists the relays again (after a new login: the
                # sessions of a worker that did not end cleanly are not saved).
                def listed():
                    fresh = ah.AdminClient(d)
                    try:
                        if fresh.post("/api/login", {"user": "helen", "password": "helen-pw-1"}).status != 200:
                            return False
                        r = fresh.get("/api/relays")
                    except OSError:
                        return False  # the stuck worker, or none listening while it restarts
                    return r.status == 200 and "127.7.0.1" in r.text
                wait_until(listed, "the admin page listed 127.7.0.1 again")
                # It said why, and the master said it restarted it.
                d.wait_for_log(r"popgated/admin\[%d\]: \w+: relaydb: the admin worker made no progress inside the "
                               r"relay database for \d+ s" % admind, start=mark)
                d.wait_for_log(r"the admin worker exited with status 75; restarting it", start=mark)
                successor = int(d.wait_for_log(ADMIN_SERVING, start=mark).group(1))
                self.assertNotEqual(successor, admind)
            finally:
                os.kill(sweeper, signal.SIGCONT)
            self.assertEqual(len(re.findall(r"made no progress inside the relay database", d.log())), 1, d.log())


if __name__ == "__main__":
    h.main()
