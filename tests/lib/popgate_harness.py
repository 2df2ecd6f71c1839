# SPDX-License-Identifier: GPL-2.0-or-later
"""popgate_harness - run the real popgated on free 127.0.0.1 ports for integration tests.

    import popgate_harness as h

    class T(h.TestCase):
        def test_login(self):
            with h.Popgated(self, config={"pop3": {"plaintext_auth": "always"}}) as d:
                d.add_user("alice", "secret", kind="mbox", messages=[b"Subject: hi\\n\\nbody\\n"])
                d.start()
                p = poplib.POP3("127.0.0.1", d.port("pop3"))
                ...

    if __name__ == "__main__":
        h.main()

Popgated writes a config into a private temporary directory (server.state_dir, pid file, relay
database, mailboxes, users), picks free ports for every listener (pop3, pop3s, smtp, smtps,
admin), starts `src/popgated -F -f CONF`, waits for its "ready" log line, and on exit stops it with
SIGTERM and checks it ended cleanly. Ports are only ever on 127.0.0.1.

Environment: POPGATE_BUILDDIR, POPGATE_SRCDIR (set by `make check`), POPGATE_KEEP=1 keeps the
temporary directory for a post-mortem.
"""

import os
import poplib
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILDDIR = os.environ.get("POPGATE_BUILDDIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SRCDIR = os.environ.get("POPGATE_SRCDIR", BUILDDIR)
POPGATED = os.path.join(BUILDDIR, "src", "popgated")
POPGATECTL = os.path.join(BUILDDIR, "src", "popgatectl")
IS_ROOT = os.geteuid() == 0


def _sanitized():
    try:
        with open(POPGATED, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# An ASan/UBSan build forks and serves 2-3 times slower: latency bounds in tests scale by this.
SANITIZED = _sanitized()
SLOWDOWN = 3.0 if SANITIZED else 1.0
SKIP = 77

TestCase = unittest.TestCase

LISTENERS = {  # name -> config key
    "pop3": ("pop3", "listen"),
    "pop3s": ("pop3", "listen_tls"),
    "smtp": ("smtp", "listen"),
    "smtps": ("smtp", "listen_tls"),
    "admin": ("admin", "listen"),
}


_handed_out = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now and this process has not handed
    out before: the kernel may offer a just-released port again, and two listeners of one daemon
    on the same port make it refuse its config."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no fresh free port on 127.0.0.1")


def run_user():
    """The user sessions run as: nobody when the tests run as root, else the invoking user."""
    return "nobody" if IS_ROOT else pwd.getpwuid(os.geteuid()).pw_name


def login_user():
    """server.login_user, what protocol children run as: as root a user of Debian's base-passwd
    that every fresh Debian 12 machine has, that owns nothing of popgate's and has a group of its
    own, as popgate-login is (not nobody: server.user; not popgate-login itself, which
    test_debian_package must see made by the package); else the invoking user, as server.user."""
    return "irc" if IS_ROOT else pwd.getpwuid(os.geteuid()).pw_name


def crypt_hash(password):
    """A sha512-crypt hash made by OpenSSL, independent of the code under test."""
    out = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password.encode(),
                         capture_output=True, check=True)
    return out.stdout.decode().strip()


def mbox_message(n, sender="sender@example.org", body=None):
    """A small RFC 5322 message in mbox form (From_ line first), with LF line ends."""
    body = body if body is not None else ("message %d\n" % n).encode()
    return (b"From %s Mon Nov 16 10:00:%02d 2026\n" % (sender.encode(), n % 60)
            + b"From: <%s>\nTo: <user@example.org>\nSubject: test %d\nMessage-ID: <%d@test>\n\n"
            % (sender.encode(), n, n) + body + b"\n")


