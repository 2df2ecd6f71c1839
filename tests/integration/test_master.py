# SPDX-License-Identifier: GPL-2.0-or-later
"""test_master - popgated's supervisor: config checking, reload, connection limits, shutdown."""

import http.client
import os
import re
import signal
import smtplib
import socket
import subprocess
import threading
import time

import popgate_harness as h
import smtp_helpers as sh


def greeting(port, timeout=5):
    """Connect to 127.0.0.1:PORT and return (socket, first line)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = s.makefile("rb")
    return s, f.readline().decode()


def reload_refused(d, section, key, value, want):
    """Reload D with SECTION.KEY = VALUE, expect "reload refused ... FILE:LINE: " + WANT (a regex)
    for that line in the log, then put the key back as it was (in D's config, not yet written)."""
    keep = d.config[section].get(key)
    d.config[section][key] = value
    d.write_config()
    line = d.config_text().splitlines().index("%s = %s" % (key, value)) + 1
    mark = len(d.log())
    d.reload()
    d.wait_for_log(r"reload refused, the running configuration stays in force: %s:%d: %s"
                   % (re.escape(d.conf_path), line, want), start=mark)
    if keep is None:
        del d.config[section][key]
    else:
        d.config[section][key] = keep


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def proc_status(pid):
    """Uid and CapEff of a process, from /proc."""
    out = h.proc_status(pid)
    return int(out["Uid"][0]), int(out["CapEff"][0], 16)


def start_time(pid):
    """PID's start time in clock ticks, None once it has exited (gone or a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def describe(pid):
    """PID's name, state, parent and command line, for a failure message."""
    try:
        with open("/proc/%d/status" % pid) as f:
            st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        return "%d %s (%s, ppid %s): %s" % (pid, st.get("Name"), st.get("State"), st.get("PPid"), cmd)
    except OSError:
        return "%d (gone)" % pid


def answers(d, name, tls_ctx):
    """The first bytes a client gets from listener NAME of D (over TLS for pop3s and smtps)."""
    if name == "admin":
        c = http.client.HTTPConnection("127.0.0.1", d.port(name), timeout=10)
        c.request("GET", "/metrics")
        status = c.getresponse().status
        c.close()
        return "HTTP %d" % status
    s = socket.create_connection(("127.0.0.1", d.port(name)), timeout=10)
    if name.endswith("s"):
        s = tls_ctx.wrap_socket(s, server_hostname="localhost")
    line = s.makefile("rb").readline().decode()
    s.close()
    return line


def children_of(pid):
    return [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                           text=True).stdout.split()]


