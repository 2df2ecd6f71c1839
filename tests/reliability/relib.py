# SPDX-License-Identifier: GPL-2.0-or-later
"""relib - what the reliability tests share: a popgated in its own process group, its process
tree, clients bound to chosen 127.x.y.z source addresses, a raw POP3 client, small tmpfs mounts,
temporary system users, and the one-line tally every test prints.

    import relib as r
    with r.Daemon(self, config={...}) as d:      # popgate_harness.Popgated, own session
        d.start()
        s = r.Pop3(d.port("pop3"), source="127.0.0.7")
        ...
        r.tally(self, "postfix local", checked=300, lost=0, changed=0)

Everything listens and connects on 127.0.0.0/8 only. Root-only helpers (tmpfs, useradd) raise
unittest.SkipTest when not root or when the kernel refuses.
"""

import contextlib
import hashlib
import os
import pwd
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import popgate_harness as h  # noqa: E402

MSGID = re.compile(rb"^Message-ID: <([^>]+)>\r?$", re.M | re.I)
DIGEST = re.compile(rb"^X-Body-SHA256: ([0-9a-f]{64})\r?$", re.M)


def tally(test, what, checked, lost=0, changed=0, **extra):
    """Print the result line every reliability test ends with; fail on any loss or change."""
    more = "".join(", %s %s" % (k.replace("_", " "), v) for k, v in extra.items())
    line = "%s: checked %d messages, %d lost, %d changed%s" % (what, checked, lost, changed, more)
    print("\n" + line, flush=True)
    test.assertEqual((lost, changed), (0, 0), line)
    return line


def need_root():
    if not h.IS_ROOT:
        raise unittest.SkipTest("needs root")


# ---- messages -------------------------------------------------------------------------------------
def make_body(rng, n, size=None):
    """A body of about SIZE bytes (random if None) that ends with LF; lines under 100 octets."""
    size = size if size is not None else rng.choice([40, 300, 2000, 20000, 120000])
    lines, total, i = [], 0, 0
    while total < size:
        line = b"%d.%d %s\n" % (n, i, bytes(rng.choice(b"abcdefghij .,-") for _ in range(rng.randint(0, 70))))
        if line.startswith(b"From ") or line.startswith(b"."):
            line = b">" + line
        lines.append(line)
        total += len(line)
        i += 1
    return b"".join(lines)


def rfc822(msgid, body, sender="sender@example.org", rcpt="user@example.org"):
    """Headers naming MSGID and the body's SHA-256, so a copy is checked wherever it ends up."""
    return (b"From: <%s>\nTo: <%s>\nSubject: reliability %s\nMessage-ID: <%s>\nX-Body-SHA256: %s\n\n"
            % (sender.encode(), rcpt.encode(), msgid.encode(), msgid.encode(),
               hashlib.sha256(body).hexdigest().encode()) + body)


def check_copy(data):
    """(msgid, intact) for a retrieved message (CRLF or LF form); msgid None if unrecognisable."""
    data = data.replace(b"\r\n", b"\n")
    m, dg = MSGID.search(data), DIGEST.search(data)
    if m is None or dg is None or b"\n\n" not in data:
        return None, False
    body = data.split(b"\n\n", 1)[1]
    return m.group(1).decode(), hashlib.sha256(body).hexdigest() == dg.group(1).decode()


def wire(mbox_msg):
    """What RETR returns for MBOX_MSG (one harness mbox message): no From_ line, CRLF, unstuffed."""
    return mbox_msg.split(b"\n", 1)[1].rstrip(b"\n").replace(b"\n", b"\r\n") + b"\r\n"


def mbox_split(data):
    """The messages of an mbox written by an MDA: From_ lines and separating blank lines removed."""
    out = []
    for part in data.split(b"\nFrom "):
        part = part.split(b"\n", 1)[1] if b"\n" in part else b""
        if part.endswith(b"\n\n"):
            part = part[:-1]
        if part:
            out.append(part)
    return out


def mbox_deliver(path, message, timeout=30):
    """Append MESSAGE (mbox form, From_ line first) to the mbox at PATH as Debian's MDAs do:
    a dotlock first (PATH.lock, made atomically with link), then an fcntl lock on the file."""
    import fcntl
    lock = path + ".lock"
    tmp = "%s.%d.%d" % (lock, os.getpid(), random.randrange(10 ** 9))
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    deadline = time.time() + timeout
    try:
        while True:
            try:
                os.link(tmp, lock)
                break
            except FileExistsError:
                if time.time() > deadline:
                    raise TimeoutError("%s: dotlock held for %ds" % (path, timeout))
                time.sleep(0.01)
    finally:
        os.unlink(tmp)
    try:
        with open(path, "ab") as f:
            fcntl.lockf(f, fcntl.LOCK_EX)
            f.write(message)
            f.flush()
            os.fsync(f.fileno())
            fcntl.lockf(f, fcntl.LOCK_UN)
    finally:
        os.unlink(lock)


