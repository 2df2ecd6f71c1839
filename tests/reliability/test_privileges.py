# SPDX-License-Identifier: GPL-2.0-or-later
"""test_privileges - who each popgated process is, and what it could do if it were subverted.

With popgated started as root, system users (useradd) and a Debian-style spool (root:mail 2775):
- after binding, no process of popgated runs as root: real, effective, saved and filesystem
  uid and gid, supplementary groups and capabilities, for the master, both workers and every
  session process (pre-login monitor and protocol child, POP3 post-login, SMTP);
- the admin worker cannot write, create, rename or remove anything in the mail spool: each is
  tried for real in a process holding exactly its credentials (uids, gids, groups);
- the POP3 post-login process runs as the mailbox owner (its own uid, not server.user), with
  group mail for the dotlock and no capability, and cannot read or write another user's mbox;
- a protocol child (which reads the network) shares no socket or pipe with the master, and a
  process that gets hold of the master's report channel cannot speak for another session: forged
  failed logins naming a live session do not lock its address out, a torn record does not upset
  the channel, and real failures still lock an address out.
- what docs/ARCHITECTURE.md says each process can and cannot do, tried with its exact
  credentials: the master keeps exactly six capabilities and the session monitors the same, the
  auth worker CAP_DAC_READ_SEARCH alone, the other workers none; neither a protocol child nor the mailbox process can read /etc/shadow, another
  user's mailbox or the memory of a process that left root; the mailbox process reaches none of
  server.user's sockets, files or processes; and what a subverted protocol child CAN do as
  server.user, asserted too so that the document and the test change together: signal every
  popgated process, write the relay database and server.state_dir; it cannot have the lookup
  worker authorize an address (lookup.sock refuses a login record and logs it: logins come only
  on the monitors' login channel), nor read popgate-admind's memory; nor read, write, replace or
  remove server.state_dir's files (the blocks file, audit.log, the admin page's session file, each
  made first), nor hold the blocks writers' lock, nor read admin.users_file;
- the master reads no byte from a client connection: strace on the master while POP3, SMTP and
  PROXY-protocol clients run sees it accept and close each one, read only its own channels;
- no session runs as root: auth.passwd_file refuses a line naming uid 0 (file:line), and an auth
  worker's answer naming it (the test answering on the worker's end) is refused by the mailbox
  process; strace -f sees no session process become uid 0, and every protocol child check that
  setuid(0) fails after its drop;
- the auth worker (issue 15) is the only process besides them that may check a password: session
  monitors hold its channel; protocol children, the mailbox process and the other workers do not,
  a protocol child cannot take its monitor's, and the worker refuses a request from another uid;
- the PROXY header is read before the split, by a process holding the master's capabilities.
- popgate-admind and popgate-dracd: server.user, no capability, not dumpable; the sendmail of
  smtp.forward: server.user, no capability, descriptors 0-2 only, PATH alone; the systemd unit's
  bounding set holds the master's six capabilities.
It also reports (without failing) whether that process could remove another user's mailbox:
the spool's mode decides (Debian's /var/mail is 2775, without the sticky bit); with the sticky
bit (3775) it cannot, and popgate's own updates still work.
Needs root; skipped otherwise.
"""

import ctypes
import errno
import fcntl
import grp
import http.client
import json
import mmap
import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import relib as r
from relib import quick_login

import admin_helpers as ah
import popgate_harness as h
import smtp_helpers as sh

if not h.IS_ROOT:
    print("SKIP: needs root")
    sys.exit(h.SKIP)

STRACE = shutil.which("strace")
# Every call that takes bytes from a descriptor (splice and the p* ones included, whatever the kind).
READ_CALLS = ("read", "readv", "recvfrom", "recvmsg", "recvmmsg", "pread64", "preadv", "preadv2", "splice")


# CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_SYS_PTRACE, CAP_SYS_ADMIN: any of them reaches every mailbox.
DANGEROUS = (1 << 1) | (1 << 3) | (1 << 19) | (1 << 21)

# CHOWN, DAC_READ_SEARCH, KILL, SETGID, SETUID, NET_BIND_SERVICE: what the master keeps (src/master/privdrop.c).
KEPT_CAPS = (1 << 0) | (1 << 2) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 10)
CAP_DAC_READ_SEARCH = 1 << 2  # the auth worker's one capability (src/auth/auth_worker.c)
CAP_NAMES = {0: "CAP_CHOWN", 2: "CAP_DAC_READ_SEARCH", 5: "CAP_KILL", 6: "CAP_SETGID", 7: "CAP_SETUID",
             10: "CAP_NET_BIND_SERVICE"}  # linux/capability.h

# The sendmail of smtp.forward, standing in: records what it was started with, then takes the message.
SENDMAIL_STANDIN = """#!%s
import json, os, sys
fds = {}
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink("/proc/self/fd/" + fd)
    except OSError:
        continue  # the listing's own descriptor, closed meanwhile
    if not (target.startswith("/proc/") and target.endswith("/fd")):
        fds[fd] = target
st = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
with open("/proc/self/environ", "rb") as f:
    env = [e.decode() for e in f.read().split(b"\\0") if e]
sys.stdin.buffer.read()
out = os.path.join(%r, "run.json")
with open(out + ".tmp", "w") as f:
    json.dump({"uid": [int(x) for x in st["Uid"].split()], "capprm": int(st["CapPrm"], 16),
               "capeff": int(st["CapEff"], 16), "fds": fds, "env": env}, f)
os.rename(out + ".tmp", out)
"""


def strace_calls(path):
    """[(pid, call, arguments, result)] from strace's output file PATH (pid None without -f); a call
    split by another process's (<unfinished ...>, then <... resumed>) is put back together."""
    calls, split = [], {}
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines:
        pid, _, rest = line.partition(" ") if line[:1].isdigit() else (None, "", line)
        rest = rest.strip()
        if rest.endswith("<unfinished ...>"):
            split[pid] = rest[:-len("<unfinished ...>")].rstrip()
            continue
        m = re.match(r"<\.\.\. \w+ resumed>(.*)$", rest)
        if m:
            rest = split.pop(pid, "") + m.group(1)
        m = re.match(r"(\w+)\((.*)\) += (.*)$", rest)
        if m:
            calls.append((int(pid) if pid else None, m.group(1), m.group(2), m.group(3)))
    return calls


