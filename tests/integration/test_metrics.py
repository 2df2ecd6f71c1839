#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_metrics - the /metrics an operator alerts on, each driven for real and seen to move.

A stress episode (server.max_connections held full), hand-offs the next hop accepts, defers (a
dead smarthost, a sendmail exiting 75) and refuses (exit 67), TLS handshakes broken by a plaintext
client on POP3S and SMTPS and by a client that says nothing (tls.handshake_timeout), the relay
lookup worker killed with SIGKILL and restarted, a relay database made unreadable, and the export
map's age read from its file. Then etc/grafana/popgate-dashboard.json and popgate-alert-rules.json:
valid JSON, a Grafana 9+ dashboard on a ${DS_PROMETHEUS} input, an alert rule per failure mode,
and every metric their PromQL names is one the running popgated exposes. Every wait is for a condition, with a generous deadline.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import admin_helpers as ah
import popgate_harness as h
import smtp_helpers as sh

USERS = {"helen": ("helen-pw-1", "admin")}
DASHBOARD = os.path.join(h.SRCDIR, "etc", "grafana", "popgate-dashboard.json")
ALERT_RULES = os.path.join(h.SRCDIR, "etc", "grafana", "popgate-alert-rules.json")
BODY = b"Subject: metrics\r\n\r\nhello\r\n"


def scrape(d):
    """The samples of /metrics, as a scraper (no session) gets them."""
    r = ah.AdminClient(d).get("/metrics", cookie=False)
    if r.status != 200:
        raise AssertionError("/metrics: %r" % r)
    return ah.parse_metrics(r.text)


def wait_metric(d, key, predicate, what, timeout=30):
    """Scrape until sample KEY satisfies PREDICATE; the samples then."""
    seen = {}

    def ok():
        seen.clear()
        seen.update(scrape(d))
        return key in seen and predicate(seen[key])
    try:
        sh.wait_until(ok, timeout=timeout, what=what)
    except AssertionError:
        raise AssertionError("%s: %s is %r" % (what, key, seen.get(key)))
    return dict(seen)


