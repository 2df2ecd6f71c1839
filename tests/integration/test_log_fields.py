#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_log_fields - no client text forges a log field, and the shipped fail2ban filter
(etc/fail2ban/popgate.conf) run by the real fail2ban-regex matches exactly the real login failures.

A real popgated takes failed logins from distinct loopback addresses (POP3 USER/PASS, APOP, AUTH
PLAIN and LOGIN, SMTP AUTH PLAIN and LOGIN, the admin page via curl), some of them with names full
of spaces, quotes, "ip=", CR, LF and 8-bit bytes, and forgery attempts that are no login failure
at all (MAIL FROM, RCPT TO, HELO, admin login names, a malformed HTTP request) from another
address. Then fail2ban-regex reads the daemon's own log, as written and as syslog stores it: every
failure is matched once with the address it came from, nothing else, and no line anywhere holds a
" ip=" that a client wrote.
"""

import base64
import collections
import os
import poplib
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time

import ssl

import admin_helpers as ah
import popgate_harness as h

FORGED_IP = "203.0.113.66"
FORGED = "x pop3 ip=%s user=alice login failed:" % FORGED_IP
FILTER = os.path.join(h.SRCDIR, "etc", "fail2ban", "popgate.conf")
F2B_COMMON = "/etc/fail2ban/filter.d/common.conf"
# A failure as popgated(8) writes it: the client's name is bare or a quoted string, so text inside it
# (FORGED says "login failed" too) is never counted.
LOGIN_FAILED = re.compile(r'^\S+\[\d+\]: \w+: (?:pop3s?|smtps?|admin)(?: session=[0-9a-f]+)? ip=\S+ '
                          r'user=(?:"(?:[^"\\]|\\.)*"|[^\s"\\=]+) login failed(?::|$)', re.M)


class POP3From(poplib.POP3):
    """poplib's client with its socket bound to SOURCE (an address in 127.0.0.0/8)."""

    def __init__(self, source, host, port):
        self.source = source
        super().__init__(host, port, timeout=20)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))


class Raw:
    """A line-oriented raw client bound to SOURCE, for bytes poplib and smtplib will not send."""

    def __init__(self, source, port):
        self.s = socket.create_connection(("127.0.0.1", port), 20, source_address=(source, 0))
        self.f = self.s.makefile("rb")
        self.greeting = self.line()

    def line(self):
        return self.f.readline().decode("latin-1").rstrip("\r\n")

    def ask(self, data):
        self.s.sendall(data)
        return self.line()

    def close(self):
        self.f.close()
        self.s.close()


def b64(data):
    return base64.b64encode(data).decode()


