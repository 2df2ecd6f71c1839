#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_journal - popgated -F under systemd logs to the journal natively: every line with its own
PRIORITY, SYSLOG_FACILITY (server.log_facility, mail = 2), SYSLOG_IDENTIFIER and SYSLOG_PID, so
that rsyslog files it in mail.log and `journalctl -p err` finds the errors and nothing else.

The real systemd-journald runs in a private mount namespace (tmpfs on /run/systemd and /run/log,
so the host's journal is never touched). popgated's stderr is a stream connected to journald's
stdout socket with the header systemd writes, and JOURNAL_STREAM names it, as systemd.exec(5)
says; a line that came through that stream (the old way) carries the stream's identifier and
fails the test. A failed POP3 login and a reload of a broken file give an info, a notice and an
error line; journalctl reads them back. The test re-runs itself under `unshare -m` (Python 3.11
has no os.unshare) and needs root.
"""

import json
import os
import poplib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import popgate_harness as h

JOURNALD = "/lib/systemd/systemd-journald"
JOURNAL_DIR = "/run/log/journal"
STREAM_ID = "popgated-stream"   # lines that reached the journal as text through stderr
IDENTS = {"popgated", "pop3", "smtp", "popgated/admin", "popgated/lookup", "popgated/sweeper"}
DEADLINE = 60
IN_NS = "POPGATE_JOURNAL_NS"


def reexec_in_namespace():
    """Run this file again as the only process of a private mount namespace; exit with its status."""
    if os.geteuid() != 0:
        print("SKIP: needs root (mount namespace, tmpfs)")
        sys.exit(h.SKIP)
    for tool in (JOURNALD, shutil.which("unshare"), shutil.which("journalctl")):
        if tool is None or not os.path.exists(tool):
            print("SKIP: not installed: %s" % (tool or "unshare/journalctl"))
            sys.exit(h.SKIP)
    env = dict(os.environ, **{IN_NS: "1"})
    r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, os.path.abspath(__file__)]
                       + sys.argv[1:], env=env)
    sys.exit(r.returncode)


def wait_for(what, cond):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("never happened within %ss: %s" % (DEADLINE, what))


def entries(*args):
    """The private journal's entries (journalctl -o json, with ARGS) from popgate's processes."""
    r = subprocess.run(["journalctl", "-D", JOURNAL_DIR, "-o", "json", "--no-pager"] + list(args),
                       capture_output=True, text=True, timeout=DEADLINE)
    out = []
    for line in r.stdout.splitlines():
        e = json.loads(line)
        if e.get("SYSLOG_IDENTIFIER") in IDENTS | {STREAM_ID}:
            out.append(e)
    return out


class Journald:
    """The real systemd-journald on tmpfs mounts private to this namespace."""

    def __init__(self):
        for d in ("/run/systemd", "/run/log", "/var/log/journal"):
            if d == "/var/log/journal" and not os.path.isdir(d):
                continue
            os.makedirs(d, exist_ok=True)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", d], check=True)
        self.proc = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for("journald's sockets", lambda: os.path.exists("/run/systemd/journal/socket")
                 and os.path.exists("/run/systemd/journal/stdout"))

    def stream(self):
        """A stderr for a service, as systemd makes it: journald's stdout socket and its header."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect("/run/systemd/journal/stdout")
        # identifier, unit id, priority, level_prefix, forward to syslog, kmsg, console
        s.sendall(("%s\n\n6\n0\n0\n0\n0\n" % STREAM_ID).encode())
        s.shutdown(socket.SHUT_RD)
        return s

    def stop(self):
        self.proc.terminate()
        self.proc.wait(DEADLINE)


class Journal(h.TestCase):
    def test_lines_reach_the_journal_with_priority_and_facility(self):
        jd = Journald()
        try:
            self.exercise(jd)
        finally:
            jd.stop()

    def exercise(self, jd):
        stream = jd.stream()
        st = os.fstat(stream.fileno())
        d = h.Popgated(self, listeners=("pop3", "admin"))
        d.add_user("alice", "secret", messages=[h.mbox_message(1)])
        d.write_config()
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        with d:
            d._logf = open(d.log_path, "ab")
            d.proc = subprocess.Popen([h.POPGATED, "-F", "-f", d.conf_path], stdin=subprocess.DEVNULL,
                                      stdout=stream.fileno(), stderr=stream.fileno(), env=env)
            stream.close()   # popgated holds it now, as a service does
            wait_for("the ready line", lambda: any("ready on" in e["MESSAGE"] for e in entries()))
            # popgate-admind, exec'd by the admin worker, opens the journal for itself.
            wait_for("the admin page's line", lambda: any(e["SYSLOG_IDENTIFIER"] == "popgated/admin"
                                                          for e in entries()))
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=20)
            p.user("alice")
            self.assertRaises(poplib.error_proto, p.pass_, "wrong")
            p.quit()
            with open(d.conf_path, "a") as f:
                f.write("[server]\nno_such_key = 1\n")
            d.proc.send_signal(signal.SIGHUP)
            wait_for("the refused reload", lambda: any("reload refused" in e["MESSAGE"] for e in entries()))
            wait_for("the session's end", lambda: any(re.search(r" quit", e["MESSAGE"]) for e in entries()))
            self.assertEqual(d.stop(), 0)
        self.check(entries())
        self.check_errors_only(entries("-p", "err"))

    def check(self, got):
        self.assertFalse([e["MESSAGE"] for e in got if e["SYSLOG_IDENTIFIER"] == STREAM_ID],
                         "lines came as text through stderr, not natively")
        self.assertTrue(got)
        for e in got:
            self.assertEqual(e.get("SYSLOG_FACILITY"), "2", e)           # server.log_facility = mail
            self.assertEqual(e.get("_TRANSPORT"), "journal", e)
            self.assertEqual(e.get("SYSLOG_PID"), e.get("_PID"), e)
        def one(rx):
            found = [e for e in got if re.search(rx, e["MESSAGE"])]
            self.assertTrue(found, "no %r in:\n%s" % (rx, "\n".join(e["MESSAGE"] for e in got)))
            return found
        self.assertEqual({e["PRIORITY"] for e in one(r"ready on")}, {"6"})
        self.assertEqual({e["SYSLOG_IDENTIFIER"] for e in one(r"ready on")}, {"popgated"})
        failed = one(r"^pop3 session=[0-9a-f]{12} ip=127\.0\.0\.1 user=alice login failed: ")
        self.assertEqual({e["PRIORITY"] for e in failed}, {"5"})
        self.assertEqual({e["SYSLOG_IDENTIFIER"] for e in failed}, {"pop3"})
        self.assertEqual({e["PRIORITY"] for e in one(r"reload refused")}, {"3"})
        # One connection, one id: the protocol child's lines and the monitor's alike.
        conn = one(r"^pop3 session=\S+ ip=127\.0\.0\.1 ")
        self.assertEqual(len({re.search(r"session=(\S+)", e["MESSAGE"]).group(1) for e in conn}), 1)
        self.assertGreater(len({e["_PID"] for e in conn}), 1, "the monitor and the protocol child")

    def check_errors_only(self, errs):
        self.assertTrue(any("reload refused" in e["MESSAGE"] for e in errs), errs)
        for e in errs:
            self.assertLessEqual(int(e["PRIORITY"]), 3, e)


if __name__ == "__main__":
    if not os.environ.get(IN_NS):
        reexec_in_namespace()
    h.main()
