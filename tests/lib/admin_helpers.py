# SPDX-License-Identifier: GPL-2.0-or-later
"""admin_helpers - drive popgated's admin page and JSON API in integration tests.

    import popgate_harness as h, admin_helpers as ah
    with h.Popgated(self) as d:
        ah.setup_admin(d, {"helen": ("pw1", "admin"), "vic": ("pw2", "viewer")})
        d.start()
        c = ah.AdminClient(d)
        c.login("helen", "pw1")
        status, body = c.get("/api/relays")

setup_admin writes admin.users_file (hashes made by `popgatectl passwd`, the documented way) and
points admin.www_dir at the source tree's www/. AdminClient keeps the session cookie and the CSRF
token like the page does; every request is on 127.0.0.1 only.
"""

import http.client
import json
import os
import ssl
import subprocess

import popgate_harness as h

WWW_DIR = os.path.join(h.SRCDIR, "www")


def passwd_hash(d, password):
    """A hash of PASSWORD made by `popgatectl passwd` with D's config."""
    if not os.path.exists(d.conf_path):
        d.write_config()
    r = subprocess.run([h.POPGATECTL, "-f", d.conf_path, "passwd"], input=password + "\n",
                       capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip().startswith("$"):
        raise AssertionError("popgatectl passwd failed (%d): %s%s" % (r.returncode, r.stdout, r.stderr))
    return r.stdout.strip()


def ctl(d, *args, check=True):
    """popgatectl against D's config, as d.ctl does, but with LeakSanitizer off for that one tool:
    its relay commands seteuid() to the database owner, which makes the process undumpable and
    LeakSanitizer unable to run (it would abort), whatever the code does."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    r = subprocess.run([h.POPGATECTL, "-f", d.conf_path] + list(args), capture_output=True,
                       text=True, env=env)
    if check and r.returncode != 0:
        raise AssertionError("popgatectl %s failed (%d): %s%s" % (" ".join(args), r.returncode,
                                                               r.stdout, r.stderr))
    return r


def setup_admin(d, users, extra=None):
    """Write D's admin.users_file from USERS {name: (password, role)} and configure the page."""
    path = os.path.join(d.dir, "admin-users")
    d.config.setdefault("admin", {})
    d.config["admin"].update({"users_file": path, "www_dir": WWW_DIR})
    d.config["admin"].update(extra or {})
    write_users(d, users, path)
    return path


def write_users(d, users, path=None):
    """(Re)write the users file; lines are name:HASH:ROLE."""
    path = path or d.config["admin"]["users_file"]
    lines = ["# helpdesk accounts written by admin_helpers"]
    for name, (password, role) in users.items():
        lines.append("%s:%s:%s" % (name, passwd_hash(d, password), role))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    if h.IS_ROOT:  # the worker reads it as server.user; nobody else should
        os.chown(tmp, d.uid, d.gid)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.text = raw.decode("utf-8", "replace")
        try:
            self.json = json.loads(self.text)
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.text[:300])


class AdminClient:
    """An HTTP(S) client of the admin page with the page's cookie and CSRF handling."""

    def __init__(self, d, tls=False, port=None):
        self.port = port or d.port("admin")
        self.tls = tls
        self.cookie = None
        self.csrf = None
        if tls:
            cert = os.path.join(d.dir, "cert.pem")
            self.ctx = ssl.create_default_context(cafile=cert)
            self.ctx.check_hostname = False  # the certificate names localhost; we dial 127.0.0.1
        else:
            self.ctx = None

    def _conn(self):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=self.ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(self, method, path, body=None, csrf=True, headers=None, raw_body=None,
                content_type="application/json", cookie=True):
        hdrs = {}
        if cookie and self.cookie:
            hdrs["Cookie"] = self.cookie
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            hdrs["X-CSRF-Token"] = self.csrf
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type:
            hdrs["Content-Type"] = content_type
        hdrs.update(headers or {})
        c = self._conn()
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            resp = Response(r.status, r.getheaders(), r.read())
        finally:
            c.close()
        set_cookie = resp.header("Set-Cookie")
        if set_cookie and cookie:
            pair = set_cookie.split(";", 1)[0]
            self.cookie = None if pair.endswith("=") else pair
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, user, password, expect=200):
        r = self.post("/api/login", {"user": user, "password": password})
        if r.status != expect:
            raise AssertionError("login %s: %r, expected %d" % (user, r, expect))
        if r.status == 200:
            self.csrf = r.json["csrf"]
        return r


def parse_metrics(text):
    """Prometheus text into {'name{labels}': float}, checking every sample has HELP and TYPE."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if not line or line.startswith("#"):
            continue
        key, value = line.rsplit(" ", 1)
        name = key.split("{", 1)[0]
        if name not in typed:
            raise AssertionError("sample before its TYPE line: %s" % line)
        samples[key] = float(value)
    return samples
