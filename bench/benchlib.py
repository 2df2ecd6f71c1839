# SPDX-License-Identifier: GPL-2.0-or-later
"""benchlib - what bench/run's parts share: processes, ports, process-tree CPU and memory, mailboxes, figures.

Nothing here knows about a particular server; peers.py configures the servers and workloads.py
drives them.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# The owner of every test mailbox: Debian's "mail" account stands in for the "vmail" account an
# ISP's virtual users run as (a uid /etc/passwd knows, as in production).
MAIL_UID, MAIL_GID = pwd.getpwnam("mail")[2:4]
OWN_UID_BASE = 20000  # the uids (and gids) of the users with one of their own: no account needed
PASSWORD = "bench-password"


def say(msg):
    """Progress on stderr; the table alone goes to stdout."""
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


_handed_out = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now and that was not handed out
    before in this run (the kernel may offer a just-released port again)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise BenchError("no fresh free port on 127.0.0.1")


def listen_inodes(port):
    """The socket inodes listening on TCP port PORT (IPv4 or IPv6), from /proc/net."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        out.add(fields[9])
        except (OSError, StopIteration):
            continue
    return out


def socket_holders(inodes, pids=None):
    """The pids (of PIDS, or of every process) holding one of the socket INODES."""
    want = {"socket:[%s]" % i for i in inodes}
    out = []
    for pid in pids if pids is not None else [int(d) for d in os.listdir("/proc") if d.isdigit()]:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in want:
                    out.append(pid)
                    break
            except OSError:
                continue
    return out


def wait_port(port, timeout=120, proc=None):
    """Wait until something accepts on 127.0.0.1:PORT; with PROC, until PROC's own tree listens there.
    A connect alone is not enough after a restart: the old server's children may still hold the old
    listening socket, whose backlog accepts until they exit, while the new server is still starting
    (a private Postfix restarted on a loaded machine: every idle session was then refused).
    TIMEOUT only catches a server that hangs: under make check a start took over 20 s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError("process %s exited (%s) before listening on %d" % (proc.args[0], proc.returncode, port))
        if proc is not None:
            if socket_holders(listen_inodes(port), tree(proc.pid)):
                return
        else:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                pass
        time.sleep(0.05)
    raise BenchError("nothing of ours listens on 127.0.0.1:%d after %ss" % (port, timeout))


def wait_port_closed(port, timeout=60):
    """Wait until no socket listens on PORT: a stopped server's children may hold it a while."""
    deadline = time.time() + timeout
    while listen_inodes(port):
        if time.time() > deadline:
            raise BenchError("127.0.0.1:%d still listens %ss after its server stopped (pids %s)"
                             % (port, timeout, socket_holders(listen_inodes(port))))
        time.sleep(0.05)