def spool_mailbox(d, users, name, data, mode=0o600):
    """Serve D's system users from a Debian-style spool, and put NAME's mbox (DATA) there: NAME's,
    group mail, MODE. Its path."""
    spool = r.spool_dir(d.dir)
    d.config["auth"]["system_mailbox"] = "mbox:%s/%%u" % spool
    path = os.path.join(spool, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chown(path, users.pw(name).pw_uid, grp.getgrnam("mail").gr_gid)
    os.chmod(path, mode)
    return path


def creds(pid):
    """(uids, gids, groups, CapPrm, CapEff) of PID from /proc."""
    st = r.status(pid)
    return ([int(x) for x in st["Uid"]], [int(x) for x in st["Gid"]], [int(x) for x in st.get("Groups", [])],
            int(st["CapPrm"][0], 16), int(st["CapEff"][0], 16))


def attempt(pid_creds, action):
    """Run ACTION() in a child holding exactly PID_CREDS' uid, gid and groups (no capabilities);
    0 when it succeeded, else the errno it failed with."""
    uids, gids, groups, _, _ = pid_creds
    child = os.fork()
    if child == 0:
        code = 0
        try:
            os.setgroups(groups)
            os.setresgid(gids[0], gids[1], gids[2])
            os.setresuid(uids[0], uids[1], uids[2])
            action()
        except OSError as e:
            code = e.errno or 1
        except BaseException:
            code = 250
        os._exit(code)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def write_append(path):
    def go():
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.close(fd)
    return go


def read(path):
    def go():
        with open(path, "rb") as f:
            f.read(1)
    return go


def rename_over(own_dir, target):
    """Replace TARGET by a file made in OWN_DIR (the acting user's, on TARGET's filesystem), as an
    atomic update would."""
    def go():
        mine = os.path.join(own_dir, "replacement")
        os.close(os.open(mine, os.O_CREAT | os.O_WRONLY, 0o644))
        os.rename(mine, target)
    return go


def hold_lock(path):
    """Take PATH's flock exclusively without waiting, through a read-only descriptor (all flock needs)."""
    def go():
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    return go


def connect_unix(path, kind):
    def go():
        s = socket.socket(socket.AF_UNIX, kind)
        try:
            s.connect(path)
        finally:
            s.close()
    return go


def forge_login(lookup_sock, ip):
    """Ask the relay lookup worker through lookup.sock to record a POP login from IP (struct
    relay_login_req, src/relaydb/lookup_wire.h); succeeds only when it answers that it recorded it,
    fails with ECONNRESET when the worker hangs up instead."""
    def go():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(20)
        try:
            s.connect(lookup_sock)
            s.send(ipc_frame(IPC_RELAY_LOGIN, struct.pack("=46s128s16s", ip.encode(), b"forged", b"pop3")))
            answer = s.recv(64)
        finally:
            s.close()
        if answer == b"":
            raise OSError(errno.ECONNRESET, "refused: the worker hung up")
        magic, kind, _, result = struct.unpack("=IIIi", answer)
        if (magic, kind, result) != (IPC_MAGIC, IPC_RELAY_LOGIN_REP, 0):
            raise OSError(errno.EPROTO, "not recorded: %x %d %d" % (magic, kind, result))
    return go


def control_refused(control_sock):
    """Ask control.sock to lift lockouts; succeeds only when the master refuses."""
    def go():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.settimeout(20)
        try:
            s.bind("")
            s.connect(control_sock)
            s.send(b"unlock 127.3.4.1")
            answer = s.recv(4096)
        finally:
            s.close()
        if answer != b"error only root and the admin page may ask\n":
            raise OSError(errno.EPROTO, answer.decode(errors="replace"))
    return go


def relay_answer(d, source):
    """The SMTP reply code to RCPT for an outside address, from SOURCE."""
    s = r.connect(d.port("smtp"), source=source)
    f = s.makefile("rb")
    try:
        f.readline()
        for line in (b"HELO client.test", b"MAIL FROM:<a@example.org>"):
            s.sendall(line + b"\r\n")
            f.readline()
        s.sendall(b"RCPT TO:<someone@elsewhere.example>\r\n")
        code = int(f.readline()[:3])
        s.sendall(b"QUIT\r\n")
        return code
    finally:
        f.close()
        s.close()


def sockets_and_pipes(pid):
    """{fd: 'socket:[inode]' or 'pipe:[inode]'} of PID, beyond stdin, stdout and stderr."""
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if int(fd) > 2 and target.startswith(("socket:", "pipe:")):
            out[int(fd)] = target
    return out


def server_side_holder(d, client):
    """The popgated process holding the server end of CLIENT's TCP connection (from /proc/net/tcp)."""
    ip, port = client.getsockname()
    want = "%s:%04X" % ("".join("%02X" % int(x) for x in reversed(ip.split("."))), port)
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[2] == want and fields[1].endswith(":%04X" % client.getpeername()[1]):
                inode = fields[9]
    for pid in d.pids():
        if "socket:[%s]" % inode in sockets_and_pipes(pid).values():
            return pid
    raise AssertionError("no process holds the server end of %s" % want)


def protocol_child(test, d, client):
    """The protocol child serving CLIENT: the holder of its server end whose parent's parent is the master."""
    deadline = time.time() + 10
    while True:  # the master holds the connection too until it has closed its copy after fork
        child = server_side_holder(d, client)
        if child != d.proc.pid and r.proc_table()[r.proc_table()[child][0]][0] == d.proc.pid:
            return child
        test.assertLess(time.time(), deadline, "no protocol child holds the connection alone")
        time.sleep(0.02)


def steal_fd(pid, fd):
    """A duplicate of PID's descriptor FD in this process (pidfd_getfd, Linux 5.6; root)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(434, pid, 0)  # pidfd_open
    if pidfd < 0:
        raise OSError(ctypes.get_errno(), "pidfd_open")
    try:
        got = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
        if got < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
        return got
    finally:
        os.close(pidfd)


# Every channel's frame (src/common/ipc.h): magic, type, payload length, then the payload.
IPC_MAGIC = 0x70676931
IPC_PRIVSEP_REPORT, IPC_SESSION_REPORT, IPC_RELAY_LOGIN, IPC_RELAY_LOGIN_REP, IPC_AUTH_REQ, IPC_AUTH_REPLY = \
    2, 7, 10, 11, 12, 13


def ipc_frame(kind, payload):
    """PAYLOAD in a frame of type KIND, as every channel carries it."""
    return struct.pack("=III", IPC_MAGIC, kind, len(payload)) + payload


def report(event, session_pid, user=b"alice"):
    """A session_wire_report record (src/common/session_wire.h): event, pid, user, client, count."""
    return ipc_frame(IPC_SESSION_REPORT, struct.pack("=Ii64si16sI", event, session_pid, user, 0, b"", 0))


SESSION_AUTH_FAIL = 2
SESSION_MSG_RELAYED, SESSION_MSG_DENIED, SESSION_TXN_BEGIN, SESSION_TXN_END, SESSION_TXN_HANDOFF, \
    SESSION_CLIENT_KNOWN = 3, 4, 5, 6, 7, 8
REPORT_BUDGET_TXNS = 1024  # src/common/report_budget.h


def child_report(event):
    """A report as a protocol child sends it to its monitor (struct wire_report, src/privsep/privsep_int.h),
    asking for no answer."""
    return ipc_frame(IPC_PRIVSEP_REPORT, struct.pack("=II", event, 0))


# struct auth_wire_req (src/auth/auth_wire.h): mech, user[128], secret[1024], challenge[256],
# service[16], client_ip[64]; the reply's payload starts with the result (0: AUTH_OK).
AUTH_WIRE_REQ = struct.Struct("=I128s1024s256s16s64s")
AUTH_WIRE_PASSWORD = 1
# struct auth_wire_reply: result, then struct auth_user (src/auth/auth.h): name[128], uid, gid,
# home[PATH_MAX], mailbox[PATH_MAX + 16].
AUTH_WIRE_REPLY = struct.Struct("=i128sII4096s4112s")


def unix_peer(inode):
    """The inode of the peer of the connected unix socket INODE (ss -x), or None."""
    out = subprocess.run(["ss", "-x", "-a", "-n"], capture_output=True, text=True).stdout
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) >= 8 and f[5] == str(inode):
            return int(f[7])
    return None


def fd_of(pid, target):
    """PID's descriptor for TARGET ('socket:[N]'), or None."""
    for fd, t in sockets_and_pipes(pid).items():
        if t == target:
            return fd
    return None


def ask_auth_worker(chan_fd, user, password):
    """Ask the auth worker, through CHAN_FD, to check USER's PASSWORD: returns normally when it
    answered AUTH_OK; ECONNREFUSED when it closed the reply socket unanswered; EPERM when it said no."""
    def go():
        chan = socket.socket(fileno=os.dup(chan_fd))
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        req = ipc_frame(IPC_AUTH_REQ, AUTH_WIRE_REQ.pack(AUTH_WIRE_PASSWORD, user.encode(), password.encode(),
                                                         b"", b"pop3", b"127.0.0.1"))
        socket.send_fds(chan, [req], [theirs.fileno()])
        theirs.close()
        mine.settimeout(60)
        reply = mine.recv(65536)
        if not reply:
            raise OSError(errno.ECONNREFUSED, "closed unanswered")
        if struct.unpack_from("=i", reply, 12)[0] != 0:
            raise OSError(errno.EPERM, "not AUTH_OK")
    return go


def stats_memfd(pid):
    """How PID holds the counters' memory file: ([access mode of each descriptor: "r", "w" or
    "rw"], [permissions of each mapping, e.g. "r--s"], [(start, end) of each mapping])."""
    fds, perms, spans = [], [], []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if "popgate-stats" not in os.readlink("/proc/%d/fd/%s" % (pid, fd)):
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                flags = int(re.search(r"flags:\s+(\d+)", f.read()).group(1), 8)
        except OSError:
            continue
        fds.append({os.O_RDONLY: "r", os.O_WRONLY: "w", os.O_RDWR: "rw"}[flags & os.O_ACCMODE])
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            if "popgate-stats" in line:
                span, perm = line.split()[:2]
                perms.append(perm)
                spans.append(tuple(int(x, 16) for x in span.split("-")))
    return fds, perms, spans


def metrics(d, timeout=10):
    """(status, body) of the admin worker's /metrics."""
    c = http.client.HTTPConnection("127.0.0.1", d.port("admin"), timeout=timeout)
    try:
        c.request("GET", "/metrics")
        resp = c.getresponse()
        return resp.status, resp.read().decode()
    finally:
        c.close()


def metric(body, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), body, re.M)
    return int(m.group(1)) if m else None