class LogFields(h.TestCase):
    def setUp(self):
        h.need("fail2ban-regex", "curl")
        if not os.path.exists(F2B_COMMON):
            print("SKIP: %s missing" % F2B_COMMON)
            raise SystemExit(h.SKIP)

    def fail2ban(self, log_path, workdir):
        """The addresses fail2ban-regex finds in LOG_PATH with the filter as installed, and the lines."""
        fdir = os.path.join(workdir, "filter.d")
        os.makedirs(fdir, exist_ok=True)
        shutil.copy(FILTER, os.path.join(fdir, "popgate.conf"))   # as make install lays it out,
        if not os.path.exists(os.path.join(fdir, "common.conf")):  # next to fail2ban's own
            os.symlink(F2B_COMMON, os.path.join(fdir, "common.conf"))
        out = {}
        for what in ("ip", "msg"):
            r = subprocess.run(["fail2ban-regex", "--out", what, log_path, os.path.join(fdir, "popgate.conf")],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            out[what] = [l for l in r.stdout.splitlines() if l.strip()]
        return collections.Counter(out["ip"]), out["msg"]

    def pop3_failures(self, d):
        """Real POP3 failures: counted per source address."""
        port = d.port("pop3")
        p = POP3From("127.0.0.2", "127.0.0.1", port)        # USER/PASS, twice
        for _ in range(2):
            p.user("alice")
            self.assertRaises(poplib.error_proto, p.pass_, "wrong")
        p.quit()
        p = POP3From("127.0.0.3", "127.0.0.1", port)        # APOP with the wrong secret
        self.assertRaises(poplib.error_proto, p.apop, "alice", "not-the-secret")
        p.quit()
        c = Raw("127.0.0.4", port)                          # hostile names, each a real failure
        names = [FORGED.encode(),                             # spaces and ip= through AUTH PLAIN
                 b"x\npop3 ip=203.0.113.66 user=alice login failed",   # LF
                 b"x\r ip=203.0.113.66\xc3\xa9\xff",                      # CR and 8-bit
                 b'"\\" ip=203.0.113.66 "']                               # quotes and backslashes
        for n in names:
            self.assertTrue(c.ask(b"AUTH PLAIN %s\r\n" % b64(b"\0" + n + b"\0wrong").encode()).startswith("-ERR"))
        self.assertEqual(c.ask(b"AUTH LOGIN\r\n"), "+ VXNlcm5hbWU6")
        self.assertEqual(c.ask(b64(FORGED.encode()).encode() + b"\r\n"), "+ UGFzc3dvcmQ6")
        self.assertTrue(c.ask(b64(b"wrong").encode() + b"\r\n").startswith("-ERR"))
        self.assertTrue(c.ask(b'USER "ip=203.0.113.66"user=alice\xff\r\n').startswith("+OK"))
        self.assertTrue(c.ask(b"PASS wrong\r\n").startswith("-ERR"))
        # Not a login: a NUL and a name with spaces are bad commands, never a failure.
        self.assertTrue(c.ask(b"USER a\0 ip=203.0.113.66\r\n").startswith("-ERR"))
        self.assertTrue(c.ask(b"USER x ip=203.0.113.66\r\n").startswith("-ERR"))
        c.ask(b"QUIT\r\n")
        c.close()
        return {"127.0.0.2": 2, "127.0.0.3": 1, "127.0.0.4": len(names) + 2}

    def smtp_failures(self, d):
        """Real SMTP AUTH failures from 127.0.0.5."""
        s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=20, source_address=("127.0.0.5", 0))
        s.ehlo("client.test")
        code, _ = s.docmd("AUTH", "PLAIN " + b64(b"\0alice\0wrong"))
        self.assertEqual(code, 535)
        code, _ = s.docmd("AUTH", "PLAIN " + b64(b"\0" + FORGED.encode() + b"\n\xc3\xa9\0wrong"))
        self.assertEqual(code, 535)
        self.assertEqual(s.docmd("AUTH", "LOGIN " + b64(b'al"ice ip=203.0.113.66'))[0], 334)
        self.assertEqual(s.docmd(b64(b"wrong"))[0], 535)
        s.quit()
        return {"127.0.0.5": 3}

    def admin(self, d, source, user, password):
        body = '{"user": "%s", "password": "%s"}' % (user, password)
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", source,
                            "-H", "Content-Type: application/json", "--data-binary", body,
                            "http://127.0.0.1:%d/api/login" % d.port("admin")],
                           capture_output=True, text=True, timeout=30)
        return r.stdout

    def admin_failures(self, d):
        """Real admin page failures from 127.0.0.6 (fewer than the throttle lets through)."""
        self.assertEqual(self.admin(d, "127.0.0.6", "helen", "wrong"), "401")
        self.assertEqual(self.admin(d, "127.0.0.6", "nobody", "wrong"), "401")
        return {"127.0.0.6": 2}

    def forgeries(self, d):
        """From 127.0.0.7: client text everywhere it can go, and no login failure at all."""
        s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=20, source_address=("127.0.0.7", 0))
        s.docmd("EHLO", FORGED)                       # refused (501) or taken, never logged as a field
        s.docmd("HELO", "ip=203.0.113.66\"user=alice")
        self.assertEqual(s.docmd("EHLO", "client.test")[0], 250)
        self.assertEqual(s.docmd("MAIL", 'FROM:<"%s"@a.com>' % FORGED)[0], 250)
        self.assertEqual(s.docmd("RCPT", "TO:<postmaster>")[0], 250)
        self.assertEqual(s.docmd("RCPT", 'TO:<"%s"@outside.example>' % FORGED)[0], 550)
        self.assertEqual(s.docmd("RCPT", "TO:<ip=203.0.113.66@outside.example>")[0], 550)
        s.docmd("RSET")
        s.send(b"MAIL FROM:<\"\xc3\xa9\r ip=203.0.113.66\"@a.com>\r\n")
        s.getreply()
        s.quit()
        for name in (FORGED, "x\\n ip=203.0.113.66", "ip=203.0.113.66"):
            self.assertEqual(self.admin(d, "127.0.0.7", name, "pw"), "400", name)
        c = Raw.__new__(Raw)  # a malformed request line straight to libmicrohttpd
        c.s = socket.create_connection(("127.0.0.1", d.port("admin")), 20, source_address=("127.0.0.7", 0))
        c.s.sendall(b"GET /x ip=203.0.113.66 login failed HTTP/1.1\r\nHost: x ip=203.0.113.66\r\n\r\n")
        c.s.recv(4096)
        c.s.close()
        p = POP3From("127.0.0.7", "127.0.0.1", d.port("pop3"))   # a good login is no failure
        p.user("alice")
        p.pass_("secret")
        p.quit()

    def test_fail2ban_matches_real_failures_only(self):
        with h.Popgated(self, config={"auth": {"max_failures": "1000"}, "relay": {"allow": ""}}) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            secrets = os.path.join(d.dir, "apop.secrets")
            with open(secrets, "w") as f:
                f.write("alice:tanstaaf\n")
            os.chmod(secrets, 0o600)
            d.config["auth"]["apop_secrets_file"] = secrets
            ah.setup_admin(d, {"helen": ("helen-pw-1", "admin")})
            d.start()
            want = collections.Counter()
            want.update(self.pop3_failures(d))
            want.update(self.smtp_failures(d))
            want.update(self.admin_failures(d))
            self.forgeries(d)
            total = sum(want.values())
            # Each failure is logged before its answer is sent, but wait for the count, not a time.
            deadline = time.monotonic() + 30
            while len(LOGIN_FAILED.findall(d.log())) < total and time.monotonic() < deadline:
                time.sleep(0.05)
            log = d.log()

        self.assertEqual(len(LOGIN_FAILED.findall(log)), total, log)
        self.assertIn(r"ip\x3d203.0.113.66", log, "the forged text reached the log (quoted)")
        self.assertIn("to=<\"\\\"x pop3 ip\\x3d", log, "RCPT TO was logged, quoted")
        for line in log.splitlines():
            self.assertNotIn(" ip=" + FORGED_IP, line)
            self.assertNotIn("ip=" + FORGED_IP, line)
            self.assertNotRegex(line, r"[\x00-\x08\x0a-\x1f\x7f-\xff]", "a raw control or 8-bit byte")
        work = tempfile.mkdtemp(prefix="popgate-f2b-")
        try:
            raw = os.path.join(work, "popgated.log")
            with open(raw, "w") as f:
                f.write(log)
            got, lines = self.fail2ban(raw, work)
            self.assertEqual(got, want, "\n".join(lines))
            for line in lines:
                self.assertIn(" login failed", line)
            # The same lines as rsyslog stores what systemd's journal got from `popgated -F`.
            stamp = time.strftime("%b %e %H:%M:%S")
            wrapped = os.path.join(work, "mail.log")
            with open(wrapped, "w") as f:
                for line in log.splitlines():
                    f.write("%s popgate-test popgated[4242]: %s\n" % (stamp, line))
            got, lines = self.fail2ban(wrapped, work)
            self.assertEqual(got, want, "\n".join(lines))
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def session_lines(self, log, ip):
        """The lines naming IP, and the session= id they share (asserted: one id, on every line)."""
        lines = [l for l in log.splitlines() if " ip=%s " % ip in l]
        self.assertTrue(lines, "no line for %s:\n%s" % (ip, log))
        ids = {m.group(1) for m in (re.search(r" session=([0-9a-f]{12}) ip=", l) for l in lines) if m}
        self.assertEqual(len(ids), 1, "one session id on every line of %s:\n%s" % (ip, "\n".join(lines)))
        sid = ids.pop()
        for l in lines:
            self.assertIn(" session=%s ip=%s " % (sid, ip), l)
        # Every line the processes that served it wrote while serving it carries the id too,
        # free-form ones as well. A reused process serves the next client after this one, under
        # that client's id, so only the span from its first to its last line of IP counts.
        all_lines = log.splitlines()
        mine = [i for i, l in enumerate(all_lines) if " ip=%s " % ip in l]
        pids = {re.match(r"\S+\[(\d+)\]:", l).group(1) for l in lines}
        for pid in pids:
            span = [i for i in mine if re.match(r"\S+\[%s\]:" % pid, all_lines[i])]
            for l in all_lines[span[0]:span[-1] + 1]:
                m = re.match(r"\S+\[(\d+)\]: \w+: (.*)", l)
                if m and m.group(1) == pid:
                    self.assertIn("session=%s " % sid, m.group(2), l)
        return sid, lines

    def test_session_ids_and_login_fields(self):
        """session= on every line of a connection, one id each; login ok says local= and tls=; the
        connect line's port= is the client's own port for POP3 and SMTP alike."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with h.Popgated(self, tls=True, listeners=("pop3", "smtp")) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            ports = {}
            p = POP3From("127.0.0.8", "127.0.0.1", d.port("pop3"))   # plain text
            ports["127.0.0.8"] = p.sock.getsockname()[1]
            p.user("alice")
            p.pass_("secret")
            p.quit()
            p = POP3From("127.0.0.9", "127.0.0.1", d.port("pop3"))   # STLS, then the login
            ports["127.0.0.9"] = p.sock.getsockname()[1]
            p.stls(ctx)
            p.user("alice")
            p.pass_("secret")
            p.quit()
            s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=20, source_address=("127.0.0.10", 0))
            ports["127.0.0.10"] = s.sock.getsockname()[1]
            s.ehlo("client.test")
            self.assertEqual(s.docmd("AUTH", "PLAIN " + b64(b"\0alice\0wrong"))[0], 535)
            s.quit()
            for ip, end in (("127.0.0.8", "quit"), ("127.0.0.9", "quit"), ("127.0.0.10", "disconnect")):
                d.wait_for_log(r"ip=%s user=\S+ %s" % (re.escape(ip), end), timeout=30)
            log = d.log()

        ids = set()
        for ip, port in ports.items():
            sid, lines = self.session_lines(log, ip)
            ids.add(sid)
            self.assertTrue(any(re.search(r" connect: port=%d tls=no$" % port, l) for l in lines),
                            "connect line with the client's port %d:\n%s" % (port, "\n".join(lines)))
        self.assertEqual(len(ids), 3, "each connection has its own id")
        for ip, tls in (("127.0.0.8", "no"), ("127.0.0.9", "yes")):
            _, lines = self.session_lines(log, ip)
            self.assertTrue(any(re.search(r" user=alice login ok: mech=password local=127\.0\.0\.1:%d tls=%s$"
                                          % (d.port("pop3"), tls), l) for l in lines), "\n".join(lines))
        _, lines = self.session_lines(log, "127.0.0.10")
        self.assertTrue(any(" user=alice login failed: " in l for l in lines), "\n".join(lines))


if __name__ == "__main__":
    h.main()