def make_cert(directory):
    """A self-signed ECDSA P-256 certificate and key for 127.0.0.1 / localhost in DIRECTORY."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "30", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        os.chmod(key, 0o644)  # the tests' own throwaway key; the daemon reads it before dropping root
    return cert, key


class Popgated:
    """One popgated instance under test. Use as a context manager; call start() after setup."""

    def __init__(self, test=None, config=None, tls=False, listeners=("pop3", "smtp", "admin")):
        self.test = test
        self.dir = tempfile.mkdtemp(prefix="popgate-test-")
        os.chmod(self.dir, 0o755)  # sessions run as nobody and must reach their mailboxes
        self.user = run_user()
        pw = pwd.getpwnam(self.user)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.login_user = login_user()
        pw = pwd.getpwnam(self.login_user)
        self.login_uid, self.login_gid = pw.pw_uid, pw.pw_gid
        self.conf_path = os.path.join(self.dir, "popgate.conf")
        self.log_path = os.path.join(self.dir, "popgated.log")
        self.passwd_path = os.path.join(self.dir, "users.passwd")
        self.ports = {}
        self.proc = None
        self.env = None  # popgated's environment (e.g. NOTIFY_SOCKET); None: the test's own
        self.users = []
        self.tls = tls or any(n.endswith("s") for n in listeners)
        wanted = set(listeners) | ({"pop3s", "smtps"} if tls else set())
        for name in LISTENERS:
            self.ports[name] = free_port() if name in wanted else None
        self.config = self._base_config()
        for section, keys in (config or {}).items():
            self.config.setdefault(section, {}).update(keys)

    # ---- configuration -------------------------------------------------------------------------
    def _base_config(self):
        state = os.path.join(self.dir, "state")
        # shutdown_timeout: a session whose client is still connected when a test stops popgated
        # lasts the whole grace, so a test's stop waits for it. 2 s, not less: the workers must
        # exit (and LeakSanitizer check them) within it, and one needed over 1 s on a loaded
        # machine. test_shutdown and test_master set their own to test it.
        cfg = {
            "server": {"hostname": "popgate.test", "user": self.user, "login_user": self.login_user,
                       "state_dir": state, "pid_file": os.path.join(self.dir, "popgated.pid"),
                       "log_level": "debug", "shutdown_timeout": "2s"},
            "auth": {"backend": "file", "passwd_file": self.passwd_path, "fail_delay": "0"},
            "relay": {"db_dir": os.path.join(state, "relay")},
            "smtp": {"forward": "sendmail:/bin/false"},
        }
        for name, (section, key) in LISTENERS.items():
            port = self.ports[name]
            cfg.setdefault(section, {})[key] = "127.0.0.1:%d" % port if port else ""
        if self.tls:
            cert, key = make_cert(self.dir)
            cfg["tls"] = {"cert_file": cert, "key_file": key}
        return cfg

    def config_text(self):
        lines = ["; written by popgate_harness for %s" % (self.test.id() if self.test else "a test")]
        for section, keys in self.config.items():
            lines.append("[%s]" % section)
            for k, v in keys.items():
                lines.append("%s = %s" % (k, v))
        return "\n".join(lines) + "\n"

    def write_config(self, text=None):
        with open(self.conf_path, "w") as f:
            f.write(text if text is not None else self.config_text())
        if not os.path.exists(self.passwd_path):
            self._write_passwd()

    def _write_passwd(self):
        with open(self.passwd_path, "w") as f:
            for name, pwhash, mailbox in self.users:
                f.write("%s:%s:%s\n" % (name, pwhash, mailbox))
        os.chmod(self.passwd_path, 0o644)

    def add_user(self, name, password, kind="mbox", messages=()):
        """A virtual user of the file backend with a mailbox holding MESSAGES (bytes, mbox form for mbox)."""
        path = os.path.join(self.dir, "mail", name if kind == "mbox" else name + ".maildir")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.chmod(os.path.dirname(path), 0o1777)
        if kind == "mbox":
            with open(path, "wb") as f:
                for m in messages:
                    f.write(m)
            os.chown(path, self.uid, self.gid) if IS_ROOT else None
            os.chmod(path, 0o600)
        else:
            for sub in ("new", "cur", "tmp"):
                os.makedirs(os.path.join(path, sub), exist_ok=True)
            for i, m in enumerate(messages):
                with open(os.path.join(path, "new", "%d.M%dP1.popgate.test" % (1700000000 + i, i)), "wb") as f:
                    f.write(m)
            if IS_ROOT:
                for root, dirs, files in os.walk(path):
                    for n in dirs + files:
                        os.chown(os.path.join(root, n), self.uid, self.gid)
                os.chown(path, self.uid, self.gid)
        self.users.append((name, crypt_hash(password), "%s:%s" % (kind, path)))
        self._write_passwd()
        return path

    # ---- lifecycle ---------------------------------------------------------------------------
    def port(self, name):
        return self.ports[name]

    def start(self, wait=True, expect_fail=False):
        self.write_config()
        self._logf = open(self.log_path, "ab")
        mark = len(self.log())  # a restart must wait for its own ready line, not the last run's
        self.proc = subprocess.Popen([POPGATED, "-F", "-f", self.conf_path], stdout=self._logf,
                                     stderr=subprocess.STDOUT, env=self.env)
        if wait:
            self.wait_for_log(r"ready on", timeout=20, start=mark)
        return self

    def wait_for_log(self, pattern, timeout=10, start=0):
        """Wait until the log (from offset START) matches PATTERN; return the match."""
        deadline = time.time() + timeout
        rx = re.compile(pattern)
        while time.time() < deadline:
            m = rx.search(self.log()[start:])
            if m:
                return m
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError("popgated exited (%s) before logging %r:\n%s"
                                     % (self.proc.returncode, pattern, self.log()))
            time.sleep(0.05)
        raise AssertionError("popgated never logged %r within %ss:\n%s" % (pattern, timeout, self.log()))

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._logf.close()
                self.proc = None
                return None
        rc = self.proc.returncode
        self._logf.close()
        self.proc = None
        return rc

    def ctl(self, *args, check=True, input=None):
        """Run popgatectl against this instance's config; returns the CompletedProcess."""
        # As root popgatectl seteuids to the database owner, which makes it undumpable, and
        # LeakSanitizer cannot inspect an undumpable process: leak checks stay with the unit tests.
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        r = subprocess.run([POPGATECTL, "-f", self.conf_path] + list(args), capture_output=True,
                           text=True, input=input, env=env)
        if check and r.returncode != 0:
            raise AssertionError("popgatectl %s failed (%d): %s%s" % (" ".join(args), r.returncode,
                                                                   r.stdout, r.stderr))
        return r

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        rc = self.stop()
        log = self.log()
        if os.environ.get("POPGATE_KEEP"):
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if exc_type is None and rc not in (0, None):
            raise AssertionError("popgated exited with status %s:\n%s" % (rc, log))
        if exc_type is None and ("runtime error:" in log or "AddressSanitizer" in log):
            raise AssertionError("sanitizer report in the daemon's log:\n%s" % log)
        if exc_type is not None:
            sys.stderr.write("---- popgated log ----\n%s\n" % log)
        return False