def run(args, **kw):
    """subprocess.run that raises BenchError with the program's output on failure."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    r = subprocess.run(args, **kw)
    if r.returncode != 0:
        raise BenchError("%s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout or "", r.stderr or ""))
    return r


def parse_kv(line):
    """'a=1 b=x' -> {'a': 1.0, 'b': 'x'} (numbers as floats)."""
    out = {}
    for word in line.split():
        if "=" in word:
            k, v = word.split("=", 1)
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


# ---- processes --------------------------------------------------------------------------------

class Cleanup:
    """Everything started, stopped in reverse order on exit, error, Ctrl-C or SIGTERM."""

    def __init__(self):
        self.actions = []

    def add(self, what, fn):
        self.actions.append((what, fn))

    def run(self):
        while self.actions:
            what, fn = self.actions.pop()
            try:
                fn()
            except Exception as e:  # one failed stop must not keep the others running
                say("cleanup: %s: %s" % (what, e))


def on_signals_raise():
    """Turn SIGTERM and SIGHUP into SystemExit so the cleanup in main's finally runs."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def stop_process(proc, sig=signal.SIGTERM, timeout=20):
    """Signal a Popen we started and wait; SIGKILL (its process group too) if it will not end."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _ppid_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(root):
    """ROOT and all its descendants, as pids."""
    kids = _ppid_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


PERF_EVENTS = ("page-faults", "context-switches", "sched:sched_process_fork")


def perf_counts(root, fn):
    """FN() and {event: count} of ROOT's process tree meanwhile: perf stat attached to every process
    of the tree, whose counters the processes they fork inherit. {} when perf cannot count here."""
    perf = shutil.which("perf")
    if perf is None:
        return fn(), {}
    fd, path = tempfile.mkstemp(prefix="perf-", suffix=".csv")
    os.close(fd)
    # perf stat gives up when one of the pids is gone before it attaches ("Problems finding threads
    # of monitor"): a mailbox process ending its idle time between the listing and the attach lost
    # popgated's counts of a row. It is tried again on a fresh listing.
    for _ in range(5):
        pids = ",".join(str(p) for p in tree(root))
        proc = subprocess.Popen([perf, "stat", "-x", ",", "-o", path, "-e", ",".join(PERF_EVENTS), "-p", pids],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # perf attaches to each process before the workload starts; a benchmark, not a test
        if proc.poll() is None:
            break
    try:
        out = fn()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) >= 3 and parts[2] in PERF_EVENTS and parts[0].replace(".", "").isdigit():
                counts[parts[2]] = float(parts[0])
    os.unlink(path)
    return out, counts


def tree_cpu(root):
    """CPU seconds of ROOT's tree: every live process's own time plus that of the children it reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in tree(root):
        try:
            with open("/proc/%d/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / tick


def tree_memory(root):
    """(PSS kB, RSS kB, processes) of ROOT's tree. PSS shares a page among the processes that map it."""
    pss = rss = n = 0
    for pid in tree(root):
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                text = f.read()
        except OSError:
            continue
        m1, m2 = re.search(r"^Pss:\s+(\d+)", text, re.M), re.search(r"^Rss:\s+(\d+)", text, re.M)
        if m1 and m2:
            pss += int(m1.group(1))
            rss += int(m2.group(1))
            n += 1
    return pss, rss, n


def raise_nofile(n):
    """Let this process and its children hold N descriptors (1000 idle sessions, both ends)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(n, soft), hard) if hard != resource.RLIM_INFINITY else max(n, soft)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want) if hard != resource.RLIM_INFINITY else hard))
    return want


# ---- passwords and mailboxes ------------------------------------------------------------------

def sha512_crypt(password):
    """A sha512-crypt ($6$, 5000 rounds) hash made by OpenSSL."""
    return run(["openssl", "passwd", "-6", "-stdin"], input=password).stdout.strip()


def yescrypt(password, popgatectl):
    """A yescrypt ($y$, libxcrypt's default cost) hash made by popgatectl passwd."""
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    return run([popgatectl, "passwd"], input=password + "\n", env=env).stdout.strip()


def message(n, size):
    """An RFC 5322 message of about SIZE bytes with LF line ends, body lines of 76 characters."""
    head = ("From: Sender %d <sender%d@example.org>\nTo: <user@example.net>\nSubject: benchmark message %d\n"
            "Date: Mon, 16 Nov 2026 10:%02d:%02d +0000\nMessage-ID: <%d.bench@example.org>\n\n"
            % (n, n, n, (n // 60) % 60, n % 60, n)).encode()
    line = (b"%010d " % n) + b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-=\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


def write_mbox(path, count, size):
    """An mbox of COUNT messages of about SIZE bytes each, owned by the mail user."""
    with open(path, "wb", buffering=1 << 20) as f:
        for i in range(count):
            f.write(b"From sender%d@example.org Mon Nov 16 10:00:00 2026\n" % i)
            f.write(message(i, size))
            f.write(b"\n")
    os.chown(path, MAIL_UID, MAIL_GID)
    os.chmod(path, 0o600)


def write_maildir(path, count, size):
    """A Maildir of COUNT new messages of about SIZE bytes each, owned by the mail user."""
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    for i in range(count):
        name = os.path.join(path, "new", "%d.M%dP%d.bench" % (1795300000 + i, i, i))
        with open(name, "wb") as f:
            f.write(message(i, size))
    chown_tree(path)


def chown_tree(path):
    """Give PATH and everything under it to the mail user."""
    os.chown(path, MAIL_UID, MAIL_GID)
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            os.chown(os.path.join(root, n), MAIL_UID, MAIL_GID)


def copy_mailbox(src, dst):
    """An identical copy (every byte) for the other server: Dovecot rewrites mbox headers it adds."""
    if os.path.isdir(src):
        shutil.copytree(src, dst)
    else:
        shutil.copyfile(src, dst)
    chown_tree(dst) if os.path.isdir(dst) else os.chown(dst, MAIL_UID, MAIL_GID)


def make_cert(directory):
    """One self-signed ECDSA P-256 certificate and key both servers present."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert])
    os.chmod(key, 0o640)
    return cert, key


# ---- figures ----------------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_num(v, unit="", digits=None):
    """1234.5 -> '1,234'; small numbers keep a few significant digits."""
    if v is None:
        return "n/a"
    if v == 0:
        return "0" + (" " + unit if unit else "")
    if digits is None:
        digits = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2 if abs(v) >= 1 else 3
    text = "{:,.{d}f}".format(v, d=digits)
    return text + (" " + unit if unit else "")


def ratio(popgate, peer, higher_better=True):
    """popgate's advantage as a factor (> 1 means popgate is better), or None."""
    if popgate is None or peer is None or popgate <= 0 or peer <= 0:
        return None
    return popgate / peer if higher_better else peer / popgate


def machine():
    """nproc, CPU model, memory and kernel, for BENCHMARKS.md."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            model = m.group(1).strip() if m else model
        with open("/proc/meminfo") as f:
            mem_kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    except (OSError, AttributeError):
        mem_kb = 0
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gib": mem_kb / 1048576, "kernel": os.uname().release,
            "load": os.getloadavg()}
