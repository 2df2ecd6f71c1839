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
It also reports (without failing) whether that process could remove another user's mailbox:
the spool's mode decides (Debian's /var/mail is 2775, without the sticky bit); with the sticky
bit (3775) it cannot, and popgate's own updates still work.
Needs root; skipped otherwise.
"""

import ctypes
import errno
import grp
import os
import socket
import struct
import sys
import time

import relib as r
from relib import quick_login

import popgate_harness as h
import smtp_helpers as sh

if not h.IS_ROOT:
    print("SKIP: needs root")
    sys.exit(h.SKIP)


# CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_SYS_PTRACE, CAP_SYS_ADMIN: any of them reaches every mailbox.
DANGEROUS = (1 << 1) | (1 << 3) | (1 << 19) | (1 << 21)


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


def report(event, session_pid, user=b"alice"):
    """A session_wire_report record (src/common/session_wire.h)."""
    return struct.pack("=IIi64s", 0x70677231, event, session_pid, user)


SESSION_AUTH_FAIL = 2


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
            with self.assertRaisesRegex(r.Pop3Error, r"SYS/TEMP"):
                quick_login(d, "127.3.1.2")
            victim.close()
            smtp.close()
        print("\nprotocol children share no socket or pipe with the master; %d forged reports through "
              "the master's own descriptors dropped, the named client not locked out; real failures "
              "still lock out" % forged)

    def test_processes_and_what_they_could_touch(self):
        users = r.SystemUsers(self, 2)
        a, b = users.names
        mail_gid = grp.getgrnam("mail").gr_gid
        cfg = sh.base_config(auth={"backend": "system"}, pop3={"trusted_networks": "127.0.0.0/8"})
        with r.Daemon(self, config=cfg, listeners=("pop3", "smtp", "admin")) as d:
            spool = r.spool_dir(d.dir)
            d.config["auth"]["system_mailbox"] = "mbox:%s/%%u" % spool
            for u, mode in ((a, 0o660), (b, 0o600)):
                path = os.path.join(spool, u)
                with open(path, "wb") as f:
                    f.write(h.mbox_message(1) + h.mbox_message(2))
                os.chown(path, users.pw(u).pw_uid, mail_gid)
                os.chmod(path, mode)
            d.start()
            admin_pid = int(d.wait_for_log(r"popgated/admin\[(\d+)\]").group(1))
            # Sessions in every state: SMTP, POP3 before login, POP3 after login.
            smtp = r.connect(d.port("smtp"))
            smtp.recv(100)
            pre = r.Pop3(d.port("pop3"), source="127.3.0.1")
            post = r.Pop3(d.port("pop3"), source="127.3.0.2")
            post.login(a, users.password)
            post_pid = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 ip=127\.3\.0\.2 user=%s mailbox open" % a).group(1))
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
                if ppid not in (d.proc.pid, 1, os.getpid()) and pid != d.proc.pid:
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

            # The POP3 post-login process: the mailbox owner, group mail, nothing else.
            pw = users.pw(a)
            post_creds = table[post_pid]
            self.assertEqual(post_creds[0], [pw.pw_uid] * 4, "post-login runs as the mailbox owner")
            self.assertNotEqual(pw.pw_uid, d.uid)
            self.assertEqual(post_creds[1], [pw.pw_gid] * 4)
            self.assertIn(mail_gid, post_creds[2], "group mail, for the dotlock in the spool")
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
        print("\n%d processes checked: none root, capabilities only in the master and the session "
              "monitors (%x at most); the admin worker "
              "(uid %d, groups %s) cannot touch the spool; the POP3 post-login process runs as %s (uid %d, "
              "group mail); with the spool mode %o a subverted post-login process %s rename or remove "
              "other users' mailboxes (with 3775 it cannot, and deletions still apply)"
              % (checked, master_caps, adm[0][0], adm[2], a, pw.pw_uid, spool_mode,
                 "COULD" if could_remove else "could not"))
        self.assertFalse(sticky and could_remove)


if __name__ == "__main__":
    h.main()
