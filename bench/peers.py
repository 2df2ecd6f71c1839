# SPDX-License-Identifier: GPL-2.0-or-later
"""peers - the servers under test, each started by hand in its own directory on 127.0.0.1 high ports.

    Mail      the users, one password hash per scheme, and identical mailbox copies for each server
    Popgate   popgated -F with a bench popgate.conf
    Dovecot   dovecot -F -c dovecot.conf (its own base_dir, state_dir, log and index directories)
    Postfix   a private instance: postfix -c ETC start-fg, its own queue and data directories
    Sink      Postfix's smtp-sink, the next hop both SMTP servers relay to

Every class has start() and stop(), and root_pid for CPU and memory accounting. Nothing outside the
benchmark's temporary directory is written (the Debian packages are only installed).
"""

import contextlib
import os
import re
import signal
import subprocess
import time

import benchlib as b


class Mail:
    """The benchmark's users and mailboxes; each server gets its own byte-identical copy."""

    def __init__(self, top, sizes, popgatectl):
        self.top = top
        self.sizes = sizes
        self.hashes = {"sha512-crypt": b.sha512_crypt(b.PASSWORD), "yescrypt": b.yescrypt(b.PASSWORD, popgatectl)}
        self.users = []  # (name, kind "mbox"|"maildir", scheme, source path)
        # Users with a uid (and group) of their own, as system users have; the others share the mail
        # user's, as an ISP's virtual users often do. {name: (uid, gid)}
        self.owners = {}

    def owner(self, name):
        """The uid and gid NAME's mailbox belongs to and its sessions run as."""
        return self.owners.get(name, (b.MAIL_UID, b.MAIL_GID))

    def build(self):
        """Write the source mailboxes once; the servers copy them."""
        src = os.path.join(self.top, "src")
        os.makedirs(src)
        s = self.sizes
        one = os.path.join(src, "one-4k")
        b.write_mbox(one, 1, 4096)
        onedir = os.path.join(src, "one-4k.maildir")
        b.write_maildir(onedir, 1, 4096)
        for i in range(s["session_users"]):
            self.users.append(("m%d" % i, "mbox", "sha512-crypt", one))
            self.users.append(("d%d" % i, "maildir", "sha512-crypt", onedir))
            self.users.append(("y%d" % i, "mbox", "yescrypt", one))
        for i in range(s.get("own_uid_users", 0)):
            self.users.append(("u%d" % i, "mbox", "sha512-crypt", one))
            self.owners["u%d" % i] = (b.OWN_UID_BASE + i, b.OWN_UID_BASE + i)
        for i in range(s["idle"]):
            self.users.append(("i%d" % i, "mbox", "sha512-crypt", one))
        big = os.path.join(src, "retr")
        b.write_mbox(big, s["retr_messages"], 1 << 20)
        self.users.append(("retr0", "mbox", "sha512-crypt", big))
        huge = os.path.join(src, "huge")
        b.write_mbox(huge, s["huge_messages"], s["huge_size"])
        self.users.append(("huge0", "mbox", "sha512-crypt", huge))
        self.huge_bytes = os.path.getsize(huge)
        self.retr_bytes = os.path.getsize(big)

    def install(self, maildir_root):
        """Copies of every mailbox under MAILDIR_ROOT (owned by the mail user); {name: (kind, path)}."""
        os.makedirs(maildir_root)
        os.chown(maildir_root, b.MAIL_UID, b.MAIL_GID)
        # The users with a uid of their own keep their mboxes in a spool like Debian's /var/mail:
        # group mail may write it (the dotlocks), each mbox is its owner's alone.
        spool = os.path.join(maildir_root, "spool")
        os.makedirs(spool)
        os.chown(spool, b.MAIL_UID, b.MAIL_GID)
        os.chmod(spool, 0o2775)
        out = {}
        for name, kind, scheme, src in self.users:
            where = spool if name in self.owners else maildir_root
            dst = os.path.join(where, name + (".maildir" if kind == "maildir" else ""))
            b.copy_mailbox(src, dst)
            if name in self.owners:
                os.chown(dst, *self.owners[name])
            out[name] = (kind, dst)
        return out


