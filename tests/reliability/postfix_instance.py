# SPDX-License-Identifier: GPL-2.0-or-later
"""postfix_instance - a private, complete Postfix (master, smtpd, cleanup, qmgr, local) for tests.

    pf = PrivatePostfix(directory, spool=spool_dir)   # needs root and the postfix package
    pf.start()                                        # smtpd on 127.0.0.1:pf.port
    ...                                               # mail to user@localhost goes to spool/user
    pf.stop()

Everything lives under DIRECTORY: main.cf and master.cf, queue_directory, data_directory and the
mail log (maillog_file, so no syslog is needed). smtpd listens on 127.0.0.1 only and every
non-local transport is error:, so nothing ever leaves the machine. local(8) delivers into
mail_spool_directory with mailbox_delivery_lock = fcntl, dotlock, as on a Debian mail server.
Chroot is off for every service (the queue is not the system's).
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest

import popgate_harness as h
from relib import alive, start_time

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"

MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
local     unix  - n n -    - local
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class PrivatePostfix:
    def __init__(self, directory, spool, port=None, queue_dir=None, extra=None):
        if not h.IS_ROOT:
            raise unittest.SkipTest("a private Postfix needs root")
        if not os.path.exists(POSTFIX):
            raise unittest.SkipTest("postfix is not installed (apt-get install postfix)")
        self.dir = os.path.join(directory, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.queue = queue_dir or os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "maillog")
        self.spool = spool
        self.port = port or h.free_port()
        self.extra = extra or {}
        self.running = False
        self.pid = self.pid_started = None

    def main_cf(self):
        cf = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postfix.test",
            "mydomain": "test",
            "myorigin": "postfix.test",
            "mydestination": "localhost",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "unix:passwd.byname",
            "mail_spool_directory": self.spool,
            "home_mailbox": "",
            "mailbox_command": "",
            "mailbox_transport": "",
            "mailbox_size_limit": "0",
            "mailbox_delivery_lock": "fcntl, dotlock",
            "biff": "no",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "relayhost": "",
            "default_transport": "error:no outbound mail from tests",
            "relay_transport": "error:no outbound mail from tests",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.dir,
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "in_flow_delay": "0",
            "smtpd_banner": "$myhostname ESMTP",
            "local_destination_concurrency_limit": "4",
            "default_process_limit": "50",
        }
        cf.update(self.extra)
        return "".join("%s = %s\n" % kv for kv in cf.items())

    def postfix(self, *args, check=True):
        r = subprocess.run([POSTFIX, "-c", self.etc] + list(args), capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError("postfix %s failed (%d): %s%s\n%s" % (" ".join(args), r.returncode,
                                                                     r.stdout, r.stderr, self.log()))
        return r

    def start(self):
        for d in (self.etc, self.queue, self.data):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.dir, 0o755)
        os.chown(self.data, pwd.getpwnam("postfix").pw_uid, 0)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(self.main_cf())
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen="127.0.0.1:%d" % self.port))
        self.postfix("start")
        self.running = True
        deadline = time.time() + 20
        while time.time() < deadline:
            if "daemon started" in self.log():
                self.pid = self.master_pid()
                self.pid_started = start_time(self.pid) if self.pid else None
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
                    return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError("the private Postfix did not start:\n" + self.log())

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        """postfix stop; if the master is still there after 15 s (or its directory is gone already),
        SIGKILL its process group: no test may leave a Postfix behind."""
        if not self.running:
            return
        self.running = False
        pid, started = self.pid, self.pid_started
        if os.path.isdir(self.etc):
            self.postfix("stop", check=False)
        deadline = time.time() + 15
        while pid and alive(pid, started) and time.time() < deadline and os.path.isdir(self.etc):
            time.sleep(0.05)
        if pid and alive(pid, started):
            try:
                os.killpg(pid, signal.SIGKILL)  # the master leads its own session and group
            except ProcessLookupError:
                pass

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def deliveries(self):
        """(sent to a mailbox, deferred attempts, bounced) counted from local(8)'s log lines."""
        log = self.log()
        local = [l for l in log.splitlines() if "postfix/local[" in l]
        return (sum("status=sent" in l for l in local), sum("status=deferred" in l for l in local),
                sum("status=bounced" in l for l in local))

    def queue_files(self):
        """Messages still queued (incoming, active, deferred, maildrop, hold)."""
        n = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.queue, sub)):
                n += len(files)
        return n

    def lock_complaints(self):
        return len(re.findall(r"(?i)unable to lock|lock .* timeout|cannot (create|append)", self.log()))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
