# SPDX-License-Identifier: GPL-2.0-or-later
"""smtp_helpers - what the SMTP integration tests need around popgate_harness.

    import popgate_harness as h, smtp_helpers as sh

    with h.Popgated(self, config=sh.base_config(), listeners=("smtp",)) as d:
        mta = sh.Sendmail(d)            # before d.start(): points smtp.forward at the stand-in
        d.start()
        c = sh.Dialog(d.port("smtp"))   # a line-level client for exact dialogues
        ...
        mta.runs()                      # what the stand-in was given

Smarthost runs tests/lib/smarthost.py (aiosmtpd) and SmtpSink runs Postfix's smtp-sink, both on a
free 127.0.0.1 port. Everything is written under the Popgated instance's temporary directory.
"""

import glob
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import unittest

import popgate_harness as h

LIB = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"


def base_config(**sections):
    """Config for SMTP tests: 127.0.0.1 is the client, so it must not be trusted by default."""
    cfg = {
        "relay": {"allow": "", "timeout": "30m"},
        "pop3": {"trusted_networks": ""},
        "smtp": {"relay_domains": "example.org"},
    }
    for section, keys in sections.items():
        cfg.setdefault(section, {}).update(keys)
    return cfg


def python_with(module):
    """An interpreter that can import MODULE: this one, or Debian's /usr/bin/python3; None if neither."""
    for py in (sys.executable, SYSTEM_PYTHON):
        if py and os.path.exists(py) and subprocess.run([py, "-c", "import " + module],
                                                        capture_output=True).returncode == 0:
            return py
    return None


def _shared_dir(path):
    """A directory the unprivileged session user can write into."""
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o1777)
    return path


class Sendmail:
    """The sendmail stand-in (fake_sendmail.py) wired into D's config as smtp.forward."""

    def __init__(self, d, exit_status=0):
        self.dir = _shared_dir(os.path.join(d.dir, "sendmail-runs"))
        script = os.path.join(d.dir, "fake_sendmail.py")
        shutil.copy(os.path.join(LIB, "fake_sendmail.py"), script)
        os.chmod(script, 0o755)
        self.path = os.path.join(d.dir, "sendmail")
        # The session runs it as server.user with a clean environment: the wrapper says where to record.
        with open(self.path, "w") as f:
            f.write("#!/bin/sh\nFAKE_SENDMAIL_DIR='%s' exec %s '%s' \"$@\"\n" % (self.dir, SYSTEM_PYTHON, script))
        os.chmod(self.path, 0o755)
        d.config.setdefault("smtp", {})["forward"] = "sendmail:" + self.path
        self.set_exit(exit_status)
        self.set_behaviour("")

    def _write(self, name, text):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o644)

    def set_exit(self, status):
        """The exit status of the next runs."""
        self._write("exit_status", str(status))

    def set_behaviour(self, text):
        """"", "sleep N", "hold", "no-read" or "stderr TEXT" (see fake_sendmail.py)."""
        self._write("behaviour", text)

    def wait_held(self, timeout=60):
        """Wait until a run under "hold" has started and stands still before reading its message."""
        deadline = time.time() + timeout
        while not os.path.exists(os.path.join(self.dir, "held")):
            if time.time() > deadline:
                raise AssertionError("the sendmail stand-in was never started")
            time.sleep(0.05)

    def release(self):
        """Let every held run go on (and any started later under "hold")."""
        self._write("release", "")

    def runs(self):
        """Every run so far, oldest first: dicts with argv, env, status and msg (bytes)."""
        out = []
        for p in sorted(glob.glob(os.path.join(self.dir, "*.json")),
                        key=lambda p: int(os.path.basename(p).split(".")[0])):
            for _ in range(50):  # the record is written after the message
                try:
                    with open(p) as f:
                        r = json.load(f)
                    break
                except ValueError:
                    time.sleep(0.05)
            with open(p[:-5] + ".msg", "rb") as f:
                r["msg"] = f.read()
            out.append(r)
        return out