class Popgate:
    """popgated from the build tree, configured like an ISP would, limits raised for 1000 idle sessions."""

    name = "popgate"

    def __init__(self, top, builddir, mail, cert, key, sink_port, max_conn, process_reuse=None):
        self.process_reuse = process_reuse  # None: popgated's default
        self.dir = os.path.join(top, "popgate")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.builddir = builddir
        self.mail, self.cert, self.key = mail, cert, key
        self.sink_port, self.max_conn = sink_port, max_conn
        self.ports = {"pop3": b.free_port(), "pop3s": b.free_port(), "smtp": b.free_port(),
                      "socketmap": b.free_port()}
        self.conf = os.path.join(self.dir, "popgate.conf")
        self.log = os.path.join(self.dir, "popgated.log")
        self.state = os.path.join(self.dir, "state")
        self.proc = None
        self.log_mark, self.auth_pid = 0, None  # set by start: where its log begins, its auth worker

    def configure(self):
        boxes = self.mail.install(os.path.join(self.dir, "mail"))
        passwd = os.path.join(self.dir, "users.passwd")
        with open(passwd, "w") as f:
            for name, kind, scheme, _ in self.mail.users:
                f.write("%s:%s:%s:%s:%d:%d\n" % (name, self.mail.hashes[scheme], kind, boxes[name][1],
                                                *self.mail.owner(name)))
        os.chmod(passwd, 0o644)
        p = self.ports
        with open(self.conf, "w") as f:
            f.write("""; popgate.conf written by bench/run
[server]
hostname = popgate.bench.test
user = nobody
; the protocol children: a base-passwd user with a group of its own, as the tests use
login_user = irc
state_dir = %(state)s
pid_file = %(dir)s/popgated.pid
max_connections = %(maxc)d
max_connections_per_ip = %(maxc)d
shutdown_timeout = 5s
%(reuse)s
[tls]
cert_file = %(cert)s
key_file = %(key)s
[auth]
backend = file
passwd_file = %(passwd)s
[pop3]
listen = 127.0.0.1:%(pop3)d
listen_tls = 127.0.0.1:%(pop3s)d
[smtp]
listen = 127.0.0.1:%(smtp)d
listen_tls =
forward = smtp:127.0.0.1:%(sink)d
forward_tls = no
[relay]
db_dir = %(state)s/relay
; relaying is authorized by POP-before-SMTP alone: the database is read at every RCPT
allow =
timeout = 24h
; the socketmap Postfix asks in the socketmap workload (docs/MTA.md)
socketmap_listen = 127.0.0.1:%(smap)d
[admin]
listen =
""" % {"state": self.state, "dir": self.dir, "maxc": self.max_conn, "cert": self.cert, "key": self.key,
               "passwd": passwd, "pop3": p["pop3"], "pop3s": p["pop3s"], "smtp": p["smtp"], "sink": self.sink_port,
               "smap": p["socketmap"],
               "reuse": "" if self.process_reuse is None else "process_reuse = %d" % self.process_reuse})
        self.boxes = boxes

    def start(self):
        logf = open(self.log, "ab")
        mark = os.path.getsize(self.log)
        self.proc = subprocess.Popen([os.path.join(self.builddir, "src", "popgated"), "-F", "-f", self.conf],
                                     stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()
        self.log_mark, self.auth_pid = mark, None
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(self.log, "rb") as f:
                f.seek(mark)
                if b"ready on" in f.read():
                    return
            if self.proc.poll() is not None:
                raise b.BenchError("popgated exited (%s): %s" % (self.proc.returncode, self.tail_log()))
            time.sleep(0.05)
        raise b.BenchError("popgated did not get ready: %s" % self.tail_log())

    def auth_worker(self):
        """The auth worker's pid (its helpers are its children), from its own "ready" line since this
        start, read once (the log grows by every session's lines); None if not found."""
        if self.auth_pid is None or not os.path.exists("/proc/%d" % self.auth_pid):
            with open(self.log, "rb") as f:
                f.seek(self.log_mark)
                found = re.findall(rb"/auth\[(\d+)\]: info: auth worker ready", f.read())
            self.auth_pid = int(found[-1]) if found else None
        return self.auth_pid

    def tail_log(self, n=4000):
        with open(self.log, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")

    def stop(self):
        b.stop_process(self.proc)
        for port in self.ports.values():
            b.wait_port_closed(port)

    @property
    def root_pid(self):
        return self.proc.pid

    def ctl(self, *args):
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        return b.run([os.path.join(self.builddir, "src", "popgatectl"), "-f", self.conf] + list(args), env=env)


class Dovecot:
    """Dovecot's POP3 server with the same users, hash and mailboxes, Debian's defaults otherwise."""

    name = "Dovecot"

    def __init__(self, top, mail, cert, key, max_conn):
        self.dir = os.path.join(top, "dovecot")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.mail, self.cert, self.key, self.max_conn = mail, cert, key, max_conn
        self.ports = {"pop3": b.free_port(), "pop3s": b.free_port()}
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.log = os.path.join(self.dir, "dovecot.log")
        self.proc = None

    def _passwd_line(self, name, kind, scheme, path):
        d = self.dir
        if kind == "mbox":
            loc = "mbox:%s/home/%s/mail:INBOX=%s:INDEX=%s/index/%s" % (d, name, path, d, name)
        else:
            loc = "maildir:%s:INDEX=%s/index/%s:CONTROL=%s/control/%s" % (path, d, name, d, name)
        return "%s:{CRYPT}%s:%d:%d::%s/home/%s::userdb_mail=%s\n" % (name, self.mail.hashes[scheme],
                                                                     *self.mail.owner(name), d, name, loc)

    def configure(self):
        boxes = self.mail.install(os.path.join(self.dir, "mail"))
        for sub in ("home", "index", "control"):
            os.makedirs(os.path.join(self.dir, sub))
            os.chown(os.path.join(self.dir, sub), b.MAIL_UID, b.MAIL_GID)
            # A user with a uid of its own cannot make its directory in the mail user's: made for it.
            for name, owner in self.mail.owners.items():
                mine = os.path.join(self.dir, sub, name)
                os.mkdir(mine, 0o700)
                os.chown(mine, *owner)
        passwd = os.path.join(self.dir, "users.passwd")
        with open(passwd, "w") as f:
            for name, kind, scheme, _ in self.mail.users:
                f.write(self._passwd_line(name, kind, scheme, boxes[name][1]))
        os.chmod(passwd, 0o644)
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF % {"dir": self.dir, "passwd": passwd, "cert": self.cert, "key": self.key,
                                    "pop3": self.ports["pop3"], "pop3s": self.ports["pop3s"],
                                    "maxc": self.max_conn, "clients": self.max_conn * 4,
                                    "uid": b.MAIL_UID})
        self.boxes = boxes

    def start(self):
        logf = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf], stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        b.wait_port(self.ports["pop3"], proc=self.proc)
        b.wait_port(self.ports["pop3s"], proc=self.proc)

    def stop(self):
        b.stop_process(self.proc)
        for port in self.ports.values():
            b.wait_port_closed(port)

    @property
    def root_pid(self):
        return self.proc.pid