def plaintext_on(port, line):
    """A client that speaks plaintext where a TLS ClientHello is due; returns once the server hangs up."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(line)
        while s.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    finally:
        s.close()


class Metrics(h.TestCase):
    def daemon(self, config=None, **kw):
        d = h.Popgated(self, config=sh.base_config(**(config or {})), **kw)
        ah.setup_admin(d, USERS)
        return d

    def test_next_hop_outcomes(self):
        key = 'popgate_next_hop_handoffs_total{outcome="%s"}'
        with self.daemon(listeners=("smtp", "admin")) as d:
            mta = sh.Sendmail(d)
            d.start()
            before = scrape(d)
            for outcome in ("accepted", "deferred", "failed"):
                self.assertEqual(before[key % outcome], 0)
            for status, code in ((0, 250), (75, 451), (75, 451), (67, 554)):
                mta.set_exit(status)
                self.assertEqual(sh.send_message(d.port("smtp"), body=BODY)[0], code)
            m = wait_metric(d, key % "failed", lambda v: v == 1, "the refusal counted")
            m = wait_metric(d, key % "deferred", lambda v: v == 2, "both deferrals counted")
            self.assertEqual(m[key % "accepted"], 1)
            self.assertEqual(m['popgate_messages_total{result="relayed"}'], 1)

    def test_dead_smarthost_is_a_deferral(self):
        dead = h.free_port()  # nothing listens there: the connection is refused
        with self.daemon(config={"smtp": {"forward": "smtp:127.0.0.1:%d" % dead}},
                         listeners=("smtp", "admin")) as d:
            d.start()
            self.assertEqual(sh.send_message(d.port("smtp"), body=BODY)[0], 451)
            m = wait_metric(d, 'popgate_next_hop_handoffs_total{outcome="deferred"}', lambda v: v == 1,
                            "the dead smarthost's deferral counted")
            self.assertEqual(m['popgate_next_hop_handoffs_total{outcome="accepted"}'], 0)
            self.assertEqual(m['popgate_next_hop_handoffs_total{outcome="failed"}'], 0)

    def test_tls_handshake_failures_by_service_and_reason(self):
        key = 'popgate_tls_handshake_failures_total{service="%s",reason="%s"}'
        with self.daemon(config={"tls": {"handshake_timeout": "1s"}},
                         listeners=("pop3s", "smtps", "smtp", "admin")) as d:
            d.start()
            m = scrape(d)
            for svc in ("pop3", "pop3s", "smtp", "smtps"):
                for reason in ("error", "timeout"):
                    self.assertEqual(m[key % (svc, reason)], 0)
            plaintext_on(d.port("pop3s"), b"USER alice\r\n")
            wait_metric(d, key % ("pop3s", "error"), lambda v: v == 1, "POP3S plaintext counted")
            plaintext_on(d.port("smtps"), b"EHLO client.test\r\n")
            wait_metric(d, key % ("smtps", "error"), lambda v: v == 1, "SMTPS plaintext counted")
            # STARTTLS, then plaintext again.
            dlg = sh.Dialog(d.port("smtp"), timeout=30)
            dlg.reply()
            self.assertEqual(dlg.cmd("EHLO client.test")[0], 250)
            self.assertEqual(dlg.cmd("STARTTLS")[0], 220)
            dlg.send(b"MAIL FROM:<a@example.net>\r\n")
            self.assertTrue(dlg.closed(timeout=30))
            dlg.sock.close()
            wait_metric(d, key % ("smtp", "error"), lambda v: v == 1, "STARTTLS plaintext counted")
            # A client that connects and says nothing is cut off by tls.handshake_timeout.
            s = socket.create_connection(("127.0.0.1", d.port("pop3s")), timeout=60)
            self.assertEqual(s.recv(1), b"", "the server hangs up on a silent TLS client")
            s.close()
            m = wait_metric(d, key % ("pop3s", "timeout"), lambda v: v == 1, "the silent client counted")
            self.assertEqual(m[key % ("pop3s", "error")], 1)
            self.assertEqual(m[key % ("pop3", "error")], 0)

    def test_worker_restart_counted(self):
        key = 'popgate_worker_restarts_total{worker="%s"}'
        with self.daemon(listeners=("smtp", "admin")) as d:
            d.start()
            worker = int(d.wait_for_log(r"popgated/lookup\[(\d+)\]: \w+: relaydb: lookup worker listening").group(1))
            # No scrape before the kill: /metrics would have the admin worker open the database,
            # and the recovery the new lookup worker runs then panics that handle, whose close
            # leaks inside libdb (LeakSanitizer in the sanitizer build). test_tls_... and
            # test_relaydb_... show the counters start at 0.
            os.kill(worker, signal.SIGKILL)
            d.wait_for_log(r"popgated/lookup\[(?!%d\])\d+\]: \w+: relaydb: lookup worker listening" % worker,
                           timeout=60)
            m = wait_metric(d, key % "relay-lookup", lambda v: v == 1, "the lookup worker's restart")
            for w in ("admin", "relay-sweeper", "drac"):
                self.assertEqual(m[key % w], 0, w)
            # A reload stops and starts every worker: asked to stop, that is no restart after a death.
            mark = len(d.log())
            d.reload()
            d.wait_for_log(r"reloaded ", start=mark, timeout=30)
            d.wait_for_log(r"lookup worker listening", start=mark, timeout=30)
            m = wait_metric(d, key % "relay-lookup", lambda v: v == 1, "the reload is not a restart")
            self.assertEqual(m[key % "admin"], 0)

    def test_stress_mode_and_episodes(self):
        cfg = {"server": {"max_connections": "3"}, "relay": {"allow": "127.0.0.1/32"}}
        with self.daemon(config=cfg, listeners=("smtp", "admin")) as d:
            d.start()
            m = scrape(d)
            self.assertEqual(m["popgate_stress_mode"], 0)
            self.assertEqual(m["popgate_stress_episodes_total"], 0)
            held = []
            for _ in range(3):  # three transactions from a client we relay for: nobody may be pushed out
                dlg = sh.Dialog(d.port("smtp"), timeout=30)
                self.assertEqual(dlg.reply()[0], 220)
                for cmd in ("EHLO a.example.org", "MAIL FROM:<>", "RCPT TO:<bob@example.net>"):
                    self.assertEqual(dlg.cmd(cmd)[0], 250, cmd)
                held.append(dlg)
            s = socket.create_connection(("127.0.0.1", d.port("smtp")), timeout=30)
            self.assertTrue(s.makefile("rb").readline().startswith(b"421 4.7.0"))
            s.close()
            m = wait_metric(d, "popgate_stress_mode", lambda v: v == 1, "stress mode in force")
            self.assertEqual(m["popgate_stress_episodes_total"], 1)
            for dlg in held:
                dlg.sock.close()
            # The episode ends once the load stayed low for a while (stress.c's linger).
            m = wait_metric(d, "popgate_stress_mode", lambda v: v == 0, "stress mode over", timeout=90)
            self.assertEqual(m["popgate_stress_episodes_total"], 1)

    def test_relaydb_errors_counted(self):
        port = h.free_port()
        key = 'popgate_relaydb_errors_total{process="%s"}'
        with self.daemon(config={"relay": {"socketmap_listen": "127.0.0.1:%d" % port}},
                         listeners=("smtp", "admin")) as d:
            d.start()
            m = scrape(d)
            for p in ("session", "admin", "relay-sweeper", "relay-lookup", "drac"):
                self.assertEqual(m[key % p], 0, p)
            for w in ("admin", "relay-sweeper", "relay-lookup", "drac"):
                self.assertEqual(m['popgate_worker_restarts_total{worker="%s"}' % w], 0, w)
            self.assertEqual(m["popgate_relaydb_up"], 1)
            d.stop()
            # Garbage over the btree's pages: the database opens but cannot be read.
            path = os.path.join(d.config["relay"]["db_dir"], "relay.db")
            size = os.path.getsize(path)
            with open(path, "r+b") as f:
                f.write(bytes((i * 151 + 7) % 256 for i in range(size)))
            d.start()
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(b"15:relay 127.0.0.6,")
            self.assertTrue(s.recv(100).split(b":", 1)[1].startswith(b"TEMP "))
            s.close()
            m = wait_metric(d, key % "relay-lookup", lambda v: v >= 1, "the lookup worker's error counted")
            self.assertEqual(m["popgate_relaydb_up"], 0)
            wait_metric(d, key % "admin", lambda v: v >= 1, "the admin worker's own error counted")

    def test_export_map_age(self):
        with self.daemon(listeners=("pop3", "admin")) as d:
            d.start()
            self.assertNotIn("popgate_export_map_age_seconds", scrape(d), "no map configured: absent")
        with self.daemon(listeners=("pop3", "admin")) as d:
            mapbase = os.path.join(d.dir, "state", "relay-map")
            d.config["relay"]["export_map"] = mapbase
            d.start()
            # The sweeper builds the map at its start.
            sh.wait_until(lambda: os.path.exists(mapbase + ".db"), timeout=30, what="the export map")
            hour_ago = time.time() - 3600
            os.utime(mapbase + ".db", (hour_ago, hour_ago))
            m = scrape(d)
            self.assertGreaterEqual(m["popgate_export_map_age_seconds"], 3600)
            self.assertLess(m["popgate_export_map_age_seconds"], 3600 + 600)
            os.rename(mapbase + ".db", mapbase + ".aside")
            self.assertEqual(scrape(d)["popgate_export_map_age_seconds"], -1)
            os.rename(mapbase + ".aside", mapbase + ".db")

    def test_dashboard_names_only_real_metrics(self):
        with open(DASHBOARD) as f:
            dash = json.load(f)
        self.assertGreaterEqual(dash["schemaVersion"], 36, "Grafana 9+")
        self.assertIn("DS_PROMETHEUS", [i["name"] for i in dash["__inputs"]])
        exprs = []
        for p in dash["panels"]:
            for t in p.get("targets", []):
                exprs.append(t["expr"])
                self.assertEqual(t["datasource"]["uid"], "${DS_PROMETHEUS}", p["title"])
        with open(ALERT_RULES) as f:
            alerting = json.load(f)
        rules = [r for g in alerting["groups"] for r in g["rules"]]
        for r in rules:
            for q in r["data"]:
                if q["datasourceUid"] != "__expr__":
                    self.assertEqual(q["datasourceUid"], "${DS_PROMETHEUS}", r["title"])
                    exprs.append(q["model"]["expr"])
            self.assertEqual(r["condition"], "C", r["title"])
        exprs.extend(v["query"]["query"] for v in dash["templating"]["list"])
        alerts = {r["title"] for r in rules}
        for a in ("PopgateRelayDbDown", "PopgateControlDown", "PopgateStressMode", "PopgateNextHopDeferrals",
                  "PopgateTlsHandshakeFailures", "PopgateExportMapStale", "PopgateWorkerRestarts",
                  "PopgateRelayDbErrors", "PopgateLockoutSurge"):
            self.assertIn(a, alerts)
        names = set()
        for e in exprs:
            names.update(re.findall(r"\bpopgate_[a-z0-9_]+", e))
        self.assertTrue(names)
        with self.daemon(listeners=("pop3s", "smtp", "admin")) as d:
            d.config["relay"]["export_map"] = os.path.join(d.dir, "state", "relay-map")  # exposes the age
            d.start()
            text = ah.AdminClient(d).get("/metrics", cookie=False).text
        exposed = {k.split("{", 1)[0] for k in ah.parse_metrics(text)}
        self.assertEqual(names - exposed, set(), "the dashboard names metrics /metrics does not have")
        if shutil.which("promtool") is None:
            print("promtool (Debian's prometheus) not installed: PromQL syntax and lint not checked")
            return
        # Prometheus's own checks: the exposition passes its linter (naming, HELP, _total), and
        # every expression parses, with Grafana's variables given values as Grafana would.
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""), "promtool check metrics")
        rules = [{"record": "popgate_dashboard:expr_%d" % i,
                  "expr": e.replace("$__rate_interval", "5m").replace("$instance", ".*")}
                 for i, e in enumerate(exprs) if not e.startswith("label_values(")]
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            json.dump({"groups": [{"name": "popgate-dashboard", "rules": rules}]}, f)  # JSON is YAML
            f.flush()
            r = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS: %d rules found" % len(rules), r.stdout + r.stderr)


if __name__ == "__main__":
    h.main()