def descendants(root):
    """ROOT and every process below it, from /proc."""
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    kids.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(p))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def proc_state(pid):
    """PID's state letter from /proc/PID/stat (R, S, D, T for stopped, Z for a zombie...)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def proc_status(pid):
    """/proc/PID/status as {field: its words}, e.g. proc_status(p)["Uid"] == ["0", "0", "0", "0"]."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def hold_still(pids, timeout=30):
    """SIGSTOP each of PIDS and wait until each is stopped: the signal is delivered asynchronously,
    and a test that goes on before then races the process it meant to hold."""
    deadline = time.time() + timeout * SLOWDOWN
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    for p in pids:
        while proc_state(p) != "T":
            if time.time() > deadline:
                raise AssertionError("pid %d never stopped" % p)
            time.sleep(0.01)


def gone(pid):
    """Whether PID has exited (a zombie counts)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):  # reaped before the open, or between open and read
        return True


def socket_inodes(pid):
    """The inodes of PID's sockets."""
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(int(link[8:-1]))
    return out


def unix_peers():
    """{inode: peer inode} of every connected unix socket, from ss."""
    peers = {}
    for line in subprocess.run(["ss", "-xaH"], capture_output=True, text=True, check=True).stdout.splitlines():
        f = line.split()
        # Netid State Recv-Q Send-Q Local-Address Local-Port Peer-Address Peer-Port
        if len(f) >= 8 and f[5].isdigit() and f[7].isdigit() and f[7] != "0":
            peers[int(f[5])] = int(f[7])
    return peers


def need(*programs):
    """Skip the whole test program (exit 77) when a client program is not installed."""
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        print("SKIP: not installed: %s" % ", ".join(missing))
        sys.exit(SKIP)


def main():
    """Run the unittest cases of __main__ and exit 0 or 1 for automake."""
    if not os.path.exists(POPGATED):
        print("popgated not built at %s" % POPGATED)
        sys.exit(99)
    prog = unittest.main(exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)


class SourcePOP3(poplib.POP3):
    """poplib from a chosen source address on 127.0.0.0/8."""

    def __init__(self, host, port, source, timeout=20):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self._source, 0))


def pop_login(d, source, user="alice", password="secret"):
    """A POP3 login (USER/PASS, then QUIT) to D from SOURCE: it authorizes SOURCE to relay."""
    pop = SourcePOP3("127.0.0.1", d.port("pop3"), source)
    pop.user(user)
    pop.pass_(password)
    pop.quit()


# What a session logs when its login's authorization was not written (relaydb/login.c), and the
# reason it gives when a kill -9 of the daemon took the login channel's every reader first.
UNRECORDED = r" ip=%s user=\S+ authorization not recorded: (.*)"
CHANNEL_GONE = "no lookup worker or master holds the login channel any more"


def unrecorded_logins(log, addresses):
    """{address: [reasons]} of ADDRESSES whose authorization LOG says was not recorded. A kill -9
    can take the lookup worker a moment before the session monitor, which then answers +OK, as
    every login does whose authorization cannot be written: told, not lost (TESTING.md finding 12)."""
    told = {}
    for a in addresses:
        reasons = re.findall(UNRECORDED % re.escape(a), log)
        if reasons:
            told[a] = reasons
    return told