# Debian's defaults but for the directories, listeners and limits. pop3-login keeps its default
# service_count = 1 (one process per connection, as popgated forks one per connection).
DOVECOT_CONF = """# dovecot.conf written by bench/run
instance_name = bench-dovecot
base_dir = %(dir)s/run
state_dir = %(dir)s/state
log_path = %(dir)s/dovecot.log
protocols = pop3
listen = 127.0.0.1
disable_plaintext_auth = no
auth_mechanisms = plain
ssl = yes
ssl_cert = <%(cert)s
ssl_key = <%(key)s
ssl_min_protocol = TLSv1.2
default_process_limit = %(maxc)d
default_client_limit = %(clients)d
first_valid_uid = %(uid)d
passdb {
  driver = passwd-file
  args = scheme=CRYPT %(passwd)s
}
userdb {
  driver = passwd-file
  args = %(passwd)s
}
protocol pop3 {
  mail_max_userip_connections = %(maxc)d
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = %(pop3)d
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = %(pop3s)d
    ssl = yes
  }
  process_limit = %(maxc)d
}
service pop3 {
  process_limit = %(maxc)d
}
service anvil {
  client_limit = %(clients)d
}
service auth {
  client_limit = %(clients)d
}
"""


class Sink:
    """smtp-sink: accepts every message and counts; the next hop of both SMTP servers."""

    def __init__(self, top):
        self.dir = os.path.join(top, "sink")
        os.makedirs(self.dir)
        self.port = b.free_port()
        self.out = os.path.join(self.dir, "counters")
        self.proc = None

    def start(self):
        f = open(self.out, "wb")
        # -c: counters on stdout; -u: smtp-sink refuses to run as root; 1024: the listen backlog.
        self.proc = subprocess.Popen(["smtp-sink", "-c", "-u", "nobody", "127.0.0.1:%d" % self.port, "1024"],
                                     stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        f.close()
        b.wait_port(self.port, proc=self.proc)

    def messages(self):
        """Messages received so far."""
        with open(self.out, "rb") as f:
            data = f.read()[-200:]
        m = re.findall(rb"mesg=(\d+)", data)
        return int(m[-1]) if m else 0

    def stop(self):
        b.stop_process(self.proc)


class Postfix:
    """A private Postfix instance: smtpd on a high port, relayhost the sink, relay by the same map."""

    name = "Postfix"

    def __init__(self, top, sink_port, access_map, max_conn, socketmap_port):
        self.dir = os.path.join(top, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        # smtp_socketmap: a second smtpd deciding relaying by asking popgate's socketmap instead.
        self.ports = {"smtp": b.free_port(), "smtp_socketmap": b.free_port()}
        self.sink_port, self.access_map, self.max_conn = sink_port, access_map, max_conn
        self.socketmap_port = socketmap_port
        self.proc = None

    def configure(self):
        for d in (self.etc, self.queue, os.path.join(self.dir, "data")):
            os.makedirs(d)
        os.chmod(self.dir, 0o755)
        b.run(["chown", "postfix", os.path.join(self.dir, "data")])
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(POSTFIX_MAIN % {"dir": self.dir, "sink": self.sink_port, "map": self.access_map,
                                    "maxc": self.max_conn + 50})
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER % {"port": self.ports["smtp"], "smport": self.ports["smtp_socketmap"],
                                      "smap": self.socketmap_port})
        self._postfix("check")

    def _postfix(self, *args):
        # postfix(1) reports only to syslog, which may not exist here; "script" gives it a terminal.
        cmd = " ".join(["postfix", "-c", self.etc] + list(args))
        r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True)
        if r.returncode != 0:
            raise b.BenchError("%s: %s" % (cmd, r.stdout.strip()))
        return r

    def start(self):
        logf = open(os.path.join(self.dir, "start-fg.log"), "ab")
        self.proc = subprocess.Popen(["postfix", "-c", self.etc, "start-fg"], stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        b.wait_port(self.ports["smtp"], proc=self.proc)

    def queued(self):
        """Messages still in the queue (not yet handed to the sink)."""
        n = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.queue, sub)):
                n += len(files)
        return n

    def deferred(self):
        return sum(len(f) for _, _, f in os.walk(os.path.join(self.queue, "deferred")))

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self._postfix("stop")
                self.proc.wait(20)
            except (b.BenchError, subprocess.TimeoutExpired):
                # "postfix stop" refuses while start-fg has not started the master yet; and killing
                # the script alone would leave a master it starts behind, running on.
                b.stop_process(self.proc)
        self._end_instance()
        for port in self.ports.values():
            b.wait_port_closed(port)

    def _instance_pids(self):
        """Every process of this instance: postfix(1) gives each MAIL_CONFIG, and its master passes it on."""
        mark = ("MAIL_CONFIG=%s" % self.etc).encode()
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/environ" % d, "rb") as f:
                        if mark in f.read().split(b"\0"):
                            out.append(int(d))
                except OSError:
                    continue
        return out

    def _end_instance(self, grace=10):
        """SIGTERM, then SIGKILL, whatever of this instance outlived its master's stop."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            deadline = time.time() + grace
            while time.time() < deadline:
                left = self._instance_pids()
                if not left:
                    return
                for pid in left:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
                        os.kill(pid, signal.SIGCONT)  # a stopped one would hold SIGTERM pending
                time.sleep(0.1)
        raise b.BenchError("Postfix processes %s outlived SIGKILL" % self._instance_pids())

    @property
    def root_pid(self):
        return self.proc.pid


# Relaying as popgated does it: not by network (mynetworks holds no loopback address) but by a
# lookup of the client address in the POP-before-SMTP map at RCPT time.
POSTFIX_MAIN = """# main.cf written by bench/run
compatibility_level = 3.6
queue_directory = %(dir)s/queue
data_directory = %(dir)s/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = %(dir)s
maillog_file = %(dir)s/maillog
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.bench.test
mydestination =
mynetworks = 192.0.2.1/32
relayhost = [127.0.0.1]:%(sink)d
smtpd_relay_restrictions = permit_mynetworks, check_client_access btree:%(map)s, reject_unauth_destination
alias_maps =
alias_database =
local_transport = error:local delivery is disabled
biff = no
default_process_limit = %(maxc)d
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_destination_concurrency_limit = 50
"""

POSTFIX_MASTER = """# master.cf written by bench/run: Debian's services, none chrooted, smtpd on a high port
127.0.0.1:%(port)d inet n - n - - smtpd
127.0.0.1:%(smport)d inet n - n - - smtpd
  -o smtpd_relay_restrictions=permit_mynetworks,check_client_access,socketmap:inet:127.0.0.1:%(smap)d:relay,reject_unauth_destination
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
