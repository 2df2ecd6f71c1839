# SPDX-License-Identifier: GPL-2.0-or-later
"""test_admin_api - the admin page's JSON API over real HTTP(S) against a running popgated.

Refusals without a session, for a viewer and without the CSRF token; adding, listing, searching
and revoking authorizations (cross-checked with popgatectl, which reads the same database);
the static page and its security headers; /metrics; HTTPS with a Secure cookie; reload.
"""

import os
import poplib
import socket
import time

import admin_helpers as ah
import popgate_harness as h

USERS = {"helen": ("helen-pw-1", "admin"), "vic": ("vic-pw-2", "viewer")}


class AdminApi(h.TestCase):
    def start(self, d, **kw):
        ah.setup_admin(d, USERS, **kw)
        d.start()
        return ah.AdminClient(d)

    def test_page_and_security_headers(self):
        with h.Popgated(self) as d:
            c = self.start(d)
            r = c.get("/")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
            self.assertIn("default-src 'self'", r.header("Content-Security-Policy"))
            self.assertEqual(r.header("X-Frame-Options"), "DENY")
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
            self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
            # Everything the page loads comes from popgated itself: no CDN, works offline.
            for ref in ("app.js", "app.css", "favicon.svg"):
                self.assertIn('"%s"' % ref, r.text)
                self.assertEqual(c.get("/" + ref).status, 200, ref)
            for name in ("index.html", "app.js", "app.css"):
                with open(os.path.join(ah.WWW_DIR, name)) as f:
                    self.assertNotRegex(f.read(), r"(?i)(src|href)=\"(https?:)?//", name)
            self.assertEqual(c.get("/app.js").header("Content-Type"), "text/javascript; charset=utf-8")
            for bad in ("/../popgate.conf", "/%2e%2e/popgate.conf", "/admin-users", "/popgate.conf",
                        "/.hidden.js", "/x/app.js"):
                self.assertEqual(c.get(bad).status, 404, bad)

    def test_refusals_without_session(self):
        with h.Popgated(self) as d:
            c = self.start(d)
            for method, path, body in [("GET", "/api/session", None), ("GET", "/api/relays", None),
                                       ("GET", "/api/lists", None), ("GET", "/api/stats", None),
                                       ("POST", "/api/relays", {"ip": "192.0.2.1"}),
                                       ("DELETE", "/api/relays/192.0.2.1", None),
                                       ("POST", "/api/logout", None)]:
                r = c.request(method, path, body=body)
                self.assertEqual(r.status, 401, (method, path, r))
                self.assertIn("error", r.json)
            c.cookie = "popgate_admin=" + "ab" * 32   # a made-up session id
            c.csrf = "cd" * 32
            self.assertEqual(c.get("/api/relays").status, 401)
            self.assertEqual(c.delete("/api/relays/192.0.2.1").status, 401)

    def test_viewer_refused_changes(self):
        with h.Popgated(self) as d:
            c = self.start(d)
            ah.ctl(d, "add", "198.51.100.20", "--user", "alice", "--ttl", "1h")
            r = c.login("vic", "vic-pw-2")
            self.assertEqual(r.json["role"], "viewer")
            cookie = r.header("Set-Cookie")
            self.assertIn("HttpOnly", cookie)
            self.assertIn("SameSite=Strict", cookie)
            self.assertNotIn("Secure", cookie)
            relays = c.get("/api/relays").json["relays"]
            self.assertEqual([e["ip"] for e in relays], ["198.51.100.20"])
            r = c.post("/api/relays", {"ip": "203.0.113.9"})
            self.assertEqual(r.status, 403, r)
            r = c.delete("/api/relays/198.51.100.20")
            self.assertEqual(r.status, 403, r)
            self.assertEqual(ah.ctl(d, "check", "198.51.100.20", check=False).returncode, 0)

    def test_changes_need_csrf_token(self):
        with h.Popgated(self) as d:
            c = self.start(d)
            ah.ctl(d, "add", "198.51.100.21", "--ttl", "1h")
            c.login("helen", "helen-pw-1")
            r = c.delete("/api/relays/198.51.100.21", csrf=False)
            self.assertEqual(r.status, 403, r)
            self.assertIn("CSRF", r.json["error"])
            r = c.post("/api/relays", {"ip": "203.0.113.9"}, csrf=False)
            self.assertEqual(r.status, 403, r)
            r = c.delete("/api/relays/198.51.100.21", headers={"X-CSRF-Token": "00" * 32})
            self.assertEqual(r.status, 403, r)
            r = c.post("/api/logout", csrf=False)
            self.assertEqual(r.status, 403, r)
            # A cross-site form cannot send JSON: a form-encoded body is refused as such.
            r = c.request("POST", "/api/relays", raw_body=b"ip=203.0.113.9",
                          content_type="application/x-www-form-urlencoded")
            self.assertEqual(r.status, 415, r)
            self.assertEqual(ah.ctl(d, "check", "198.51.100.21", check=False).returncode, 0)
            self.assertEqual(ah.ctl(d, "check", "203.0.113.9", check=False).returncode, 1)

    def test_admin_adds_lists_revokes(self):
        with h.Popgated(self, config={"relay": {"allow": "", "deny": "192.0.2.0/24"}}) as d:
            c = self.start(d)
            ah.ctl(d, "add", "198.51.100.22", "--user", "bob", "--ttl", "10m")
            c.login("helen", "helen-pw-1")
            r = c.post("/api/relays", {"ip": "203.0.113.10", "ttl": "2h", "user": "walk-in"})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json["relay"]["proto"], "manual")
            self.assertEqual(r.json["decision"], "authorized")
            self.assertAlmostEqual(r.json["relay"]["expires_in"], 7200, delta=2)
            self.assertEqual(ah.ctl(d, "check", "203.0.113.10", check=False).returncode, 0)
            r = c.post("/api/relays", {"ip": "192.0.2.5", "ttl": 60})
            self.assertEqual(r.json["decision"], "deny-list")
            listing = c.get("/api/relays").json
            self.assertEqual(listing["count"], 3)
            by_ip = {e["ip"]: e for e in listing["relays"]}
            self.assertEqual(by_ip["198.51.100.22"]["user"], "bob")
            for key in ("ip", "user", "proto", "first", "last", "expires", "expires_in", "logins"):
                self.assertIn(key, by_ip["198.51.100.22"])
            self.assertEqual([e["ip"] for e in c.get("/api/relays?q=walk").json["relays"]], ["203.0.113.10"])
            self.assertEqual([e["ip"] for e in c.get("/api/relays?q=198.51").json["relays"]], ["198.51.100.22"])
            r = c.delete("/api/relays/198.51.100.22")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(ah.ctl(d, "check", "198.51.100.22", check=False).returncode, 1)
            self.assertEqual(c.delete("/api/relays/198.51.100.22").status, 404)
            self.assertEqual(c.delete("/api/relays/not-an-ip").status, 400)
            self.assertEqual(c.post("/api/relays", {"ip": "203.0.113.11", "ttl": "forever"}).status, 400)
            self.assertEqual(c.post("/api/relays", {"ip": "bogus"}).status, 400)
            self.assertEqual(c.request("POST", "/api/relays", raw_body=b"x" * 20000).status, 413)
            self.assertEqual(c.request("PUT", "/api/relays", body={}).status, 405)
            lists = c.get("/api/lists").json
            self.assertEqual(lists["allow"], [])
            self.assertEqual(lists["deny"], ["192.0.2.0/24"])
            self.assertEqual(c.post("/api/logout").status, 200)
            self.assertEqual(c.get("/api/session").status, 401)
            self.assertRegex(d.log(), r"admin (?:session=\w+ )?ip=127\.0\.0\.1 user=helen relay revoked: ip=198\.51\.100\.22")

    def test_login_throttled(self):
        with h.Popgated(self) as d:
            c = self.start(d)
            for _ in range(4):
                c.login("helen", "wrong", expect=401)
            r = c.post("/api/login", {"user": "helen", "password": "helen-pw-1"})
            self.assertEqual(r.status, 429, r)
            self.assertGreater(int(r.header("Retry-After")), 0)
            time.sleep(int(r.header("Retry-After")) + 0.2)
            c.login("helen", "helen-pw-1")

    def test_stats_and_metrics(self):
        with h.Popgated(self) as d:
            c = self.start(d)
            c.login("vic", "vic-pw-2")
            s = c.get("/api/stats").json
            self.assertGreater(s["started"], 0)
            self.assertGreaterEqual(s["uptime"], 0)
            for k in ("sessions_active", "logins_ok", "logins_failed", "msgs_relayed", "msgs_denied"):
                self.assertIn(k, s["counters"])
            self.assertIsInstance(s["events"], list)
            r = c.get("/metrics", cookie=False)   # a scraper has no session
            self.assertEqual(r.status, 200)
            self.assertTrue(r.header("Content-Type").startswith("text/plain; version=0.0.4"))
            m = ah.parse_metrics(r.text)
            self.assertEqual(m["popgate_start_time_seconds"], s["started"])
            # The counters are the master's, live: a failed POP3 login shows up.
            failed = s["counters"]["logins_failed"]
            pop = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
            pop.user("nobody-here")
            with self.assertRaises(poplib.error_proto):
                pop.pass_("wrong")
            pop.quit()
            deadline = time.time() + 10
            while c.get("/api/stats").json["counters"]["logins_failed"] == failed and time.time() < deadline:
                time.sleep(0.1)
            self.assertEqual(c.get("/api/stats").json["counters"]["logins_failed"], failed + 1)
            self.assertIn('popgate_logins_total{result="failed"}', m)
            self.assertEqual(m["popgate_relaydb_up"], 1)
            self.assertEqual(m["popgate_admin_sessions"], 1)

    def test_admin_page_is_its_own_program(self):
        """libmicrohttpd and GnuTLS live in popgate-admind only, never in the mail daemon's processes."""
        with h.Popgated(self) as d:
            c = self.start(d)
            self.assertEqual(c.get("/").status, 200)
            admin = int(d.wait_for_log(r"popgated/admin\[(\d+)\]").group(1))
            self.assertTrue(os.readlink("/proc/%d/exe" % admin).endswith("/popgate-admind"))
            with open("/proc/%d/maps" % admin) as f:
                self.assertIn("libmicrohttpd", f.read())
            with open("/proc/%d/maps" % d.proc.pid) as f:
                maps = f.read()
            self.assertNotIn("libmicrohttpd", maps)
            self.assertNotIn("libgnutls", maps)

    def test_account_file_changes_apply(self):
        with h.Popgated(self) as d:
            c = self.start(d)
            c.login("vic", "vic-pw-2")
            ah.write_users(d, {"helen": USERS["helen"], "vic": ("vic-pw-2", "admin")})
            self.assertEqual(c.get("/api/session").json["role"], "admin")
            ah.write_users(d, {"helen": USERS["helen"]})
            self.assertEqual(c.get("/api/session").status, 401)
            # A malformed line is skipped and logged as FILE:LINE; the others still work.
            with open(d.config["admin"]["users_file"], "a") as f:
                f.write("broken-line-without-colons\n")
            c.login("helen", "helen-pw-1")
            self.assertRegex(d.log(), r"admin-users:3: expected name:HASH:ROLE")

    def test_https_with_secure_cookie(self):
        with h.Popgated(self, tls=True, listeners=("pop3", "smtp", "admin")) as d:
            ah.setup_admin(d, USERS, extra={"tls": "yes"})
            d.start()
            c = ah.AdminClient(d, tls=True)
            self.assertEqual(c.get("/").status, 200)
            r = c.login("helen", "helen-pw-1")
            self.assertIn("Secure", r.header("Set-Cookie"))
            self.assertEqual(c.get("/api/session").status, 200)
            # Plain HTTP on the HTTPS port gets no page.
            with socket.create_connection(("127.0.0.1", d.port("admin")), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                try:
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                self.assertNotIn(b"<!doctype html>", data)

    def test_reload_restarts_worker_with_new_config(self):
        with h.Popgated(self) as d:
            c = self.start(d)
            c.login("helen", "helen-pw-1")
            mark = len(d.log())
            d.config["relay"]["deny"] = "203.0.113.0/24"
            d.write_config()
            d.reload()
            deadline = time.time() + 10
            lists = None
            while time.time() < deadline:
                c2 = ah.AdminClient(d)
                try:   # the old worker may still answer, or stop between two requests
                    c2.login("helen", "helen-pw-1")
                    lists = c2.get("/api/lists").json or {}
                    if lists.get("deny") == ["203.0.113.0/24"]:
                        break
                except (OSError, AssertionError):
                    pass
                time.sleep(0.2)
            self.assertEqual(lists and lists["deny"], ["203.0.113.0/24"], d.log()[mark:])

    def test_reload_keeps_the_helpdesk_logged_in(self):
        """Issue 18.5: a SIGHUP restarts the admin worker; its sessions, and a logout, carry over."""
        with h.Popgated(self) as d:
            c = self.start(d)
            c.login("helen", "helen-pw-1")
            for round in (1, 2):
                serving = d.log().count("serving the admin page")
                d.reload()
                d.wait_for_log(r"(?s)(serving the admin page.*){%d}" % (serving + 1), timeout=30)
                r = c.get("/api/session")
                self.assertEqual((r.status, r.json.get("user")), (200, "helen"), r)
                # Its CSRF token still counts: a change goes through after the reload.
                r = c.post("/api/relays", {"ip": "192.0.2.%d" % round})
                self.assertEqual(r.status, 201, r)
            self.assertEqual(c.post("/api/logout").status, 200)
            serving = d.log().count("serving the admin page")
            d.reload()
            d.wait_for_log(r"(?s)(serving the admin page.*){%d}" % (serving + 1), timeout=30)
            self.assertEqual(c.get("/api/session").status, 401)
            path = os.path.join(d.config["server"]["state_dir"], "admin-sessions")
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)


if __name__ == "__main__":
    h.main()