def maildir_deliver(path, message, uid=None, gid=None):
    """Deliver MESSAGE into the Maildir at PATH: written in tmp/, renamed into new/."""
    name = "%d.M%dP%d.reliability" % (time.time(), random.randrange(10 ** 9), os.getpid())
    tmp = os.path.join(path, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(message)
    if uid is not None:
        os.chown(tmp, uid, gid)
    os.rename(tmp, os.path.join(path, "new", name))


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


# ---- processes --------------------------------------------------------------------------------------
def proc_table():
    """{pid: (ppid, uid-list, name)} of every process, from /proc."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/status" % p) as f:
                st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
            out[int(p)] = (int(st["PPid"]), st["Uid"].split(), st["Name"])
        except (OSError, KeyError, ValueError):
            continue
    return out


def descendants(root, table=None):
    """ROOT and every process below it."""
    table = table if table is not None else proc_table()
    kids = {}
    for pid, (ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        if p in table or p == root:
            out.append(p)
            todo.extend(kids.get(p, []))
    return out


status = h.proc_status  # /proc/PID/status as {key: [fields]}


def rss_kib(pid):
    try:
        return int(status(pid)["VmRSS"][0])
    except (OSError, KeyError, IndexError, ValueError):
        return 0


def start_time(pid):
    """PID's start time in clock ticks (None if gone): tells a process from a later one reusing its pid."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid, started):
    """Whether PID is still the process that started at STARTED and has not exited (an exited
    child of ours, adopted as subreaper, is reaped on the way)."""
    reap(pid)
    if started is None or start_time(pid) != started:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_same(pid, started):
    """SIGKILL PID only if it is still the process that started at STARTED."""
    if started is not None and start_time(pid) == started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def become_subreaper():
    """Orphaned daemon processes become our children (this machine's init may not reap them)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


become_subreaper()


def reap(pid):
    """Collect PID's exit status if it is our child (an orphan we adopted); never blocks."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def pss_kib(pid):
    """Proportional set size: shared pages divided among their users, so a sum over processes
    is the memory they really take (RSS would count the shared libraries once per process)."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def wait_dead(pid, timeout=10):
    """Until PID is a zombie or gone (its locks are released by then); adopted zombies are reaped."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        reap(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.01)
    raise AssertionError("process %d did not die" % pid)


class Daemon(h.Popgated):
    """popgated in a session and process group of its own, so that a test can kill all of it."""

    def start(self, wait=True, expect_fail=False, cwd=None, env=None, wrap=()):
        """As Popgated.start; WRAP is a command popgated runs under (setpriv's, say)."""
        self.write_config()
        self._logf = open(self.log_path, "ab")
        mark = len(self.log())
        self.proc = subprocess.Popen(list(wrap) + [h.POPGATED, "-F", "-f", self.conf_path], stdout=self._logf,
                                     stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd, env=env)
        if wait:
            self.wait_for_log(r"ready on", timeout=30, start=mark)
        return self

    def pids(self):
        """The master and every process below it."""
        return descendants(self.proc.pid) if self.proc is not None else []

    def stop(self, timeout=20):
        """As Popgated.stop; then anything of this instance still alive (a stuck worker whose
        master was killed after the timeout) is killed too, so no test leaves processes behind."""
        seen = [(p, start_time(p)) for p in self.pids()]
        rc = super().stop(timeout)
        for p, started in seen:
            kill_same(p, started)
            if started is not None:
                wait_dead(p)
        return rc

    def kill_all(self):
        """kill -9 of the master, its process group and every session, as a crash or the OOM
        killer would; returns how many processes died. Sessions lead groups of their own."""
        killed = set()
        for _ in range(50):
            pids = [(p, start_time(p)) for p in self.pids() if p not in killed]
            if not pids:
                break
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for p, started in pids:
                kill_same(p, started)
                killed.add(p)
        self.proc.wait(10)
        self._logf.close()
        self.proc = None
        # A process forked at the last moment is orphaned and adopted by us (the subreaper).
        for pid, (ppid, _, name) in proc_table().items():
            if ppid == os.getpid() and name == "popgated" and pid not in killed:
                kill_same(pid, start_time(pid))
                killed.add(pid)
        for p in killed:
            wait_dead(p)
        return len(killed)


# ---- clients ---------------------------------------------------------------------------------------
def connect(port, source=None, timeout=10):
    """A TCP connection to 127.0.0.1:PORT from SOURCE (an address in 127.0.0.0/8) if given."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source is not None:
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def source_ip(i):
    """The I-th distinct loopback source address, 127.1.x.y (never 127.0.0.1)."""
    return "127.1.%d.%d" % (1 + i // 250, 1 + i % 250)


class Pop3Error(Exception):
    pass


class Pop3:
    """A raw POP3 client: exact lines, multi-line replies unstuffed, errors as Pop3Error."""

    def __init__(self, port, source=None, timeout=30):
        self.sock = connect(port, source, timeout)
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()
        if not self.greeting.startswith(b"+OK"):
            raise Pop3Error(self.greeting.decode("ascii", "replace"))

    def line(self):
        line = self.f.readline(4096)
        if not line.endswith(b"\r\n"):
            raise EOFError("connection closed: %r" % line)
        return line[:-2]

    def cmd(self, text, multi=False):
        self.sock.sendall(text.encode() + b"\r\n")
        first = self.line()
        if not first.startswith(b"+OK"):
            raise Pop3Error("%s: %s" % (text.split()[0], first.decode("ascii", "replace")))
        if not multi:
            return first
        out = []
        while True:
            line = self.line()
            if line == b".":
                return out
            out.append(line[1:] if line.startswith(b".") else line)

    def login(self, user, password):
        self.cmd("USER " + user)
        return self.cmd("PASS " + password)

    def uidl(self):
        """{number: uid}."""
        return {int(a): b.decode() for a, b in (l.split() for l in self.cmd("UIDL", multi=True))}

    def retr(self, n):
        return b"".join(l + b"\r\n" for l in self.cmd("RETR %d" % n, multi=True))

    def close(self):
        with contextlib.suppress(OSError):
            self.f.close()
            self.sock.close()


def quick_login(d, source, user="alice", password="secret", retr=True):
    """A whole POP3 session on D from SOURCE: login, RETR 1, QUIT; returns its duration in seconds."""
    t0 = time.time()
    c = Pop3(d.port("pop3"), source=source, timeout=10)
    try:
        c.login(user, password)
        if retr:
            c.retr(1)
        c.cmd("QUIT")
    finally:
        c.close()
    return time.time() - t0


# ---- root-only fixtures ----------------------------------------------------------------------------
@contextlib.contextmanager
def tmpfs(path, size):
    """A tmpfs of SIZE (e.g. "2m") mounted on PATH for the block; skips when mounting is refused."""
    need_root()
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise unittest.SkipTest("cannot mount a tmpfs here: %s" % r.stderr.strip())
    try:
        yield path
    finally:
        if subprocess.run(["umount", path], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", path], capture_output=True)


def fill(directory, leave=0):
    """Fill DIRECTORY's filesystem until at most LEAVE bytes are free; returns the filler path."""
    path = os.path.join(directory, ".filler")
    with open(path, "ab") as f:
        chunk = b"\0" * 65536
        while True:
            st = os.statvfs(directory)
            free = st.f_bavail * st.f_frsize
            if free <= leave:
                break
            try:
                f.write(chunk[:max(1, min(len(chunk), free - leave))])
                f.flush()
            except OSError:
                break
    return path


class SystemUsers:
    """Temporary system users made with useradd (uids from the normal range), removed on exit."""

    def __init__(self, test, count, password="Rel-pass 1", prefix="pgr"):
        need_root()
        h.need("useradd", "userdel", "chpasswd")
        self.password = password
        self.names = []
        tag = "%05d" % random.randrange(10 ** 5)
        for i in range(count):
            name = "%s%s%02d" % (prefix, tag, i)
            subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name], check=True,
                           capture_output=True)
            test.addCleanup(subprocess.run, ["userdel", name], capture_output=True)
            self.names.append(name)
        subprocess.run(["chpasswd"], input="".join("%s:%s\n" % (n, password) for n in self.names).encode(),
                       check=True, capture_output=True)

    def pw(self, name):
        return pwd.getpwnam(name)


def spool_dir(parent):
    """A Debian-style mail spool (root:mail 2775, like /var/mail) under PARENT."""
    import grp
    path = os.path.join(parent, "spool")
    os.makedirs(path, exist_ok=True)
    os.chown(path, 0, grp.getgrnam("mail").gr_gid)
    os.chmod(path, 0o2775)
    return path


def scratch(prefix="popgate-rel-"):
    """A private temporary directory other users may traverse."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    return d