class ConfigCheck(h.TestCase):
    def test_check_prints_effective_settings(self):
        with h.Popgated(self) as d:
            d.write_config()
            r = subprocess.run([h.POPGATED, "-t", "-f", d.conf_path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("[relay]", r.stdout)
            self.assertIn("timeout = 30m    ; default", r.stdout)
            self.assertIn("listen = 127.0.0.1:%d" % d.port("pop3"), r.stdout)

    def test_n_prints_only_what_differs_from_the_defaults(self):
        with h.Popgated(self, config={"relay": {"timeout": "30m"}, "auth": {"max_failures": "7"}}) as d:
            d.write_config()
            r = subprocess.run([h.POPGATED, "-n", "-f", d.conf_path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("max_failures = 7\n", r.stdout)
            self.assertIn("listen = 127.0.0.1:%d" % d.port("pop3"), r.stdout)
            self.assertNotIn("; default", r.stdout)
            self.assertNotIn("timeout = 30m", r.stdout)  # set, but to the default
            self.assertNotIn("max_connections", r.stdout)
            with open(d.conf_path, "a") as f:
                f.write("\n[server]\nmax_connections = lots\n")
            r = subprocess.run([h.POPGATED, "-n", "-f", d.conf_path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 78)
            self.assertIn(d.conf_path + ":", r.stderr)

    def test_bad_lines_give_file_line_and_status_78(self):
        cases = [
            ("[pop3]\nidle_timeout = forever\n", ":2: pop3.idle_timeout: 'forever'"),
            ("[server]\n\nbogus = 1\n", ":3: unknown key 'bogus' in section [server]"),
            ("[smtp]\nforward = mail:/usr/sbin/sendmail\n", ":2: smtp.forward: 'mail:/usr/sbin/sendmail'"),
            ("[server]\nuser = no-such-user-here\n", ":2: server.user: no such user"),
            ("[pop3]\nlisten_tls = 127.0.0.1:9995\n", ":2: pop3.listen_tls: needs tls.cert_file"),
            ("[auth]\nbackend = file\npasswd_file = /nonexistent/users\n", ":3: auth.passwd_file: /nonexistent/users"),
        ]
        with h.Popgated(self) as d:
            for text, want in cases:
                with open(d.conf_path, "w") as f:
                    f.write(text)  # first, so the line numbers in WANT hold
                    f.write("[smtp]\nlisten_tls =\n" if "[smtp]" not in text else "")
                    f.write("[pop3]\nlisten_tls =\n" if "[pop3]" not in text else "")
                    f.write("[server]\nuser = %s\nlogin_user = %s\n" % (d.user, d.login_user)
                            if "[server]" not in text else "")
                r = subprocess.run([h.POPGATED, "-t", "-f", d.conf_path], capture_output=True, text=True)
                self.assertEqual(r.returncode, 78, (text, r.stdout, r.stderr))
                self.assertIn(want, r.stderr)
                self.assertTrue(r.stderr.startswith("popgated: " + d.conf_path + ":"), r.stderr)

    def test_values_that_break_every_session_are_refused(self):
        # Each of these passed -t, and then relayed for every .net address, or failed every login
        # or every message (issue 13, item 5).
        cases = [
            (b"[smtp]\nrelay_domains = net\n", ":2: smtp.relay_domains: 'net': not a domain of two labels"),
            (b"[smtp]\nrelay_domains = *\n", ":2: smtp.relay_domains: '*': "),
            (b"[smtp]\nrelay_domains = .\n", ":2: smtp.relay_domains: '.': "),
            (b"[smtp]\nrelay_domains = [127.0.0.1]\n", ":2: smtp.relay_domains: '[127.0.0.1]': "),
            (b"[smtp]\nrelay_domains = exa mple.net\n", ":2: smtp.relay_domains: 'exa': "),
            (b"[server]]\nhostname = a.example\n", ":1: ']' after the section header [server]"),
            (b"[server]\nhostname = mail.example.net\0evil\n", ":2: NUL byte in the line"),
            (b"[server]\nhostname = mail example.net\n", ":2: server.hostname: 'mail example.net': space"),
            (b"[server]\nhostname = mail\x07.example.net\n", ":2: server.hostname: 'mail?.example.net': "),
            (b"[auth]\nsystem_mailbox = /var/mail/%u\n", ":2: auth.system_mailbox: '/var/mail/%u': must start"),
            (b"[smtp]\nforward = sendmail:/usr/sbin/sendmial\n",
             ":2: smtp.forward: /usr/sbin/sendmial: No such file or directory"),
            (b"[smtp]\nforward = sendmail:/etc\n", ":2: smtp.forward: /etc is not an executable program"),
            (b"[smtp]\nforward = smtp:2001:db8::1:25\n", ":2: smtp.forward: 'smtp:2001:db8::1:25': write an IPv6"),
            (b"[smtp]\nforward = smtp:exa mple.net:25\n", ":2: smtp.forward: smarthost 'exa mple.net': space"),
            (b"[smtp]\nforward = smtp:127.0.0.1:25\nforward_auth_file = %(empty)s\n",
             ":3: smtp.forward_auth_file: %(empty)s: no usable user:password line"),
            (b"[pop3]\nexpire = some day\n", ":2: pop3.expire: 'some day': expected NEVER"),
            (b"[server]\ngroup = no-such-group-here\nuser = %(user)s\nlogin_user = %(login)s\n",
             ":2: server.group: no such group"),
            (b"[auth]\napop_secrets_file = apop.secrets\n", ":2: auth.apop_secrets_file: 'apop.secrets': not an absolute"),
            (b"[relay]\nexport_map = /nonexistent/drac\n", ":2: relay.export_map: /nonexistent: No such file"),
        ]
        with h.Popgated(self) as d:
            empty = os.path.join(d.dir, "empty-auth")
            open(empty, "w").close()
            for text, want in cases:
                text = text.replace(b"%(empty)s", empty.encode()).replace(b"%(user)s", d.user.encode()).replace(
                    b"%(login)s", d.login_user.encode())
                want = want.replace("%(empty)s", empty)
                with open(d.conf_path, "wb") as f:
                    f.write(text)  # first, so the line numbers in WANT hold; a section may come back
                    f.write(b"[smtp]\nlisten_tls =\n[pop3]\nlisten_tls =\n")
                    f.write(b"[server]\nuser = %s\nlogin_user = %s\n" % (d.user.encode(), d.login_user.encode())
                            if b"user =" not in text else b"")
                r = subprocess.run([h.POPGATED, "-t", "-f", d.conf_path], capture_output=True)
                err = r.stderr.decode(errors="replace")
                self.assertEqual(r.returncode, 78, (text, r.stdout, err))
                self.assertIn(d.conf_path + want, err)
                # Said once, but for the auth file, read by the sessions' own loader, which logs why.
                self.assertEqual(err.count("\n"), 2 if b"forward_auth_file" in text else 1, err)

    def test_certificate_and_key_that_do_not_belong_together_are_refused(self):
        # Issue 17: what a login needs is checked before a configuration is accepted. A key from
        # another pair passed as far as the first TLS handshake would otherwise.
        with h.Popgated(self) as d:
            cert, _ = h.make_cert(d.dir)
            other = os.path.join(d.dir, "other")
            os.mkdir(other)
            _, key = h.make_cert(other)
            with open(d.conf_path, "w") as f:
                f.write("[server]\nuser = %s\nlogin_user = %s\n[tls]\ncert_file = %s\nkey_file = %s\n"
                        % (d.user, d.login_user, cert, key))
            r = subprocess.run([h.POPGATED, "-t", "-f", d.conf_path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 78, r.stdout + r.stderr)
            self.assertIn(d.conf_path + ":6: tls.key_file: ", r.stderr)

    def test_ctl_passwd_needs_no_config(self):
        # The first step of an install: no popgate.conf exists yet at the default path.
        r = subprocess.run([h.POPGATECTL, "passwd"], input="s3cret\n", capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^\$y\$[./0-9A-Za-z$]+\n$")
        # Relay commands still insist on a readable config.
        r = subprocess.run([h.POPGATECTL, "-f", "/nonexistent/popgate.conf", "list"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 78)
        self.assertIn("/nonexistent/popgate.conf: cannot open", r.stderr)

    def test_missing_file(self):
        r = subprocess.run([h.POPGATED, "-t", "-f", "/nonexistent/popgate.conf"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 78)
        self.assertIn("/nonexistent/popgate.conf: cannot open: No such file or directory", r.stderr)

    def test_start_with_bad_config_exits_78(self):
        with h.Popgated(self) as d:
            d.write_config(d.config_text() + "[relay]\ntimeout = -5\n")
            r = subprocess.run([h.POPGATED, "-F", "-f", d.conf_path], capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 78, r.stderr)
            self.assertIn("relay.timeout", r.stderr)


class Lifecycle(h.TestCase):
    def test_reload_with_broken_config_keeps_serving(self):
        with h.Popgated(self) as d:
            d.start()
            good = d.config_text()
            d.write_config(good + "[pop3]\nidle_timeout = whenever\n")
            mark = len(d.log())
            d.reload()
            d.wait_for_log(r"reload refused, the running configuration stays in force: .*:\d+: ", start=mark)
            s, line = greeting(d.port("pop3"))
            self.assertTrue(line.startswith("+OK"), line)
            s.close()
            # A valid new config moves the POP3 listener to a new port.
            new_port = h.free_port()
            old_port = d.port("pop3")
            d.config["pop3"]["listen"] = "127.0.0.1:%d" % new_port
            d.write_config()
            mark = len(d.log())
            d.reload()
            d.wait_for_log(r"reloaded ", start=mark)
            s, line = greeting(new_port)
            self.assertTrue(line.startswith("+OK"), line)
            s.close()
            self.assertFalse(listening(old_port), "the old listener should be closed")

    def test_reload_refuses_values_that_break_every_session(self):
        with h.Popgated(self, config=sh.base_config(), listeners=("smtp",)) as d:
            d.start()
            bad = [("smtp", "relay_domains", "example.org, net", "smtp.relay_domains: 'net'"),
                   ("smtp", "forward", "sendmail:/usr/sbin/sendmial", "smtp.forward: /usr/sbin/sendmial"),
                   ("auth", "system_mailbox", "/var/mail/%u", "auth.system_mailbox: '/var/mail/%u'")]
            for section, key, value, want in bad:
                reload_refused(d, section, key, value, re.escape(want))
            # Still example.org alone: with "net" taken, every .net address was a relay domain.
            s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
            s.ehlo("client.test")
            s.mail("alice@example.org")
            self.assertEqual(s.rcpt("victim@evil.net")[0], 550)
            self.assertEqual(s.rcpt("bob@example.org")[0], 250)
            s.quit()

    def test_reload_refuses_what_takes_a_restart(self):
        # The user the master became, the directories it made as root and gave away, the pid file
        # it holds: a reload that took a new state_dir left the lookup worker without its socket
        # directory (every RCPT 451, every POP login waiting 20 s for its record).
        cfg = sh.base_config(relay={"allow": ""}, pop3={"trusted_networks": "127.0.0.0/8"})
        with h.Popgated(self, config=cfg, listeners=("pop3", "smtp")) as d:
            d.add_user("alice", "secret")
            d.start()
            changes = [("server", "state_dir", os.path.join(d.dir, "state2")),
                       ("relay", "db_dir", os.path.join(d.dir, "relay2")),
                       ("server", "pid_file", os.path.join(d.dir, "other.pid")),
                       ("server", "user", "daemon"), ("server", "group", "daemon"),
                       ("server", "login_user", "daemon")]
            for section, key, value in changes:
                was = d.config[section].get(key) or ""
                reload_refused(d, section, key, value, r"%s\.%s: a change takes a restart, not a reload "
                               r"\(running with '%s'\)" % (section, key, re.escape(was)))
            self.assertFalse(os.path.exists(os.path.join(d.dir, "state2")))
            self.assertFalse(os.path.exists(os.path.join(d.dir, "relay2")))
            # The running configuration serves on: a login is recorded and relays.
            h.pop_login(d, "127.3.2.1")
            self.assertEqual(sh.rcpt_code(d, "127.3.2.1"), 250)
            # And any other change still reloads.
            d.config["pop3"]["idle_timeout"] = "7m"
            d.write_config()
            mark = len(d.log())
            d.reload()
            d.wait_for_log(r"reloaded ", start=mark)
            h.pop_login(d, "127.3.2.2")
            self.assertEqual(sh.rcpt_code(d, "127.3.2.2"), 250)

    def test_reload_with_unbindable_listener_keeps_serving(self):
        with h.Popgated(self) as d, socket.socket() as blocker:
            d.start()
            blocker.bind(("127.0.0.1", 0))
            blocker.listen()
            d.config["pop3"]["listen"] = "127.0.0.1:%d" % blocker.getsockname()[1]
            d.write_config()
            mark = len(d.log())
            d.reload()
            d.wait_for_log(r"reload refused.*pop3.listen: cannot listen on 127.0.0.1:\d+: Address already in use",
                           start=mark)
            self.assertTrue(listening(d.port("smtp")))

    def test_reload_failing_on_the_last_listener_keeps_the_others(self):
        # The admin listener is bound last: POP3 and SMTP sockets were already carried over.
        with h.Popgated(self) as d, socket.socket() as blocker:
            d.start()
            blocker.bind(("127.0.0.1", 0))
            blocker.listen()
            d.config["admin"]["listen"] = "127.0.0.1:%d" % blocker.getsockname()[1]
            d.config["server"]["max_connections"] = "900"
            d.write_config()
            mark = len(d.log())
            d.reload()
            d.wait_for_log(r"reload refused.*admin.listen: cannot listen", start=mark)
            for name in ("pop3", "smtp", "admin"):
                self.assertTrue(listening(d.port(name)), name + " must still be served")
            s, line = greeting(d.port("pop3"))
            self.assertTrue(line.startswith("+OK"), line)
            s.close()

    def test_reload_raising_max_connections_tracks_every_session(self):
        with h.Popgated(self, config={"server": {"max_connections": "2", "max_connections_per_ip": "100"}}) as d:
            d.start()
            d.config["server"]["max_connections"] = "40"
            d.write_config()
            mark = len(d.log())
            d.reload()
            d.wait_for_log(r"reloaded ", start=mark)
            held = [greeting(d.port("pop3")) for _ in range(30)]
            self.assertTrue(all(line.startswith("+OK") for _, line in held))
            s, line = greeting(d.port("pop3"))  # 31 < 40: still admitted, and every one is counted
            self.assertTrue(line.startswith("+OK"), line)
            held.append((s, line))
            self.assertNotIn("session table full", d.log())
            for s, _ in held:
                s.close()

    def test_per_ip_limit_gives_temporary_failure(self):
        # 127.0.0.1 is in relay.allow, which is exempt by default (see the test below).
        cfg = {"server": {"max_connections_per_ip": "2", "connection_limit_exempts_relay_allow": "no"}}
        with h.Popgated(self, config=cfg) as d:
            d.start()
            held = [greeting(d.port("pop3")) for _ in range(2)]
            for s, line in held:
                self.assertTrue(line.startswith("+OK"), line)
            s, line = greeting(d.port("pop3"))
            self.assertTrue(line.startswith("-ERR [SYS/TEMP]"), line)
            s.close()
            s, line = greeting(d.port("smtp"))
            self.assertTrue(line.startswith("421 4.7.0"), line)
            s.close()
            d.wait_for_log(r"pop3 session=[0-9a-f]{12} ip=127\.0\.0\.1 user=- refused: limit: server.max_connections_per_ip")
            for s, _ in held:
                s.close()
            # Once the sessions have ended, the address is admitted again.
            deadline = time.time() + 10
            while True:
                s, line = greeting(d.port("pop3"))
                s.close()
                if line.startswith("+OK") or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertTrue(line.startswith("+OK"), line)

    def hold_transactions(self, d, n, rcpt):
        """N SMTP sessions that got as far as an accepted RCPT TO:<RCPT>: (socket, file) each."""
        held = []
        for _ in range(n):
            mark = len(d.log())
            s, _ = greeting(d.port("smtp"))
            f = s.makefile("rb")
            for cmd in (b"EHLO a.example.org", b"MAIL FROM:<>", b"RCPT TO:<%s>" % rcpt):
                s.sendall(cmd + b"\r\n")
                while True:
                    reply = f.readline()
                    if reply[3:4] != b"-":
                        break
                self.assertTrue(reply.startswith(b"250"), (cmd, reply))
            # The session does not wait for the master to hear of its transaction: the test does.
            d.wait_for_log(r"session process \d+: a transaction is open", start=mark)
            held.append((s, f))
        return held

    def test_relay_allow_and_exceptions_pass_the_per_ip_limit(self):
        # A local webmail or MTA opens many sessions at once (Postfix's smtp-source -s 20 did).
        cfg = {"server": {"max_connections_per_ip": "2", "connection_limit_exceptions": "127.0.9.0/24"},
               "relay": {"allow": "127.0.0.1/32"}}
        with h.Popgated(self, config=cfg) as d:
            d.start()

            def greet_from(source, port):
                s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
                return s, s.makefile("rb").readline().decode()

            held = []
            for source in ("127.0.0.1", "127.0.9.9"):
                for i in range(6):
                    s, line = greet_from(source, d.port("smtp" if i % 2 else "pop3"))
                    held.append(s)
                    self.assertRegex(line, r"^(\+OK|220) ", "%s, connection %d" % (source, i + 1))
            stranger = [greet_from("127.0.5.5", d.port("pop3")) for _ in range(3)]
            held += [s for s, _ in stranger]
            self.assertEqual([line[:4] for _, line in stranger], ["+OK ", "+OK ", "-ERR"])
            for s in held:
                s.close()
            d.stop()
        cfg["server"]["connection_limit_exempts_relay_allow"] = "no"
        with h.Popgated(self, config=cfg) as d:
            d.start()
            held = [greeting(d.port("pop3")) for _ in range(3)]
            self.assertEqual([line[:4] for _, line in held], ["+OK ", "+OK ", "-ERR"])
            for s, _ in held:
                s.close()

    def test_locked_out_address_is_told_why(self):
        cfg = {"auth": {"max_failures": "2", "lockout": "10m", "fail_delay": "0"}}
        with h.Popgated(self, config=cfg) as d:
            d.add_user("alice", "secret")
            d.start()
            for _ in range(2):
                s, line = greeting(d.port("pop3"))
                f = s.makefile("rwb")
                for cmd in (b"USER alice\r\n", b"PASS wrong\r\n"):
                    f.write(cmd)
                    f.flush()
                    answer = f.readline()
                self.assertTrue(answer.startswith(b"-ERR"), answer)
                s.close()
            # The failures reach the master as reports; the next connection it admits after
            # reading them is refused. Wait for that, not for a length of time.
            deadline = time.time() + 20
            while True:
                s, line = greeting(d.port("pop3"))
                s.close()
                if not line.startswith("+OK") or time.time() > deadline:
                    break
                time.sleep(0.1)
            self.assertEqual(line, "-ERR [AUTH] Logins from your address are refused for a while after "
                                   "failed logins\r\n")
            s, line = greeting(d.port("smtp"))
            s.close()
            self.assertEqual(line, "421 4.7.0 Logins from your address are refused for a while after "
                                   "failed logins\r\n")
            self.assertNotIn("Too many connections", line)

    def test_total_limit_gives_temporary_failure(self):
        # Clients relay.allow vouches for, in a mail transaction: nothing may be pushed out for a newcomer.
        with h.Popgated(self, config={"server": {"max_connections": "3"},
                                      "relay": {"allow": "127.0.0.1/32"}}) as d:
            d.start()
            held = self.hold_transactions(d, 3, b"bob@example.net")
            s, line = greeting(d.port("smtp"))
            self.assertTrue(line.startswith("421 4.7.0"), line)
            s.close()
            d.wait_for_log(r"stress: server.max_connections \(3\) reached with 0 POP3 and 3 SMTP sessions, 3 of them "
                           r"logged in, known to relay or handing off a message, 0 in a stranger's")
            for s, _ in held:
                s.close()

    def test_strangers_transactions_make_room_oldest_first(self):
        # <postmaster> is open to anyone: such a transaction must not hold a slot against newcomers.
        with h.Popgated(self, config={"server": {"max_connections": "3"}}) as d:
            d.start()
            held = self.hold_transactions(d, 3, b"postmaster")
            s, line = greeting(d.port("smtp"))
            self.assertTrue(line.startswith("220 "), line)
            d.wait_for_log(r"evicted: server.max_connections reached, the oldest stranger's unfinished transaction")
            self.assertEqual(held[0][1].read(), b"", "the oldest was pushed out")
            for sock, f in held[1:]:
                sock.sendall(b"NOOP\r\n")
                self.assertTrue(f.readline().startswith(b"250"), "the younger ones live on")
            self.assertRegex(d.log(), r"0 of them logged in, known to relay or handing off a message, 3 in a "
                                      r"stranger's unfinished transaction")
            s.close()
            for sock, _ in held:
                sock.close()

    def test_sigterm_stops_accepting_and_ends_in_bounded_time(self):
        with h.Popgated(self, config={"server": {"shutdown_timeout": "2s"}}) as d:
            d.start()
            s, line = greeting(d.port("pop3"))  # an idle session that would outlive the grace time
            self.assertTrue(line.startswith("+OK"))
            t0 = time.time()
            d.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assertFalse(listening(d.port("smtp")), "listeners close at once on SIGTERM")
            rc = d.proc.wait(15)
            elapsed = time.time() - t0
            self.assertEqual(rc, 0)
            self.assertLess(elapsed, 8)
            # The master keeps its deadline to the millisecond (CLOCK_MONOTONIC): the whole grace.
            self.assertGreaterEqual(elapsed, 2.0 - 0.1, "sessions get their grace time")
            self.assertEqual(s.recv(100), b"", "the session was closed")
            self.assertIn("killing 1 sessions still running", d.log())
            pidfile = d.config["server"]["pid_file"]
            # Removed, or emptied when the unprivileged master may not unlink it.
            self.assertTrue(not os.path.exists(pidfile) or open(pidfile).read() == "")

    def test_second_instance_on_same_pid_file_refuses(self):
        with h.Popgated(self) as d:
            d.start()
            r = subprocess.run([h.POPGATED, "-F", "-f", d.conf_path], capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 1)
            self.assertIn("already running (pid %d)" % d.proc.pid, r.stderr)
            self.assertTrue(listening(d.port("pop3")))

    def test_detaches_without_foreground_flag(self):
        with h.Popgated(self) as d:
            d.write_config()
            r = subprocess.run([h.POPGATED, "-f", d.conf_path], capture_output=True, timeout=20)
            self.assertEqual(r.returncode, 0)
            pidfile = d.config["server"]["pid_file"]
            deadline = time.time() + 10
            while time.time() < deadline and not (os.path.exists(pidfile) and open(pidfile).read().strip()):
                time.sleep(0.05)
            pid = int(open(pidfile).read())
            try:
                deadline = time.time() + 10
                while time.time() < deadline and not listening(d.port("pop3")):
                    time.sleep(0.05)
                self.assertTrue(listening(d.port("pop3")))
            finally:
                os.kill(pid, signal.SIGTERM)
            deadline = time.time() + 15
            while time.time() < deadline and os.path.exists("/proc/%d" % pid):
                time.sleep(0.05)
            self.assertFalse(os.path.exists("/proc/%d" % pid))


class MasterDeath(h.TestCase):
    def test_killed_master_takes_every_process_with_it(self):
        # Issue 13: workers and sessions lived on with PPID 1 holding the admin port, and a new
        # popgated could not start (admin.listen: Address already in use, exit 78).
        tls_ctx = sh.client_tls_context()
        with h.Popgated(self, tls=True) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            # Sessions in every state: POP3 after login (the post-login process), POP3S before
            # login (monitor and protocol child), SMTP in a transaction, SMTPS greeted.
            post = socket.create_connection(("127.0.0.1", d.port("pop3")), timeout=10)
            pf = post.makefile("rb")
            pf.readline()
            for cmd in (b"USER alice", b"PASS secret"):
                post.sendall(cmd + b"\r\n")
                self.assertTrue(pf.readline().startswith(b"+OK"), cmd)
            d.wait_for_log(r"user=alice mailbox open")
            held = [post]
            for name in ("pop3s", "smtps", "smtp"):
                s = socket.create_connection(("127.0.0.1", d.port(name)), timeout=10)
                if name != "smtp":
                    s = tls_ctx.wrap_socket(s, server_hostname="localhost")
                s.recv(100)
                held.append(s)
            held[-1].sendall(b"EHLO a.example\r\nMAIL FROM:<a@a.example>\r\n")
            for line in ("lookup worker listening", "admin: serving"):
                d.wait_for_log(line)
            old = {p: start_time(p) for p in h.descendants(d.proc.pid)}
            old = {p: t for p, t in old.items() if t is not None}  # not the ones ended already
            what = {p: describe(p) for p in old}
            # master, 3 workers, the post-login process, and 3 sessions of monitor and protocol child
            self.assertGreaterEqual(len(old), 1 + 3 + 1 + 3 * 2, "not every process started: %s" % old)
            d.proc.kill()
            d.proc.wait(10)
            d._logf.close()
            d.proc = None
            mark = len(d.log())
            d.start()  # at once, same config and ports: the old processes may still be exiting
            # An address still held by a dying process is tried again, never given up on.
            self.assertNotRegex(d.log()[mark:], r"Address already in use(?!; trying again)")
            deadline = time.time() + 10
            while time.time() < deadline and any(start_time(p) == t for p, t in old.items()):
                time.sleep(0.02)
            left = [p for p, t in old.items() if start_time(p) == t]
            for p in left:  # leave nothing behind when this fails
                if start_time(p) == old[p]:
                    os.kill(p, signal.SIGKILL)
            self.assertEqual(left, [], "processes outlived their master: %s" % [what[p] for p in left])
            got = {name: answers(d, name, tls_ctx) for name in ("pop3", "pop3s", "smtp", "smtps", "admin")}
            self.assertRegex(got.pop("admin"), r"^HTTP 200$")
            for name, line in got.items():
                self.assertRegex(line, r"^(\+OK|220 )", "%s after the restart" % name)
            for s in held:
                s.close()
        print("\n%d processes of a master killed with SIGKILL ended with it; the restarted popgated "
              "answers on POP3, POP3S, SMTP, SMTPS and the admin port" % len(old))

    def test_start_waits_for_an_address_still_in_use(self):
        # A killed popgated's processes take a moment to let go of its sockets: at start an
        # address in use is tried again for a while. Hold the port until popgated says it waits.
        with h.Popgated(self) as d:
            d.write_config()
            hold = socket.socket()
            hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            hold.bind(("127.0.0.1", d.port("pop3")))
            hold.listen(1)
            started = threading.Thread(target=d.start)
            started.start()
            try:
                d.wait_for_log(r"cannot listen on 127\.0\.0\.1:%d: Address already in use; trying again"
                               % d.port("pop3"))
            finally:
                hold.close()
            started.join(30)
            s, line = greeting(d.port("pop3"))
            s.close()
            self.assertTrue(line.startswith("+OK"), line)

    def test_worker_end_reported_as_it_was(self):
        with h.Popgated(self) as d:
            d.start()
            d.wait_for_log(r"lookup worker listening")
            master = d.proc.pid
            lookup = int(re.search(r"popgated/lookup\[(\d+)\]", d.log()).group(1))
            self.assertIn(lookup, children_of(master))
            os.kill(lookup, signal.SIGUSR1)  # not SIGSEGV: the sanitizers would catch it and exit 1
            d.wait_for_log(r"the relay-lookup worker was killed by signal %d \(User defined signal 1\); "
                           r"restarting it in \d+s" % signal.SIGUSR1)

    def test_admin_worker_config_error_waits_for_reload(self):
        if not h.IS_ROOT:
            self.skipTest("needs root: the key must be readable by the master and not by server.user")
        with h.Popgated(self, tls=True, config={"admin": {"tls": "yes"}}) as d:
            key = d.config["tls"]["key_file"]
            os.chmod(key, 0o600)  # root's: the master reads it before it drops root, popgate-admind cannot
            d.start()
            d.wait_for_log(r"the admin worker exited with status 78, a configuration error: it is not "
                           r"restarted until the configuration is reloaded")
            os.chmod(key, 0o644)
            mark = len(d.log())
            d.reload()
            d.wait_for_log(r"admin: serving the admin page over HTTPS", start=mark)
            c = http.client.HTTPSConnection("127.0.0.1", d.port("admin"), timeout=10,
                                            context=sh.client_tls_context())
            c.request("GET", "/metrics")
            self.assertEqual(c.getresponse().status, 200)
            c.close()


PIDS_CGROUP = "/sys/fs/cgroup/pids"


class ForkFailure(h.TestCase):
    """A session that cannot fork its protocol child says so in its protocol's words, once, and
    the master goes on. The fork fails for real: the master is moved into a cgroup of its own whose
    pids.max leaves room for the session process and not for the child it forks."""

    def pids_cgroup(self):
        if not h.IS_ROOT or not os.access(os.path.join(PIDS_CGROUP, "cgroup.procs"), os.W_OK):
            self.skipTest("needs root and a writable cgroup v1 pids hierarchy at " + PIDS_CGROUP)
        path = os.path.join(PIDS_CGROUP, "popgate-test-%d" % os.getpid())
        os.mkdir(path)
        self.addCleanup(lambda: os.path.isdir(path) and os.rmdir(path))
        return path

    def test_a_session_that_cannot_fork_says_so(self):
        cg = self.pids_cgroup()
        with h.Popgated(self, tls=True, listeners=("pop3", "pop3s", "smtp", "admin")) as d:
            d.start()
            # The workers (admin page, relay lookup, sweeper, auth) first: they stay where they were.
            sh.wait_until(lambda: len(children_of(d.proc.pid)) == 4, what="the four workers")
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(d.proc.pid))
            # Only processes forked from now on join it: the master and one session fit.
            with open(os.path.join(cg, "pids.max"), "w") as f:
                f.write("2")
            def alone():
                """The session before has ended: the next one gets the room it had."""
                with open(os.path.join(cg, "pids.current")) as f:
                    return f.read().strip() == "1"

            s, line = greeting(d.port("pop3"))
            self.assertTrue(line.startswith("-ERR [SYS/TEMP]"), line)
            s.close()
            sh.wait_until(alone, what="the POP3 session gone")
            s, line = greeting(d.port("smtp"))
            self.assertTrue(line.startswith("421 4.7.0"), line)
            s.close()
            sh.wait_until(alone, what="the SMTP session gone")
            # Under implicit TLS nothing can be said in clear: the connection is just closed.
            s = socket.create_connection(("127.0.0.1", d.port("pop3s")), timeout=10)
            self.assertEqual(s.recv(100), b"")
            s.close()
            self.assertNotIn("refused: fork failed", d.log(), "the master's own fork is not the one tested")
            d.wait_for_log(r"pop3s session=[0-9a-f]{12} ip=127\.0\.0\.1 user=- fork failed: protocol child: ")
            for proto in ("pop3", "smtp"):
                self.assertEqual(len(re.findall(r"%s session=[0-9a-f]{12} ip=127\.0\.0\.1 user=- fork failed: "
                                                r"protocol child: Resource temporarily unavailable" % proto,
                                                d.log())), 1, d.log())
            with open(os.path.join(cg, "pids.max"), "w") as f:
                f.write("max")
            s, line = greeting(d.port("pop3"))
            self.assertTrue(line.startswith("+OK"), line)
            s.close()


class Reports(h.TestCase):
    def test_a_session_with_many_messages_reports_them_all(self):
        # The report budget (src/common/report_budget.h) must not cost a real session anything.
        with h.Popgated(self, config=sh.base_config(relay={"allow": "127.0.0.1/32"})) as d:
            sendmail = sh.Sendmail(d)
            d.start()
            c = sh.Dialog(d.port("smtp"))
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.cmd("EHLO client.example")[0], 250)
            n = 30
            for i in range(n):
                self.assertEqual(c.cmd("MAIL FROM:<a@client.example>")[0], 250)
                self.assertEqual(c.cmd("RCPT TO:<bob@elsewhere.example>")[0], 250)
                if i % 10 == 0:
                    self.assertEqual(c.cmd("RCPT TO:<carol@elsewhere.example>")[0], 250)
                self.assertEqual(c.cmd("DATA")[0], 354)
                self.assertEqual(c.cmd("Subject: %d\r\n\r\nbody %d\r\n." % (i, i))[0], 250)
                if i % 20 == 0:
                    self.assertEqual(c.cmd("RSET")[0], 250)
            self.assertEqual(c.cmd("QUIT")[0], 221)
            c.close()
            self.assertEqual(len(sendmail.runs()), n)
            deadline = time.time() + 10
            while True:
                conn = http.client.HTTPConnection("127.0.0.1", d.port("admin"), timeout=10)
                conn.request("GET", "/metrics")
                body = conn.getresponse().read().decode()
                conn.close()
                if 'popgate_sessions_active{service="all"} 0\n' in body or time.time() > deadline:
                    break
                time.sleep(0.05)
            self.assertIn('popgate_messages_total{result="relayed"} %d\n' % n, body)
            self.assertNotIn("reports dropped", d.log())


class Privileges(h.TestCase):
    def test_master_and_workers_leave_root(self):
        if not h.IS_ROOT:
            self.skipTest("needs root")
        with h.Popgated(self) as d:
            d.start()
            uid, capeff = proc_status(d.proc.pid)
            self.assertEqual(uid, d.uid, "the master runs as server.user")
            self.assertNotEqual(capeff, 0, "the master keeps its few capabilities")
            self.assertEqual(capeff & (1 << 21), 0, "but not CAP_SYS_ADMIN")
            s, line = greeting(d.port("pop3"))
            time.sleep(0.3)
            for child in children_of(d.proc.pid):
                for pid in [child] + children_of(child):
                    uid, capeff = proc_status(pid)
                    self.assertNotEqual(uid, 0, "no worker runs as root")
            # The protocol child (grandchild) holds no capability at all, and runs as server.login_user.
            # Sessions lead process groups of their own; the auth worker, whose helpers are its
            # children, stays in the master's (and keeps CAP_DAC_READ_SEARCH: test_privileges).
            sessions = [c for c in children_of(d.proc.pid) if children_of(c) and os.getpgid(c) != os.getpgid(d.proc.pid)]
            self.assertTrue(sessions)
            for c in sessions:
                for g in children_of(c):
                    self.assertEqual(proc_status(g), (d.login_uid, 0))
            s.close()


if __name__ == "__main__":
    h.main()