class Smarthost:
    """tests/lib/smarthost.py (aiosmtpd) on a free 127.0.0.1 port; a context manager."""

    def __init__(self, directory, tls=None, require_tls=False, auth=None, rejects=(), data_reply=None):
        self.py = python_with("aiosmtpd")
        if self.py is None:
            raise unittest.SkipTest("aiosmtpd is not installed (apt-get install python3-aiosmtpd)")
        self.dir = _shared_dir(directory)
        self.port = h.free_port()
        self.args = [self.py, os.path.join(LIB, "smarthost.py"), "--port", str(self.port), "--dir", self.dir]
        if tls:
            self.args += ["--tls", tls[0], tls[1]]
        if require_tls:
            self.args.append("--require-tls")
        if auth:
            self.args += ["--auth", auth]
        for r in rejects:
            self.args += ["--reject", r]
        if data_reply:
            self.args += ["--data-reply", data_reply]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise AssertionError("smarthost did not start: %r" % line)
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc.stdout.close()
            self.proc = None

    def messages(self):
        """[(envelope dict, content bytes)], oldest first."""
        out = []
        for p in sorted(glob.glob(os.path.join(self.dir, "*.json")),
                        key=lambda p: int(os.path.basename(p).split(".")[0])):
            with open(p) as f:
                env = json.load(f)
            with open(p[:-5] + ".eml", "rb") as f:
                out.append((env, f.read()))
        return out

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class SmtpSink:
    """Postfix's smtp-sink on a free 127.0.0.1 port, dumping each message into DIRECTORY."""

    PROGRAM = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"

    def __init__(self, directory):
        if not os.path.exists(self.PROGRAM):
            raise unittest.SkipTest("smtp-sink is not installed (apt-get install postfix)")
        self.dir = _shared_dir(directory)
        self.port = h.free_port()
        self.proc = None

    def __enter__(self):
        args = [self.PROGRAM]
        if h.IS_ROOT:
            args += ["-u", "nobody"]
        args += ["-d", os.path.join(self.dir, "msg."), "127.0.0.1:%d" % self.port, "10"]
        self.proc = subprocess.Popen(args, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)
        return False

    def messages(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.dir, "msg.*"))):
            with open(p, "rb") as f:
                out.append(f.read())
        return out


def ctl(d, *args):
    """popgatectl against D's config with LeakSanitizer off for that one tool: its relay commands
    seteuid() to the database owner, which leaves LeakSanitizer unable to run under ASan builds."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    r = subprocess.run([h.POPGATECTL, "-f", d.conf_path] + list(args), capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise AssertionError("popgatectl %s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def restart(d):
    """Stop D and start it again, waiting for the new instance's "ready" (the log is appended to)."""
    d.stop()
    offset = len(d.log())
    d.start(wait=False)
    d.wait_for_log(r"ready on", timeout=20, start=offset)


def wait_port(port, timeout=10):
    """Wait until something accepts connections on 127.0.0.1:PORT."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on 127.0.0.1:%d" % port)


# A message whose body needs dot-stuffing: what the next hop receives shows it was undone.
MESSAGE = b"Subject: hand-off\r\n\r\nfirst\r\n.leading dot\r\n.\r\nlast\r\n"


def send_message(port, rcpts=("bob@example.org",), body=MESSAGE, sender="alice@example.net", options=()):
    """One message with python's smtplib; the reply to the end of DATA (or the first refusal) as (code, text)."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    try:
        s.ehlo("client.test")
        s.mail(sender, list(options))
        for r in rcpts:
            code, text = s.rcpt(r)
            if code != 250:
                return code, text.decode()
        code, text = s.data(body)
        return code, text.decode()
    finally:
        s.close()


def rcpt_code(d, source, timeout=60):
    """The reply code to RCPT for an outside address in an SMTP session from SOURCE to daemon D."""
    s = smtplib.SMTP(timeout=timeout, source_address=(source, 0))
    try:
        s.connect("127.0.0.1", d.port("smtp"))
        s.ehlo("client.test")
        s.mail("a@example.org")
        return s.rcpt("someone@elsewhere.example")[0]
    finally:
        s.close()


def wait_until(predicate, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


class Dialog:
    """A raw SMTP client: send exact bytes, read replies as (code, [lines]). For dialogue tests."""

    def __init__(self, port, timeout=10, tls_context=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls_context is not None:
            self.sock = tls_context.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; unread: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("ascii", "replace")

    def reply(self):
        """One reply: (code, [text of each line])."""
        lines = []
        while True:
            ln = self.line()
            lines.append(ln[4:])
            if len(ln) < 4 or ln[3] != "-":
                return int(ln[:3]), lines

    def cmd(self, text):
        """Send TEXT + CRLF and return the reply."""
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """Whether the server closed the connection (after anything still unread)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, ssl.SSLError):
            return False
        except ConnectionResetError:
            return True

    def starttls(self, context):
        self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def close(self):
        self.sock.close()


def client_tls_context():
    """A TLS client context that accepts the harness's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