class Privileges(h.TestCase):
    def test_sessions_speak_only_for_themselves(self):
        cfg = {"auth": {"max_failures": "3", "lockout": "60s"}}
        with r.Daemon(self, config=cfg, listeners=("pop3", "smtp")) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            master = d.proc.pid
            smtp = r.connect(d.port("smtp"))
            smtp.recv(100)
            victim = r.Pop3(d.port("pop3"), source="127.3.1.1")
            time.sleep(0.3)
            master_fds = sockets_and_pipes(master)
            children = {what: server_side_holder(d, sock) for what, sock in (("SMTP", smtp), ("POP3", victim.sock))}
            for what, child in children.items():
                shared = set(sockets_and_pipes(child).values()) & set(master_fds.values())
                self.assertEqual(shared, set(), "the %s protocol child shares %s with the master" % (what, shared))
            victim_session = r.proc_table()[children["POP3"]][0]
            self.assertEqual(r.proc_table()[victim_session][0], master)
            # Whatever of the master's a subverted process could reach: forged failures, a torn record.
            forged = 0
            for fd in master_fds:
                try:
                    mine = steal_fd(master, fd)
                except OSError:
                    continue
                try:
                    for _ in range(5):
                        os.write(mine, report(SESSION_AUTH_FAIL, victim_session))
                        forged += 1
                    os.write(mine, b"pgr")
                except OSError:
                    pass
                finally:
                    os.close(mine)
            self.assertGreater(forged, 0, "no way into the master's report channel was tried")
            d.wait_for_log(r"reports: dropped \d+ session report", timeout=5)
            self.assertIsInstance(quick_login(d, "127.3.1.1"), float, "forged failures locked a client out")
            # The channel still carries the real thing.
            for k in range(3):
                c = r.Pop3(d.port("pop3"), source="127.3.1.2")
                c.cmd("USER alice")
                with self.assertRaises(r.Pop3Error):
                    c.cmd("PASS wrong-%d" % k)
                c.close()
            with self.assertRaisesRegex(r.Pop3Error, r"\[AUTH\] Logins from your address are refused"):
                quick_login(d, "127.3.1.2")
            victim.close()
            smtp.close()
        print("\nprotocol children share no socket or pipe with the master; %d forged reports through "
              "the master's own descriptors dropped, the named client not locked out; real failures "
              "still lock out" % forged)

    def test_only_the_master_writes_the_counters(self):
        # Issue 13: every session process held the counters' memory file read-write; an odd seq
        # hung the admin page for good, and a huge ring index made the master write out of bounds.
        with r.Daemon(self, listeners=("pop3", "smtp", "admin")) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            admin_pid = int(d.wait_for_log(r"popgated/admin\[(\d+)\]: \w+: admin: serving").group(1))
            smtp = r.connect(d.port("smtp"))
            smtp.recv(100)
            pre = r.Pop3(d.port("pop3"), source="127.3.2.1")
            post = r.Pop3(d.port("pop3"), source="127.3.2.2")
            post.login("alice", "secret")
            d.wait_for_log(r"ip=127\.3\.2\.2 user=alice mailbox open")
            master = d.proc.pid
            holders = {}
            for pid in d.pids():
                try:
                    held = stats_memfd(pid)
                except OSError:
                    continue  # ended meanwhile
                if held != ([], [], []):
                    holders[pid] = held
            self.assertGreaterEqual(len(d.pids()), 1 + 3 + 2 + 2 + 1, "master, 3 workers, 3 sessions")
            self.assertEqual(sorted(holders), sorted([master, admin_pid]),
                             "only the master and popgate-admind hold the counters: %s" % holders)
            self.assertEqual(holders[master][:2], (["r"], ["rw-s"]), "the master: a read-only descriptor, its own mapping")
            self.assertEqual(holders[admin_pid][:2], (["r"], ["r--s"]), "popgate-admind: read-only")
            # Not even a writable descriptor reopened through /proc (root's, here) can write it: sealed.
            fd = os.open("/proc/%d/fd/%d" % (admin_pid, [int(n) for n in os.listdir("/proc/%d/fd" % admin_pid)
                                                         if "popgate-stats" in os.readlink("/proc/%d/fd/%s" % (admin_pid, n))][0]),
                         os.O_RDWR)
            try:
                with self.assertRaises(PermissionError):
                    mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
                with self.assertRaises(PermissionError):
                    os.pwrite(fd, b"\1", 0)
            finally:
                os.close(fd)
            # A page corrupted behind the master's back (here through /proc/PID/mem, as root):
            # seq odd for good, the ring's indices far out of range.
            start, _ = holders[master][2][0]
            with open("/proc/%d/mem" % master, "r+b", buffering=0) as mem:
                mem.seek(start)
                seq = struct.unpack("=Q", mem.read(8))[0]
                mem.seek(start)
                mem.write(struct.pack("=QII", seq | 1, 0x7ffffff0, 0xffffffff))
            t0 = time.time()
            status, _ = metrics(d)
            waited = time.time() - t0
            self.assertEqual(status, 503, "a page that stays mid-update: try again, at once")
            self.assertLess(waited, 5)
            c = http.client.HTTPConnection("127.0.0.1", d.port("admin"), timeout=10)
            c.request("GET", "/")
            self.assertLess(c.getresponse().status, 600, "the admin page still answers")
            c.close()
            # The master writes from its own indices: a failed login neither crashes it nor lands
            # out of bounds, and its next update puts the page right.
            c = r.Pop3(d.port("pop3"), source="127.3.2.3")
            c.cmd("USER alice")
            with self.assertRaises(r.Pop3Error):
                c.cmd("PASS wrong")
            c.close()
            d.wait_for_log(r"ip=127\.3\.2\.3 user=alice login failed")
            deadline = time.time() + 10
            while True:
                status, body = metrics(d)
                if status == 200 and metric(body, 'popgate_logins_total{result="failed"}') == 1:
                    break
                self.assertLess(time.time(), deadline, "the page never recovered: %s %s" % (status, body))
                time.sleep(0.05)
            self.assertIsNone(d.proc.poll(), "the master is alive")
            r.Pop3(d.port("pop3"), source="127.3.2.4").close()  # greeted: the listener is still served
            for sock in (smtp, pre.sock, post.sock):
                sock.close()
        print("\nonly the master (rw mapping, read-only descriptor) and popgate-admind (read-only) hold "
              "the counters; sealed against writes; a corrupted page gave 503 in %.2fs, the master "
              "survived and repaired it" % waited)

    def test_a_protocol_child_cannot_flood_the_reports(self):
        cfg = {"smtp": {"max_errors": "10"}}
        with r.Daemon(self, config=cfg, listeners=("pop3", "smtp", "admin")) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            smtp = r.connect(d.port("smtp"), source="127.3.3.1")
            smtp.recv(100)
            deadline = time.time() + 10
            while True:  # the master holds the connection too until it has closed its copy after fork
                child = server_side_holder(d, smtp)
                monitor = r.proc_table()[child][0]
                if child != d.proc.pid and r.proc_table()[monitor][0] == d.proc.pid:
                    break
                self.assertLess(time.time(), deadline, "no protocol child holds the connection alone")
                time.sleep(0.02)
            # The subverted child: whatever it writes into its channel to the monitor.
            chan = None
            for fd in sockets_and_pipes(child):
                mine = steal_fd(child, fd)
                sock = socket.socket(fileno=mine)
                try:
                    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
                except OSError:
                    creds = None
                if sock.family == socket.AF_UNIX and creds and struct.unpack("3i", creds)[0] == monitor:
                    chan = sock
                    break
                sock.close()
            self.assertIsNotNone(chan, "the protocol child's channel to its monitor")
            out_of_order = [SESSION_MSG_RELAYED] * 500 + [SESSION_MSG_DENIED] * 300 + [SESSION_CLIENT_KNOWN] * 50
            cycles = [SESSION_TXN_BEGIN, SESSION_TXN_HANDOFF, SESSION_MSG_RELAYED, SESSION_TXN_END] * (REPORT_BUDGET_TXNS + 200)
            for ev in out_of_order + cycles:
                chan.sendall(child_report(ev))
            chan.close()
            smtp.sendall(b"QUIT\r\n")
            smtp.recv(100)
            smtp.close()
            # A real session is still heard.
            quick_login(d, "127.3.3.2")
            deadline = time.time() + 20
            while True:
                status, body = metrics(d)
                if (status == 200 and metric(body, 'popgate_sessions_active{service="all"}') == 0
                        and metric(body, 'popgate_logins_total{result="ok"}') == 1):
                    break
                self.assertLess(time.time(), deadline, "sessions never ended: %s" % body)
                time.sleep(0.05)
            relayed = metric(body, 'popgate_messages_total{result="relayed"}')
            denied = metric(body, 'popgate_messages_total{result="denied"}')
            self.assertLessEqual(relayed, REPORT_BUDGET_TXNS, "relayed messages past the session's budget")
            self.assertLessEqual(denied, 10, "denials past smtp.max_errors")
            self.assertEqual(len(re.findall(r"reports dropped", d.log())), 1, "the monitor logs once")
        print("\n%d forged reports from a protocol child: %d relayed and %d denied passed on (budget %d "
              "transactions, smtp.max_errors 10), logged once; a real login still counted"
              % (len(out_of_order) + len(cycles), relayed, denied, REPORT_BUDGET_TXNS))

    def test_processes_and_what_they_could_touch(self):
        users = r.SystemUsers(self, 2)
        a, b = users.names
        mail_gid = grp.getgrnam("mail").gr_gid
        # A's own supplementary group: the monitor looks it up for the mailbox process it forks.
        extra = "%sg" % a
        subprocess.run(["groupadd", "-U", a, extra], check=True, capture_output=True)
        self.addCleanup(subprocess.run, ["groupdel", extra], capture_output=True)
        extra_gid = grp.getgrnam(extra).gr_gid
        cfg = sh.base_config(auth={"backend": "system"}, pop3={"trusted_networks": "127.0.0.0/8"})
        with r.Daemon(self, config=cfg, listeners=("pop3", "smtp", "admin")) as d:
            for u, mode in ((a, 0o660), (b, 0o600)):
                spool_mailbox(d, users, u, h.mbox_message(1) + h.mbox_message(2), mode)
            spool = r.spool_dir(d.dir)
            d.start()
            admin_pid = int(d.wait_for_log(r"popgated/admin\[(\d+)\]").group(1))
            auth_pid = int(d.wait_for_log(r"popgated/auth\[(\d+)\]: \w+: auth worker ready").group(1))
            # Sessions in every state: SMTP, POP3 before login, POP3 after login.
            smtp = r.connect(d.port("smtp"))
            smtp.recv(100)
            pre = r.Pop3(d.port("pop3"), source="127.3.0.1")
            post = r.Pop3(d.port("pop3"), source="127.3.0.2")
            post.login(a, users.password)
            post_pid = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 session=[0-9a-f]{12} ip=127\.3\.0\.2 user=%s mailbox open" % a).group(1))
            time.sleep(0.3)
            table = {}
            for pid in d.pids():
                table[pid] = creds(pid)
            master_caps = table[d.proc.pid][3]
            checked = 0
            for pid, (uids, gids, groups, capprm, capeff) in table.items():
                self.assertNotIn(0, uids, "process %d runs with a root uid: %s" % (pid, uids))
                self.assertNotIn(0, gids, "process %d runs with gid 0: %s" % (pid, gids))
                self.assertNotIn(0, groups, "process %d is in group root" % pid)
                # Only the master and the session monitors (which check passwords and become the
                # mailbox owner) keep some of the master's few capabilities; never more, never these.
                self.assertEqual(capprm & ~master_caps, 0, "process %d has capabilities the master lacks" % pid)
                self.assertEqual(capprm & DANGEROUS, 0, "process %d holds %x" % (pid, capprm & DANGEROUS))
                ppid = r.proc_table().get(pid, (0,))[0]
                if ppid == auth_pid:  # the auth worker's helpers: its one capability, as it
                    self.assertEqual((capprm, capeff), (CAP_DAC_READ_SEARCH, CAP_DAC_READ_SEARCH))
                elif ppid not in (d.proc.pid, 1, os.getpid()) and pid != d.proc.pid:
                    self.assertEqual((capprm, capeff), (0, 0), "protocol child %d keeps capabilities" % pid)
                checked += 1
            self.assertGreaterEqual(checked, 7, "master, 2 workers, SMTP and 2 POP3 sessions with children")
            self.assertEqual(table[admin_pid][3:], (0, 0), "the admin worker keeps capabilities")

            # The admin worker: server.user, no mail group, and the spool is out of its reach.
            adm = table[admin_pid]
            self.assertEqual(adm[0], [d.uid] * 4)
            self.assertNotIn(mail_gid, adm[2] + adm[1])
            for u in (a, b):
                path = os.path.join(spool, u)
                for what, action in (("write", write_append(path)), ("read", read(path)),
                                     ("rename", lambda p=path: os.rename(p, p + ".x")),
                                     ("unlink", lambda p=path: os.unlink(p)),
                                     ("dotlock", lambda p=path: os.close(os.open(p + ".lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)))):
                    self.assertEqual(attempt(adm, action), errno.EACCES, "the admin worker could %s %s" % (what, path))

            # The POP3 post-login process: the mailbox owner, its groups and group mail, nothing else.
            pw = users.pw(a)
            post_creds = table[post_pid]
            self.assertEqual(post_creds[0], [pw.pw_uid] * 4, "post-login runs as the mailbox owner")
            self.assertNotEqual(pw.pw_uid, d.uid)
            self.assertEqual(post_creds[1], [pw.pw_gid] * 4)
            self.assertIn(mail_gid, post_creds[2], "group mail, for the dotlock in the spool")
            self.assertEqual(sorted(post_creds[2]), sorted({pw.pw_gid, extra_gid, mail_gid}),
                             "the owner's groups (its own %d among them) and mail, no other" % extra_gid)
            self.assertEqual(post_creds[3:], (0, 0))
            other = os.path.join(spool, b)
            self.assertEqual(attempt(post_creds, write_append(other)), errno.EACCES)
            self.assertEqual(attempt(post_creds, read(other)), errno.EACCES)
            self.assertEqual(attempt(post_creds, write_append(os.path.join(spool, a))), 0, "its own mbox")
            spool_mode = os.stat(spool).st_mode & 0o7777
            sticky = bool(spool_mode & 0o1000)
            # Renaming is as good as removing; it is undone at once (the spool is the test's own).
            could_remove = attempt(post_creds, lambda: os.rename(other, other + ".moved")) == 0
            if could_remove:
                os.rename(other + ".moved", other)
            post.cmd("QUIT")
            post.close()
            pre.close()
            smtp.close()
            # The remedy works with popgate: a sticky spool (3775) keeps B's mailbox from A, and
            # A's own deletions (new file renamed over the old, dotlock in the spool) still apply.
            os.chmod(spool, 0o3775)
            self.assertEqual(attempt(post_creds, lambda: os.rename(other, other + ".moved")), errno.EPERM)
            c = r.Pop3(d.port("pop3"), source="127.3.0.3")
            c.login(a, users.password)
            c.cmd("DELE 1")
            c.cmd("QUIT")
            c.close()
            with open(os.path.join(spool, a), "rb") as f:
                self.assertEqual(f.read(), h.mbox_message(2))
        print("\n%d processes checked: none root, capabilities only in the master, the session "
              "monitors and the auth worker (%x at most); the admin worker "
              "(uid %d, groups %s) cannot touch the spool; the POP3 post-login process runs as %s (uid %d, "
              "group mail); with the spool mode %o a subverted post-login process %s rename or remove "
              "other users' mailboxes (with 3775 it cannot, and deletions still apply)"
              % (checked, master_caps, adm[0][0], adm[2], a, pw.pw_uid, spool_mode,
                 "COULD" if could_remove else "could not"))
        self.assertFalse(sticky and could_remove)


    def test_what_a_subverted_process_can_reach(self):
        # docs/ARCHITECTURE.md's claims about each process, tried for real with its exact
        # credentials: what it CAN do is asserted as well as what it cannot, so that the document
        # and this test change together (issue 15's auth and relay workers close some of the CANs).
        users = r.SystemUsers(self, 1)
        owner = users.names[0]
        cfg = sh.base_config(auth={"backend": "system"}, pop3={"trusted_networks": "127.0.0.0/8"})
        with r.Daemon(self, config=cfg, listeners=("pop3", "smtp", "admin")) as d:
            path = spool_mailbox(d, users, owner, h.mbox_message(1))
            users_file = ah.setup_admin(d, {"helen": ("helen-pw-1", "admin")})
            d.start()
            master = d.proc.pid
            admin_pid = int(d.wait_for_log(r"popgated/admin\[(\d+)\]: \w+: admin: serving").group(1))
            d.wait_for_log(r"lookup worker listening on")
            auth_pid = int(d.wait_for_log(r"popgated/auth\[(\d+)\]: \w+: auth worker ready").group(1))
            state = d.config["server"]["state_dir"]
            relay_dir = d.config["relay"]["db_dir"]
            smtp = r.connect(d.port("smtp"), source="127.3.4.1")
            smtp.recv(100)
            pre = r.Pop3(d.port("pop3"), source="127.3.4.2")
            post = r.Pop3(d.port("pop3"), source="127.3.4.3")
            post.login(owner, users.password)
            mailbox_pid = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 session=[0-9a-f]{12} ip=127\.3\.4\.3 "
                                             r"user=%s mailbox open" % owner).group(1))
            children = {}
            deadline = time.time() + 10
            for what, sock in (("SMTP", smtp), ("POP3", pre.sock)):
                while True:  # the master holds the connection too until it has closed its copy after fork
                    child = server_side_holder(d, sock)
                    if child != master and r.proc_table()[r.proc_table()[child][0]][0] == master:
                        break
                    self.assertLess(time.time(), deadline, "no protocol child holds the %s connection alone" % what)
                    time.sleep(0.02)
                children[what] = child
            child = children["SMTP"]
            monitor = r.proc_table()[child][0]
            table = {pid: creds(pid) for pid in d.pids()}
            kids = [p for p, (ppid, _, _) in r.proc_table().items() if ppid == master]
            workers = [p for p in kids if os.getpgid(p) == os.getpgid(master)]  # sessions lead groups of their own
            monitors = [p for p in kids if p not in workers]

            # The master keeps exactly six capabilities, none inheritable or ambient; a session
            # monitor, its fork, holds the same; workers and protocol children hold none.
            st = r.status(master)
            self.assertEqual((int(st["CapPrm"][0], 16), int(st["CapEff"][0], 16)), (KEPT_CAPS, KEPT_CAPS))
            self.assertEqual((int(st["CapInh"][0], 16), int(st["CapAmb"][0], 16)), (0, 0))
            self.assertIn(monitor, monitors)
            for p in monitors:
                self.assertEqual(table[p][3:], (KEPT_CAPS, KEPT_CAPS), "session monitor %d" % p)
            self.assertGreaterEqual(len(workers), 4, "admin, sweeper, lookup and auth workers: %s" % workers)
            self.assertIn(admin_pid, workers)
            self.assertIn(auth_pid, workers)
            for p in workers:
                self.assertEqual(table[p][0], [d.uid] * 4, "worker %d runs as server.user" % p)
                # The auth worker reads /etc/shadow for each check: CAP_DAC_READ_SEARCH, nothing else.
                want = (CAP_DAC_READ_SEARCH, CAP_DAC_READ_SEARCH) if p == auth_pid else (0, 0)
                self.assertEqual(table[p][3:], want, "worker %d holds capabilities" % p)
            kid = table[child]
            self.assertNotEqual(d.login_uid, d.uid)
            self.assertNotEqual(d.login_gid, d.gid)
            for what, c in children.items():
                self.assertEqual(table[c][:3], ([d.login_uid] * 4, [d.login_gid] * 4, [d.login_gid]),
                                 "the %s protocol child: server.login_user with its primary group alone" % what)
                self.assertEqual(table[c][3:], (0, 0))
            mbx = table[mailbox_pid]

            # No process that reads the network can read the memory of a process that left root
            # (not dumpable), even one running as the same server.user.
            mem = lambda pid: lambda: os.close(os.open("/proc/%d/mem" % pid, os.O_RDONLY))
            for target in [master, monitor, children["POP3"]] + [w for w in workers if w != admin_pid]:
                self.assertEqual(attempt(kid, mem(target)), errno.EACCES,
                                 "a protocol child could read the memory of %d" % target)
            self.assertEqual(attempt(mbx, mem(master)), errno.EACCES)
            self.assertEqual(attempt(mbx, mem(mailbox_pid)), errno.EACCES, "the mailbox process is dumpable")
            # popgate-admind is exec'd as server.user, and makes itself not dumpable again at once:
            # a protocol child cannot read the helpdesk's sessions out of its memory.
            self.assertEqual(attempt(kid, mem(admin_pid)), errno.EACCES, "a protocol child read popgate-admind's memory")

            # Secrets and other users' mail: out of reach of both.
            for who, c in (("protocol child", kid), ("mailbox process", mbx)):
                self.assertEqual(attempt(c, read("/etc/shadow")), errno.EACCES, "the %s read /etc/shadow" % who)
            self.assertEqual(attempt(kid, read(path)), errno.EACCES, "the protocol child read a mailbox")

            # The mailbox owner reaches none of server.user's sockets, files or processes.
            lookup_sock = os.path.join(state, "login", "lookup.sock")
            control_sock = os.path.join(state, "control.sock")
            for what, action in (("connect to lookup.sock", connect_unix(lookup_sock, socket.SOCK_SEQPACKET)),
                                 ("connect to control.sock", connect_unix(control_sock, socket.SOCK_DGRAM)),
                                 ("open the relay database", write_append(os.path.join(relay_dir, "relay.db"))),
                                 ("create a file in server.state_dir",
                                  lambda: os.close(os.open(os.path.join(state, "x"), os.O_CREAT | os.O_WRONLY, 0o600)))):
                self.assertEqual(attempt(mbx, action), errno.EACCES, "the mailbox process could %s" % what)
            self.assertEqual(attempt(mbx, lambda: os.kill(master, 0)), errno.EPERM, "the mailbox process could signal the master")
            # It holds none of the master's descriptors: not even the report channel's sending end,
            # which its monitor keeps (a full channel would crowd out other sessions' reports).
            master_fds = set(sockets_and_pipes(master).values())
            self.assertEqual(set(sockets_and_pipes(mailbox_pid).values()) & master_fds, set())
            self.assertTrue(set(sockets_and_pipes(monitor).values()) & master_fds,
                            "the monitor's report channel (what the mailbox process is shown not to hold)")

            # A subverted protocol child, as server.login_user, owns nothing of popgate's. It CANNOT
            # open the relay database files, for reading or writing (it would authorize any
            # address: an open relay), or even list their directory; nor create or replace
            # anything in server.state_dir (blocks, audit trail); nor signal any popgated process
            # but the other protocol children, which share its uid.
            db_files = sorted(n for n in os.listdir(relay_dir) if os.path.isfile(os.path.join(relay_dir, n)))
            self.assertIn("relay.db", db_files)
            for name in db_files:
                f = os.path.join(relay_dir, name)
                self.assertEqual(attempt(kid, read(f)), errno.EACCES, "a protocol child read %s" % f)
                self.assertEqual(attempt(kid, write_append(f)), errno.EACCES, "a protocol child opened %s for writing" % f)
            self.assertEqual(attempt(kid, lambda: os.listdir(relay_dir)), errno.EACCES)
            self.assertEqual(attempt(kid, lambda: os.close(os.open(os.path.join(relay_dir, "relay.db.new"),
                                                                   os.O_CREAT | os.O_WRONLY, 0o600))), errno.EACCES)
            scratch_file = os.path.join(state, "written-by-a-protocol-child")
            self.assertEqual(attempt(kid, lambda: os.close(os.open(scratch_file, os.O_CREAT | os.O_WRONLY, 0o600))),
                             errno.EACCES)
            # Nor read, write or replace server.state_dir's own files, one by one. They must exist for
            # that to mean anything: a block (popgatectl, as root: the file is given to server.user),
            # a page login (the session file, and audit.log's entry for it).
            d.ctl("block", "someone-else", "--note", "made by root")
            ah.AdminClient(d).login("helen", "helen-pw-1")
            state_files = {n: os.path.join(state, n) for n in os.listdir(state) if os.path.isfile(os.path.join(state, n))}
            documented = {"blocks": "640", "audit.log": "640", "admin-sessions": "600"}
            self.assertEqual({n: "%o" % (os.stat(state_files[n]).st_mode & 0o7777) for n in documented if n in state_files},
                             documented, "the modes docs/ARCHITECTURE.md gives: %s" % sorted(state_files))
            # Replacing takes a file of its own on the same filesystem, renamed over the target.
            own_dir = os.path.join(d.dir, "login-user-files")
            os.mkdir(own_dir, 0o700)
            os.chown(own_dir, d.login_uid, d.login_gid)
            self.assertEqual(os.stat(own_dir).st_dev, os.stat(state).st_dev)
            server_user = ([d.uid] * 3, [d.gid] * 3, [d.gid], 0, 0)
            for f in sorted(state_files.values()):
                st = os.stat(f)
                self.assertEqual(st.st_uid, d.uid, "%s is server.user's" % f)
                self.assertEqual(attempt(server_user, read(f)), 0, "server.user reads %s" % f)
                self.assertEqual(attempt(kid, read(f)), 0 if st.st_mode & 0o004 else errno.EACCES,
                                 "a protocol child read %s (mode %o)" % (f, st.st_mode & 0o7777))
                self.assertEqual(attempt(kid, write_append(f)), errno.EACCES, "a protocol child opened %s for writing" % f)
                self.assertEqual(attempt(kid, rename_over(own_dir, f)), errno.EACCES, "a protocol child replaced %s" % f)
                self.assertEqual(attempt(kid, lambda p=f: os.unlink(p)), errno.EACCES, "a protocol child removed %s" % f)
                self.assertEqual(os.stat(f).st_ino, st.st_ino)
            # The blocks writers' lock: whoever can open it can hold it, and every block from the
            # page or popgatectl then waits for good (the helpdesk's answer to a stolen account).
            self.assertEqual(attempt(server_user, hold_lock(state_files["blocks.lock"])), 0)
            self.assertEqual(attempt(kid, hold_lock(state_files["blocks.lock"])), errno.EACCES,
                             "a protocol child can hold the blocks writers' lock")
            # The helpdesk's hashes, outside server.state_dir: popgate-admind reads them, the child cannot.
            self.assertEqual(attempt(server_user, read(users_file)), 0)
            self.assertEqual(attempt(kid, read(users_file)), errno.EACCES, "a protocol child read admin.users_file")
            for target in [master, monitor, admin_pid] + workers:
                self.assertEqual(attempt(kid, lambda t=target: os.kill(t, 0)), errno.EPERM, "signal %d" % target)
            self.assertEqual(attempt(kid, lambda: os.kill(children["POP3"], 0)), 0, "another protocol child")
            # It reaches the lookup worker, through server.state_dir/login (server.login_user's
            # group), to ask whether an address may relay; but the worker will not authorize one
            # there: it records logins only from the login channel the child does not hold.
            st = os.stat(os.path.dirname(lookup_sock))
            self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o7777), (d.uid, d.login_gid, 0o2750))
            self.assertEqual(attempt(kid, connect_unix(lookup_sock, socket.SOCK_SEQPACKET)), 0)
            self.assertEqual(relay_answer(d, "127.3.4.4"), 550, "not authorized before")
            self.assertEqual(attempt(kid, forge_login(lookup_sock, "127.3.4.4")), errno.ECONNRESET,
                             "lookup.sock took the login")
            d.wait_for_log(r"relaydb: protocol violation on lookup.sock: a login record \(for 127\.3\.4\.4\) "
                           r"from pid \d+ uid %d refused" % d.login_uid)
            self.assertEqual(relay_answer(d, "127.3.4.4"), 550, "the forged login authorized relaying")
            # control.sock is server.user's alone: the child cannot even connect to it.
            self.assertEqual(attempt(kid, control_refused(control_sock)), errno.EACCES)
            post.cmd("QUIT")
            for s in (post, pre):
                s.close()
            smtp.close()
        print("\nmaster keeps %x, session monitors the same, %d workers and the protocol children none; "
              "protocol child and mailbox process cannot read /etc/shadow, a mailbox of another user or "
              "the memory of the master, monitors, other sessions, the relay workers or popgate-admind; "
              "the mailbox process reaches none of server.user's sockets or files and holds none of the "
              "master's descriptors; a protocol child (server.login_user) CANNOT open the relay database "
              "files (%s) for reading or writing, read, write or replace server.state_dir's (%s), signal a "
              "popgated process but another protocol child, or authorize an address through lookup.sock"
              % (KEPT_CAPS, len(workers), ", ".join(db_files), ", ".join(sorted(state_files))))


    def test_only_session_monitors_reach_the_auth_worker(self):
        # Issue 15: the auth worker alone reads the user database (shadow here). Its channel has no
        # name: the master keeps both ends, session monitors inherit the askers' end, and every
        # process that reads the network (protocol child, mailbox process) or serves another
        # purpose (the other workers) closes it. Holding that descriptor is the only way to ask.
        users = r.SystemUsers(self, 1)
        owner = users.names[0]
        cfg = sh.base_config(auth={"backend": "system"}, pop3={"trusted_networks": "127.0.0.0/8"})
        with r.Daemon(self, config=cfg, listeners=("pop3", "smtp")) as d:
            spool_mailbox(d, users, owner, h.mbox_message(1))
            d.start()
            master = d.proc.pid
            auth_pid = int(d.wait_for_log(r"popgated/auth\[(\d+)\]: \w+: auth worker ready").group(1))
            d.wait_for_log(r"lookup worker listening on")
            # The auth worker: server.user, CAP_DAC_READ_SEARCH alone (shadow), nothing inheritable.
            st = r.status(auth_pid)
            self.assertEqual([int(x) for x in st["Uid"]], [d.uid] * 4)
            self.assertEqual((int(st["CapPrm"][0], 16), int(st["CapEff"][0], 16), int(st["CapInh"][0], 16),
                              int(st["CapAmb"][0], 16)), (CAP_DAC_READ_SEARCH, CAP_DAC_READ_SEARCH, 0, 0))
            # Its end of the channel is the one socket it shares with the master; the askers' end is its peer.
            shared = set(sockets_and_pipes(auth_pid).values()) & set(sockets_and_pipes(master).values())
            self.assertEqual(len(shared), 1, "the auth worker shares exactly its channel end with the master")
            worker_end = shared.pop()
            client_end = "socket:[%d]" % unix_peer(int(worker_end[8:-1]))
            self.assertIn(client_end, sockets_and_pipes(master).values())
            self.assertNotIn(client_end, sockets_and_pipes(auth_pid).values(), "the auth worker can ask itself")

            smtp = r.connect(d.port("smtp"), source="127.3.5.1")
            smtp.recv(100)
            pre = r.Pop3(d.port("pop3"), source="127.3.5.2")
            post = r.Pop3(d.port("pop3"), source="127.3.5.3")
            post.login(owner, users.password)  # checked by the auth worker: shadow, through the channel
            mailbox_pid = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 session=[0-9a-f]{12} ip=127\.3\.5\.3 "
                                             r"user=%s mailbox open" % owner).group(1))
            children = {}
            deadline = time.time() + 10
            for what, sock in (("SMTP", smtp), ("POP3", pre.sock)):
                while True:  # the master holds the connection too until it has closed its copy after fork
                    child = server_side_holder(d, sock)
                    if child != master and r.proc_table()[r.proc_table()[child][0]][0] == master:
                        break
                    self.assertLess(time.time(), deadline, "no protocol child holds the %s connection alone" % what)
                    time.sleep(0.02)
                children[what] = child
            kids = [p for p, (ppid, _, _) in r.proc_table().items() if ppid == master]
            workers = [p for p in kids if os.getpgid(p) == os.getpgid(master)]
            ends = {worker_end, client_end}
            for what, child in children.items():
                monitor = r.proc_table()[child][0]
                self.assertIn(client_end, sockets_and_pipes(monitor).values(), "the %s monitor cannot ask" % what)
                self.assertEqual(set(sockets_and_pipes(child).values()) & ends, set(),
                                 "the %s protocol child holds the auth channel" % what)
                # Nor can it take the monitor's: the monitor is not dumpable and holds capabilities.
                fd = fd_of(monitor, client_end)
                self.assertEqual(attempt(creds(child), lambda m=monitor, f=fd: os.close(steal_fd(m, f))), errno.EPERM,
                                 "the %s protocol child took the monitor's auth channel" % what)
            self.assertEqual(set(sockets_and_pipes(mailbox_pid).values()) & ends, set(),
                             "the mailbox process holds the auth channel")
            for p in workers:
                if p != auth_pid:
                    self.assertEqual(set(sockets_and_pipes(p).values()) & ends, set(), "worker %d holds the auth channel" % p)

            # The worker checks who asks: the kernel stamps the sender's uid, which must be server.user.
            chan = steal_fd(master, fd_of(master, client_end))
            try:
                stranger = ([users.pw(owner).pw_uid] * 3, [users.pw(owner).pw_gid] * 3, [users.pw(owner).pw_gid], 0, 0)
                mark = len(d.log())
                self.assertEqual(attempt(stranger, ask_auth_worker(chan, owner, users.password)), errno.ECONNREFUSED,
                                 "the auth worker answered another uid than the monitors'")
                d.wait_for_log(r"auth worker: refused a frame from another user",
                               start=mark)
                # Nor a protocol child's (server.login_user), had it the descriptor.
                mark = len(d.log())
                self.assertEqual(attempt(creds(children["SMTP"]), ask_auth_worker(chan, owner, users.password)),
                                 errno.ECONNREFUSED, "the auth worker answered a protocol child's uid")
                d.wait_for_log(r"auth worker: refused a frame from another user \(sender pid \d+ uid %d\)"
                               % creds(children["SMTP"])[0][0], start=mark)
                # With server.user's uid and the descriptor, it answers: the descriptor is the gate.
                server_user = ([d.uid] * 3, [d.gid] * 3, [d.gid], 0, 0)
                self.assertEqual(attempt(server_user, ask_auth_worker(chan, owner, users.password)), 0)
                self.assertEqual(attempt(server_user, ask_auth_worker(chan, owner, "wrong")), errno.EPERM)
            finally:
                os.close(chan)
            post.cmd("QUIT")
            for c in (post, pre):
                c.close()
            smtp.close()
        print("\nthe auth worker: server.user with CAP_DAC_READ_SEARCH alone; the session monitors hold the "
              "channel, the protocol children, the mailbox process and the other workers do not and cannot "
              "take it; another uid is refused")

    def test_the_proxy_header_is_read_with_capabilities(self):
        # Behind a balancer the session reads the PROXY header itself, before the privilege split:
        # a process holding the master's capabilities reads those bytes from the network (only
        # from server.proxy_networks). docs/ARCHITECTURE.md says so; this keeps it true.
        port = h.free_port()
        cfg = {"server": {"proxy_networks": "127.3.5.0/24", "proxy_timeout": "60s"},
               "smtp": {"listen_proxy": "127.0.0.1:%d" % port}}
        with r.Daemon(self, config=cfg, listeners=("smtp",)) as d:
            d.start()
            balancer = r.connect(port, source="127.3.5.1")
            balancer.sendall(b"PROXY TCP4 192.0.2.")  # half a header: the reader waits for the rest
            deadline = time.time() + 10
            while True:  # not accepted yet, or the master still holds its copy
                try:
                    reader = server_side_holder(d, balancer)
                except AssertionError:
                    reader = d.proc.pid
                if reader != d.proc.pid and r.proc_table()[reader][0] == d.proc.pid:
                    break
                self.assertLess(time.time(), deadline, "no session took the connection")
                time.sleep(0.02)
            kids = [p for p, (ppid, _, _) in r.proc_table().items() if ppid == reader]
            uids, _, _, capprm, capeff = creds(reader)
            self.assertEqual(kids, [], "the header is read before the split")
            self.assertEqual(uids, [d.uid] * 4)
            self.assertEqual((capprm, capeff), (KEPT_CAPS, KEPT_CAPS))
            balancer.close()
        print("\nthe PROXY header is read by the session process before the split, as server.user "
              "with capabilities %x" % KEPT_CAPS)

    def test_the_master_reads_no_byte_from_a_client(self):
        # The master keeps six capabilities, so no byte a client sends may reach it: it accepts,
        # takes the peer's address from the kernel and passes the connection on. strace on the
        # master alone (no -f: not the sessions it forks), every descriptor decoded, while clients
        # speak POP3, SMTP, and SMTP behind a PROXY header (which the session reads).
        if STRACE is None:
            self.skipTest("strace is not installed")
        proxy_port = h.free_port()
        cfg = {"server": {"proxy_networks": "127.3.7.0/24", "proxy_timeout": "60s"},
               "smtp": {"listen_proxy": "127.0.0.1:%d" % proxy_port, "relay_domains": "example.org"}}
        with r.Daemon(self, config=cfg, listeners=("pop3", "smtp")) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            master = d.proc.pid
            # strace -p without -f follows one thread: that must be the whole master.
            self.assertEqual(os.listdir("/proc/%d/task" % master), [str(master)])
            trace = os.path.join(d.dir, "master.strace")
            st = subprocess.Popen([STRACE, "-yy", "-p", str(master), "-o", trace,
                                   "-e", "trace=" + ",".join(READ_CALLS + ("accept", "accept4", "close"))],
                                  stderr=subprocess.PIPE, text=True)
            try:
                self.assertIn("attached", st.stderr.readline())
                conns = []  # the master's view of each: "->CLIENT:PORT]" ends its descriptor's decoding
                pop = r.Pop3(d.port("pop3"), source="127.3.8.1")
                conns.append("->%s:%d]" % pop.sock.getsockname())
                pop.login("alice", "secret")
                pop.cmd("STAT")
                self.assertEqual(pop.retr(1), r.wire(h.mbox_message(1)))
                pop.cmd("QUIT")
                pop.close()
                for port, source, header in ((d.port("smtp"), "127.3.8.2", b""),
                                             (proxy_port, "127.3.7.1", b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 25\r\n")):
                    c = r.connect(port, source=source)
                    conns.append("->%s:%d]" % c.getsockname())
                    f = c.makefile("rb")
                    c.sendall(header)
                    self.assertRegex(f.readline(), rb"^220 ")
                    for line, code in ((b"HELO client.test", b"250"), (b"MAIL FROM:<a@example.org>", b"250"),
                                       (b"RCPT TO:<user@example.org>", b"250"), (b"QUIT", b"221")):
                        c.sendall(line + b"\r\n")
                        self.assertEqual(f.readline()[:3], code, line)
                    f.close()
                    c.close()
                # Traced until the master has closed its copy of every connection (no later read
                # of it is possible) and has read its own channels after the first accept.
                deadline = time.time() + 20
                while True:
                    calls = strace_calls(trace)
                    accepts = [i for i, c in enumerate(calls) if c[1] in ("accept", "accept4") and "<TCP" in c[3]]
                    own = [c for c in calls[accepts[0]:] if c[1] in READ_CALLS and "<UNIX" in c[2]
                           and not c[3].startswith("-1")] if accepts else []
                    closed = [conn for conn in conns if any(c[1] == "close" and conn in c[2] for c in calls)]
                    if own and closed == conns:
                        break
                    self.assertLess(time.time(), deadline, "the master never closed %s: %s" % (conns, calls))
                    time.sleep(0.05)
            finally:
                st.terminate()
                st.wait(30)
                st.stderr.close()
            for conn in conns:
                self.assertTrue(any(conn in calls[i][3] for i in accepts), "the master accepted %s" % conn)
            tcp_reads = [c for c in calls if c[1] in READ_CALLS and "<TCP" in c[2]]
            self.assertEqual(tcp_reads, [], "the master read from a client connection")
        print("\nthe master accepted and closed %d connections (POP3, SMTP, SMTP behind PROXY) and read "
              "none of them; %d reads of its own channels traced meanwhile" % (len(conns), len(own)))

    def test_a_member_of_group_root_is_refused(self):
        # Group 0 reached only as a supplementary group: the owner's groups, which the monitor
        # looks up before it forks the mailbox process, include it, and the process refuses the
        # session before any change of user. The group is a second name for gid 0 (groupadd -o),
        # so root's own line in /etc/group is left alone.
        users = r.SystemUsers(self, 1)
        (name,) = users.names
        alias = "%sr" % name
        subprocess.run(["groupadd", "-o", "-g", "0", "-U", name, alias], check=True, capture_output=True)
        self.addCleanup(subprocess.run, ["groupdel", alias], capture_output=True)
        self.assertIn(0, os.getgrouplist(name, users.pw(name).pw_gid))
        cfg = sh.base_config(auth={"backend": "system"}, pop3={"trusted_networks": "127.0.0.0/8"})
        with r.Daemon(self, config=cfg, listeners=("pop3",)) as d:
            box = spool_mailbox(d, users, name, h.mbox_message(1))
            d.start()
            c = r.Pop3(d.port("pop3"), source="127.3.9.9")
            c.cmd("USER " + name)
            with self.assertRaisesRegex(r.Pop3Error, r"^PASS: -ERR \[SYS/TEMP\] Cannot switch to the mailbox owner$"):
                c.cmd("PASS " + users.password)
            c.close()
            d.wait_for_log(r"pop3: refusing to run a session in group root for %s" % name)
            d.wait_for_log(r"pop3 session=[0-9a-f]{12} ip=127\.3\.9\.9 user=%s setuid failed" % name)
            with open(box, "rb") as f:
                self.assertEqual(f.read(), h.mbox_message(1), "the mailbox untouched")
        print("\n%s, in group root only through a supplementary group, refused before any change of user"
              % name)

    def test_an_owner_in_many_groups_keeps_them_all(self):
        # More groups than the monitor holds without an allocation (64): before, getgrouplist's
        # "too many" left the mailbox process with the primary group and mail only, silently, so a
        # mailbox shared through a group became unreadable to a user who had joined many.
        users = r.SystemUsers(self, 1)
        (name,) = users.names
        extras = ["%sm%d" % (name, i) for i in range(70)]
        for g in extras:
            self.addCleanup(subprocess.run, ["groupdel", g], capture_output=True)
            subprocess.run(["groupadd", "-U", name, g], check=True, capture_output=True)
        extra_gids = {grp.getgrnam(g).gr_gid for g in extras}
        mail_gid = grp.getgrnam("mail").gr_gid
        cfg = sh.base_config(auth={"backend": "system"}, pop3={"trusted_networks": "127.0.0.0/8"})
        with r.Daemon(self, config=cfg, listeners=("pop3",)) as d:
            spool_mailbox(d, users, name, h.mbox_message(1))
            d.start()
            c = r.Pop3(d.port("pop3"), source="127.3.9.10")
            c.login(name, users.password)
            pid = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 session=[0-9a-f]{12} ip=127\.3\.9\.10 user=%s "
                                     r"mailbox open" % name).group(1))
            groups = set(creds(pid)[2])
            c.cmd("QUIT")
            c.close()
        self.assertEqual(groups, extra_gids | {users.pw(name).pw_gid, mail_gid},
                         "the mailbox process has all %d of the owner's groups and mail" % (len(extras) + 1))
        print("\n%s, in %d groups, served with all of them and mail (%d groups)" % (name, len(extras) + 1, len(groups)))

    def test_no_session_runs_as_root(self):
        # Neither uid 0 nor gid 0 ever owns a mailbox. auth.passwd_file refuses a line that names
        # uid 0 (file:line; check_auth tries gid 0); and should an answer name either anyway (a
        # subverted auth worker, played here by the test on the worker's end of the channel while
        # the worker is held still), the mailbox process refuses it before any change of user
        # (pop3_privs.c). strace -f on the master sees every session process from its fork
        # (process_reuse = 0: each connection forks its monitor).
        if STRACE is None:
            self.skipTest("strace is not installed")
        cfg = {"server": {"process_reuse": "0"}, "auth": {"workers": "1"}}
        with r.Daemon(self, config=cfg, listeners=("pop3",)) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            root_box = os.path.join(d.dir, "mail", "toor")  # what a session as root would open
            with open(root_box, "wb") as f:
                f.write(h.mbox_message(2))
            os.chmod(root_box, 0o600)
            with open(d.passwd_path, "a") as f:
                f.write("toor:%s:mbox:%s:0:0\n" % (h.crypt_hash("toor-pw"), root_box))
            line = len(d.users) + 1
            d.start()
            master = d.proc.pid
            auth_pid = int(d.wait_for_log(r"popgated/auth\[(\d+)\]: \w+: auth worker ready").group(1))
            shared = set(sockets_and_pipes(auth_pid).values()) & set(sockets_and_pipes(master).values())
            self.assertEqual(len(shared), 1, "the auth worker shares exactly its channel end with the master")
            worker_end = fd_of(master, shared.pop())
            trace = os.path.join(d.dir, "sessions.strace")
            st = subprocess.Popen([STRACE, "-f", "-p", str(master), "-o", trace,
                                   "-e", "trace=setuid,setreuid,setresuid,setfsuid,setgid,setregid,setresgid,execve"],
                                  stderr=subprocess.PIPE, text=True)
            stopped = []
            try:
                self.assertIn("attached", st.stderr.readline())
                # An ordinary login, for what the trace shows of a change of user.
                c = r.Pop3(d.port("pop3"), source="127.3.9.1")
                c.login("alice", "secret")
                c.cmd("QUIT")
                c.close()
                alice = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 session=[0-9a-f]{12} ip=127\.3\.9\.1 "
                                           r"user=alice mailbox open").group(1))
                # The right password for the line naming uid 0: that line was never loaded.
                c = r.Pop3(d.port("pop3"), source="127.3.9.2")
                c.cmd("USER toor")
                with self.assertRaisesRegex(r.Pop3Error, r"^PASS: -ERR \[AUTH\] Authentication failed$"):
                    c.cmd("PASS toor-pw")
                c.close()
                d.wait_for_log(r"%s:%d: uid 0 \(root\) is not allowed; entry skipped" % (re.escape(d.passwd_path), line))
                # The worker stopped (not only signalled: a worker not yet stopped could still take
                # the request), its request waits on the channel for whoever reads that end.
                stopped = r.descendants(auth_pid)
                h.hold_still(stopped)

                def stand_in(source, user, uid, gid):
                    # The next request on the channel, answered OK for USER with UID and GID.
                    chan = socket.socket(fileno=steal_fd(master, worker_end))
                    chan.settimeout(30)
                    c = r.Pop3(d.port("pop3"), source=source)
                    c.cmd("USER " + user)
                    c.sock.sendall(b"PASS any\r\n")
                    # Room for the kernel's stamp of the sender too: this end has SO_PASSCRED.
                    req, anc, _, _ = chan.recvmsg(65536, socket.CMSG_SPACE(64))
                    chan.close()
                    fds = [fd for level, kind, data in anc if (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
                           for fd in struct.unpack("=%di" % (len(data) // 4), data)]
                    self.assertEqual((len(fds), AUTH_WIRE_REQ.unpack_from(req, 12)[1].rstrip(b"\0")),
                                     (1, user.encode()))
                    answer = socket.socket(fileno=fds[0])
                    socket.send_fds(answer, [ipc_frame(IPC_AUTH_REPLY, AUTH_WIRE_REPLY.pack(
                        0, user.encode(), uid, gid, b"/root", b"mbox:" + root_box.encode()))], [answer.fileno()])
                    answer.close()
                    reply = c.line()
                    c.close()
                    return reply

                def traced_to_its_end(pid):
                    deadline = time.time() + 20
                    while True:
                        with open(trace) as tf:
                            if re.search(r"^%d +\+\+\+ exited" % pid, tf.read(), re.M):
                                return
                        self.assertLess(time.time(), deadline, "process %d never ended" % pid)
                        time.sleep(0.05)

                reply = stand_in("127.3.9.3", "toor", 0, 0)
                refuser = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3: refusing to run a session as root "
                                             r"for toor").group(1))
                d.wait_for_log(r"pop3 session=[0-9a-f]{12} ip=127\.3\.9\.3 user=toor setuid failed")
                traced_to_its_end(refuser)
                # Root's group is refused as root is: an answer of server.user's uid with gid 0.
                group_reply = stand_in("127.3.9.4", "wheel", d.uid, 0)
                group_refuser = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3: refusing to run a session in "
                                                   r"group root for wheel").group(1))
                d.wait_for_log(r"pop3 session=[0-9a-f]{12} ip=127\.3\.9\.4 user=wheel setuid failed")
                traced_to_its_end(group_refuser)
            finally:
                for p in stopped:
                    os.kill(p, signal.SIGCONT)
                st.terminate()
                st.wait(30)
                st.stderr.close()
            self.assertEqual(reply, b"-ERR [SYS/TEMP] Cannot switch to the mailbox owner")
            self.assertEqual(group_reply, b"-ERR [SYS/TEMP] Cannot switch to the mailbox owner")
            calls = strace_calls(trace)
            ids = [c for c in calls if c[1] != "execve"]
            self.assertEqual([c for c in ids if c[1] != "setfsuid" and c[3] == "0" and "0" in c[2].split(", ")],
                             [], "a session process became root")
            self.assertEqual([c for c in ids if c[1] == "setfsuid" and c[2] == "0"], [])
            self.assertEqual([c for c in calls if c[1] == "execve"], [], "a session process ran a program")
            self.assertEqual([c for c in ids if c[0] in (refuser, group_refuser)], [], "a refusing process changed ids")
            # What a change of user looks like in this trace: the mailbox owner (server.user for a
            # line without uid:gid), then the check that root cannot come back; the same check
            # follows every protocol child's drop to server.login_user.
            mine = [c[1:] for c in ids if c[0] == alice and c[1] in ("setresuid", "setuid")]
            self.assertEqual(mine[:2], [("setresuid", "%d, %d, %d" % ((d.uid,) * 3), "0"),
                                        ("setuid", "0", "-1 EPERM (Operation not permitted)")])
            dropped = {c[0] for c in ids if c[1:] == ("setresuid", "%d, %d, %d" % ((d.login_uid,) * 3), "0")}
            verified = {c[0] for c in ids if c[1:] == ("setuid", "0", "-1 EPERM (Operation not permitted)")}
            self.assertEqual(len(dropped), 4, "a protocol child a connection")
            self.assertLessEqual(dropped, verified, "a protocol child did not check that root cannot come back")
        print("\nuid 0: the passwd file line refused (file:line), the login failed; a worker's answer of uid 0, "
              "and of gid 0, refused by the mailbox process (%s); no set*id call to 0 succeeded in %d traced, %d "
              "protocol children's drops checked by setuid(0)" % (reply.decode(), len(ids), len(dropped)))


    def test_the_exec_d_programs(self):
        # popgate-admind, popgate-dracd and the sendmail of smtp.forward: what each is started with.
        runs = os.path.join(r.scratch(), "runs")
        os.mkdir(runs)
        os.chmod(runs, 0o1777)
        self.addCleanup(shutil.rmtree, os.path.dirname(runs), True)
        standin = os.path.join(os.path.dirname(runs), "sendmail")
        with open(standin, "w") as f:
            f.write(SENDMAIL_STANDIN % (sh.SYSTEM_PYTHON, runs))
        os.chmod(standin, 0o755)
        cfg = sh.base_config(relay={"drac_listen": "127.0.0.1:%d" % h.free_port()},
                             smtp={"forward": "sendmail:" + standin})
        with r.Daemon(self, config=cfg, listeners=("smtp", "admin")) as d:
            d.start()
            admin_pid = int(d.wait_for_log(r"popgated/admin\[(\d+)\]: \w+: admin: serving").group(1))
            drac_pid = int(d.wait_for_log(r"popgated/drac\[(\d+)\]: \w+: drac: serving").group(1))
            server_user = ([d.uid] * 3, [d.gid] * 3, [d.gid], 0, 0)
            for name, pid in (("popgate-admind", admin_pid), ("popgate-dracd", drac_pid)):
                self.assertTrue(os.readlink("/proc/%d/exe" % pid).endswith("/" + name))
                uids, _, _, capprm, capeff = creds(pid)
                self.assertEqual((uids, capprm, capeff), ([d.uid] * 4, 0, 0), name)
                # Exec'd as server.user, each makes itself not dumpable: no other server.user
                # process (a subverted protocol child) can read its memory, Yama or not.
                self.assertEqual(attempt(server_user, lambda p=pid: os.close(os.open("/proc/%d/mem" % p, os.O_RDONLY))),
                                 errno.EACCES, "%s is dumpable" % name)
            c = r.connect(d.port("smtp"))
            f = c.makefile("rb")
            f.readline()
            for line in (b"HELO client.test", b"MAIL FROM:<a@example.org>", b"RCPT TO:<user@example.org>", b"DATA"):
                c.sendall(line + b"\r\n")
                self.assertRegex(f.readline(), rb"^(250|354) ", line)
            c.sendall(b"Subject: t\r\n\r\nhello\r\n.\r\n")
            self.assertRegex(f.readline(), rb"^250 ", "the stand-in took the message")
            c.sendall(b"QUIT\r\n")
            f.close()
            c.close()
            with open(os.path.join(runs, "run.json")) as rf:
                run = json.load(rf)
        self.assertEqual(run["uid"], [d.login_uid] * 4, "sendmail runs as server.login_user, as the protocol child")
        self.assertEqual((run["capprm"], run["capeff"]), (0, 0), "sendmail holds no capability")
        self.assertEqual(sorted(run["fds"]), ["0", "1", "2"], "only stdin, stdout and stderr: %s" % run["fds"])
        self.assertTrue(run["fds"]["0"].startswith("pipe:"), "stdin: the message, from a pipe")
        self.assertEqual(run["fds"]["1"], run["fds"]["2"], "stdout and stderr: one file the session logs")
        self.assertEqual(run["env"], ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        print("\npopgate-admind and popgate-dracd: server.user, no capability, not dumpable; sendmail: server.login_user, "
              "no capability, descriptors %s, environment %s" % (sorted(run["fds"]), run["env"]))


    def test_a_stopped_lookup_worker_is_a_temporary_failure(self):
        # The SMTP protocol child used to open the relay database itself when the lookup worker
        # did not answer. Now it cannot (server.login_user owns none of it) and does not try: the
        # RCPT gets a 451, as from an MTA whose policy service is down, and it is said once.
        # The worker is held still with SIGSTOP, so the session's question waits out its deadline.
        if STRACE is None:
            self.skipTest("strace is not installed")
        with r.Daemon(self, config=sh.base_config(), listeners=("smtp",)) as d:
            d.start()
            worker = int(d.wait_for_log(r"popgated/lookup\[(\d+)\]: \w+: relaydb: lookup worker listening").group(1))
            relay_dir = d.config["relay"]["db_dir"]
            sh.ctl(d, "add", "127.3.6.1", "--ttl", "1h")  # what the old fallback would have read
            self.assertEqual(relay_answer(d, "127.3.6.1"), 250, "authorized, through the worker")
            smtp = r.connect(d.port("smtp"), source="127.3.6.1", timeout=60)
            f = smtp.makefile("rb")
            self.assertRegex(f.readline(), rb"^220 ")
            child = protocol_child(self, d, smtp)
            self.assertEqual(r.status(child)["Uid"], [str(d.login_uid)] * 4)
            trace = os.path.join(d.dir, "child.strace")
            st = subprocess.Popen([STRACE, "-f", "-p", str(child), "-o", trace,
                                   "-e", "trace=open,openat,openat2,creat,stat,newfstatat,statx,access,connect"],
                                  stderr=subprocess.PIPE, text=True)
            os.kill(worker, signal.SIGSTOP)
            try:
                # strace says so on stderr once it is attached; nothing before that is traced.
                self.assertIn("attached", st.stderr.readline())
                for line in (b"HELO client.test", b"MAIL FROM:<a@example.org>"):
                    smtp.sendall(line + b"\r\n")
                    self.assertRegex(f.readline(), rb"^250 ", line)
                smtp.sendall(b"RCPT TO:<someone@elsewhere.example>\r\n")
                reply = f.readline()
                smtp.sendall(b"RCPT TO:<another@elsewhere.example>\r\n")
                again = f.readline()
                held = sorted(os.readlink("/proc/%d/fd/%s" % (child, n)) for n in os.listdir("/proc/%d/fd" % child))
            finally:
                os.kill(worker, signal.SIGCONT)
                st.terminate()
                st.wait(30)
                st.stderr.close()
            self.assertEqual(reply, b"451 4.3.0 Temporary failure checking relay permission, try again later\r\n")
            self.assertEqual(again[:10], b"451 4.3.0 ", "a second RCPT of the session")
            with open(trace) as tf:
                calls = tf.read().splitlines()
            self.assertTrue(any("lookup.sock" in c for c in calls), "the child asked the worker: %s" % calls)
            self.assertEqual([c for c in calls if relay_dir in c], [], "the child touched the relay database")
            self.assertEqual([p for p in held if p.startswith(relay_dir)], [], "the child holds %s" % held)
            self.assertEqual(len(re.findall(r"relaydb: the lookup worker did not answer \(Connection timed out\)",
                                            d.log())), 1, "said once")
            smtp.sendall(b"QUIT\r\n")
            f.close()
            smtp.close()
            # The worker, going on, answers the next session.
            self.assertEqual(relay_answer(d, "127.3.6.1"), 250)
        print("\nwith the lookup worker stopped, RCPT: %s; the protocol child touched nothing in %s "
              "(%d calls traced)" % (reply.decode().strip(), relay_dir, len(calls)))

    def test_login_user_checked_at_start(self):
        # server.login_user must exist and not be root's (file:line, status 78); naming server.user
        # itself leaves the hole open, and start-up says so.
        with h.Popgated(self, listeners=("smtp",)) as d:
            for value, want in (("no-such-login-user", "server.login_user: no such user 'no-such-login-user'"),
                                ("root", "server.login_user: 'root' is root's")):
                d.config["server"]["login_user"] = value
                d.write_config()
                line = d.config_text().splitlines().index("login_user = %s" % value) + 1
                res = subprocess.run([h.POPGATED, "-t", "-f", d.conf_path], capture_output=True, text=True)
                self.assertEqual(res.returncode, 78, res.stdout + res.stderr)
                self.assertIn("%s:%d: %s" % (d.conf_path, line, want), res.stderr)
        with r.Daemon(self, config={"server": {"login_user": h.run_user()}}, listeners=("smtp",)) as d:
            d.start()
            line = d.config_text().splitlines().index("login_user = %s" % d.user) + 1
            d.wait_for_log(r"%s:%d: server\.login_user: '%s' is server\.user: the protocol children, which read "
                           r"the network, can write the relay database" % (re.escape(d.conf_path), line, d.user))
            smtp = r.connect(d.port("smtp"))
            smtp.recv(100)
            child = protocol_child(self, d, smtp)
            self.assertEqual(r.status(child)["Uid"], [str(d.uid)] * 4, "as configured, with the warning")
            smtp.close()
        print("\nserver.login_user: an unknown user and root refused with file:line; server.user itself warned of")

    def unit_bounding_set(self):
        """The capabilities etc/popgated.service's CapabilityBoundingSet= names."""
        with open(os.path.join(h.SRCDIR, "etc", "popgated.service.in")) as f:
            m = re.search(r"^CapabilityBoundingSet=(.*)$", f.read(), re.M)
        self.assertIsNotNone(m, "the unit bounds the capabilities")
        return set(m.group(1).split())

    def test_the_unit_lets_the_master_keep_its_capabilities(self):
        # Under systemd the master can keep only what CapabilityBoundingSet= allows: a capability
        # dropped from the unit but still kept by privdrop.c would stop popgated at start.
        bounded = self.unit_bounding_set()
        kept = {name for bit, name in CAP_NAMES.items() if KEPT_CAPS & (1 << bit)}
        self.assertEqual(len(kept), bin(KEPT_CAPS).count("1"))
        self.assertLessEqual(kept, bounded, "the master keeps what the unit does not allow")
        self.assertNotIn("CAP_SYS_ADMIN", bounded)
        self.assertNotIn("CAP_DAC_OVERRIDE", bounded)
        print("\nthe unit's bounding set %s holds the master's %s" % (sorted(bounded), sorted(kept)))

    def test_popgated_serves_within_the_units_bounding_set(self):
        # What systemd does with CapabilityBoundingSet= (PR_CAPBSET_DROP before the exec), done
        # here by setpriv: started as root inside the unit's bound, popgated serves a system user's
        # mailbox as its owner, records the login, relays for it, reloads and stops cleanly. With
        # any one capability the master keeps taken out of the bound it refuses to start, which
        # is why the unit must name them all. (Only the bound: the rest of the unit's sandbox
        # needs systemd itself, ARCHITECTURE.md "Not yet tested".)
        h.need("setpriv")
        bounded = self.unit_bounding_set()
        kept = {name for bit, name in CAP_NAMES.items() if KEPT_CAPS & (1 << bit)}

        def within(caps):
            return ["setpriv", "--bounding-set", ",".join(["-all"] + ["+" + c[4:].lower() for c in sorted(caps)]), "--"]

        def mask(caps):
            bits = {name: bit for bit, name in CAP_NAMES.items()}
            bits["CAP_SETPCAP"] = 8  # linux/capability.h
            return sum(1 << bits[c] for c in caps)

        users = r.SystemUsers(self, 1)
        (name,) = users.names
        cfg = sh.base_config(auth={"backend": "system"}, relay={"allow": ""}, pop3={"trusted_networks": "127.0.0.0/8"})
        with r.Daemon(self, config=cfg, listeners=("pop3", "smtp")) as d:
            box = spool_mailbox(d, users, name, b"")
            d.start(wrap=within(bounded))
            self.assertEqual(int(r.status(d.proc.pid)["CapBnd"][0], 16), mask(bounded), "setpriv bounded it")
            # Made inside server.user's state_dir, which root may no longer write to, and setgid.
            login = os.stat(os.path.join(d.config["server"]["state_dir"], "login"))
            self.assertEqual((login.st_uid, login.st_gid, login.st_mode & 0o7777),
                             (d.uid, pwd.getpwnam(h.login_user()).pw_gid, 0o2750))
            self.assertEqual(sh.rcpt_code(d, "127.3.9.12") // 100, 5, "no relaying before the login")
            for round_ in ("started", "reloaded"):
                with open(box, "wb") as f:  # the owner's file, rewritten in place
                    f.write(h.mbox_message(1) + h.mbox_message(2))
                c = r.Pop3(d.port("pop3"), source="127.3.9.12")
                c.login(name, users.password)
                self.assertIn(b"Subject: test 1", c.retr(1))
                c.cmd("DELE 1")
                c.cmd("QUIT")
                c.close()
                with open(box, "rb") as f:
                    self.assertEqual(f.read(), h.mbox_message(2), "%s: the owner's mailbox updated" % round_)
                self.assertEqual(sh.rcpt_code(d, "127.3.9.12"), 250, round_)
                mark = len(d.log())
                d.reload()
                d.wait_for_log(r"reloaded ", start=mark)
            self.assertEqual(d.stop(), 0)
        self.assertNotRegex(d.log(), r"died of signal|error: ")
        refused = {}
        for cap in sorted(kept):
            with r.Daemon(self, config=cfg, listeners=("pop3",)) as d:
                d.start(wait=False, wrap=within(bounded - {cap}))
                d.proc.wait(30)
                refused[cap] = d.stop()
                self.assertNotEqual(refused[cap], 0, "started without %s" % cap)
                # Said plainly: the step that needed it (giving a directory away, or keeping the set).
                self.assertRegex(d.log(), r"error: .*: Operation not permitted", cap)
        print("\nwithin the unit's bound %s: a system user's session, relaying, a reload and a clean stop; "
              "without any one of %s popgated exits %s" % (sorted(bounded), sorted(kept), refused))


if __name__ == "__main__":
    h.main()
