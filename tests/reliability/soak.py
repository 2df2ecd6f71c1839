#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""soak - mixed POP3, SMTP and admin traffic against one popgated for a long time, watching its
memory, processes and descriptors.

    tests/reliability/soak.py [--minutes 10] [--json FILE] [--seed N]
    make soak SOAK_MINUTES=10            # from a build directory

Traffic, all on 127.0.0.0/8, until the time is up:
  - deliveries into mbox (dotlock + fcntl, as an MDA) and Maildir mailboxes;
  - POP3 sessions that retrieve everything (checking each body's digest), delete some and QUIT,
    and some that drop the connection, send junk, or fail to log in;
  - SMTP sessions relaying messages (POP-before-SMTP) to a smarthost (aiosmtpd on 127.0.0.1);
  - the admin page's JSON API (log in, list, add and revoke authorizations, stats, /metrics) and
    popgatectl list.
Every few seconds it samples, for each popgated process, RSS, PSS and open descriptors, and
the number of processes. It fails (exit 1) when:
  - the master's or a worker's RSS grows by more than --rss-bound KiB (default 4096) from the
    end of the warm-up (a fifth of the run, at least 10 s) to the end, or its descriptors grow;
  - the process count ever exceeds what the client concurrency can explain, or is not back to
    master + workers within 15 s of the end (reused session processes end after 2 s idle here);
  - a message was lost or changed (POP3 digests, every SMTP 250 at the smarthost intact), a
    process died of a signal, or a sanitizer reported anything.
Under AddressSanitizer the daemon gets quarantine_size_mb=1, so that ASan's quarantine of freed
memory (256 MiB by default) is not taken for a leak. An admin request answered 503 is retried
once (the worker reopens the relay database after an error); the summary counts those and the
Berkeley DB PANIC lines in the log, a finding of their own (TESTING.md).
"""

import argparse
import json
import os
import random
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relib as r  # noqa: E402

import admin_helpers as ah  # noqa: E402
import popgate_harness as h  # noqa: E402
import smtp_helpers as sh  # noqa: E402

USERS = {"mb1": "mbox", "mb2": "mbox", "md1": "maildir", "md2": "maildir"}
PASSWORD = "soak-pass"
ADMIN = {"helen": ("helen-soak-1", "admin")}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {}
        self.errors = []
        self.delivered = {}     # msgid -> user
        self.collected = set()  # msgids deleted by a QUIT that answered +OK
        self.relayed = {}       # msgid -> body digest check at the end
        self.changed = []

    def add(self, key, k=1):
        with self.lock:
            self.n[key] = self.n.get(key, 0) + k

    def error(self, what):
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(what)


def asan_build():
    with open(h.POPGATED, "rb") as f:
        return b"__asan_init" in f.read()


class Soak:
    def __init__(self, d, minutes, seed):
        self.d = d
        self.end = time.time() + minutes * 60
        self.rng = random.Random(seed)
        self.t = Tally()
        self.paths = {}
        self.stop = threading.Event()

    # ---- traffic ---------------------------------------------------------------------------------
    def deliver(self, rng):
        n = 0
        while not self.stop.wait(rng.uniform(0.02, 0.2)):
            user = rng.choice(sorted(USERS))
            n += 1
            mid = "%s.%d.%d@soak.test" % (user, n, rng.randrange(10 ** 9))
            body = r.make_body(rng, n, rng.choice([100, 1000, 8000, 60000]))
            msg = r.rfc822(mid, body)
            try:
                if USERS[user] == "mbox":
                    r.mbox_deliver(self.paths[user], b"From soak@example.org Mon Nov 16 10:00:00 2026\n" + msg + b"\n")
                else:
                    r.maildir_deliver(self.paths[user], msg, self.d.uid, self.d.gid)
            except (OSError, TimeoutError) as e:
                self.t.error("delivery to %s: %s" % (user, e))
                continue
            with self.t.lock:
                self.t.delivered[mid] = user
            self.t.add("delivered")

    def pop3(self, rng, source):
        while not self.stop.wait(rng.uniform(0.01, 0.1)):
            user = rng.choice(sorted(USERS))
            kind = rng.choices(["normal", "drop", "junk", "badpass"], [0.8, 0.08, 0.06, 0.06])[0]
            try:
                c = r.Pop3(self.d.port("pop3"), source=source, timeout=30)
            except (OSError, EOFError, r.Pop3Error) as e:
                self.t.error("pop3 connect: %s" % e)
                continue
            try:
                if kind == "junk":
                    for line in ("XYZZY", "RETR 1", "USER", "PASS x" * 100):
                        c.sock.sendall(line.encode() + b"\r\n")
                        c.line()
                    c.cmd("QUIT")
                    self.t.add("pop3 junk")
                    continue
                if kind == "badpass":
                    c.cmd("USER " + user)
                    try:
                        c.cmd("PASS wrong")
                        self.t.error("a wrong password was accepted")
                    except r.Pop3Error:
                        pass
                    c.cmd("QUIT")
                    self.t.add("pop3 failed login")
                    continue
                try:
                    c.login(user, PASSWORD)
                except r.Pop3Error as e:
                    if "[IN-USE]" in str(e):
                        self.t.add("pop3 in-use")
                        continue
                    raise
                doomed = []
                for num in sorted(c.uidl())[:30]:
                    mid, intact = r.check_copy(c.retr(num))
                    self.t.add("pop3 retr")
                    if mid is None or not intact:
                        with self.t.lock:
                            self.t.changed.append(mid)
                        continue
                    if rng.random() < 0.6:
                        c.cmd("DELE %d" % num)
                        doomed.append(mid)
                if kind == "drop":
                    self.t.add("pop3 dropped")
                    continue
                c.cmd("QUIT")
                with self.t.lock:
                    for m in doomed:
                        if m in self.t.collected:
                            self.t.error("collected twice: %s" % m)
                        self.t.collected.add(m)
                self.t.add("pop3 sessions")
            except (OSError, EOFError, r.Pop3Error) as e:
                self.t.error("pop3 %s %s: %s" % (kind, user, e))
            finally:
                c.close()

    def smtp(self, rng, source):
        n = 0
        while not self.stop.wait(rng.uniform(0.02, 0.15)):
            n += 1
            mid = "relay.%s.%d.%d@soak.test" % (source, n, rng.randrange(10 ** 9))
            body = r.make_body(rng, n, rng.choice([200, 3000, 30000, 300000]))
            data = r.rfc822(mid, body, rcpt="someone@elsewhere.example").replace(b"\n", b"\r\n")
            try:
                s = smtplib.SMTP(timeout=60, source_address=(source, 0))
                s.connect("127.0.0.1", self.d.port("smtp"))
                try:
                    s.ehlo("soak.test")
                    s.mail("sender@example.org")
                    code, text = s.rcpt("someone@elsewhere.example")
                    if code == 250:
                        code, text = s.data(data)
                        if code == 250:
                            with self.t.lock:
                                self.t.relayed[mid] = False
                            self.t.add("smtp relayed")
                        else:
                            self.t.error("smtp DATA: %d %s" % (code, text))
                    else:
                        self.t.error("smtp RCPT: %d %s" % (code, text))
                    s.quit()
                finally:
                    s.close()
            except (OSError, smtplib.SMTPException) as e:
                self.t.error("smtp: %s" % e)

    def admin(self, rng):
        c = ah.AdminClient(self.d)
        c.login("helen", ADMIN["helen"][0])
        n = 0
        while not self.stop.wait(rng.uniform(0.1, 0.4)):
            n += 1
            ip = "203.0.113.%d" % (1 + n % 250)
            try:
                for method, path, body in (("GET", "/api/relays", None), ("GET", "/api/stats", None),
                                           ("POST", "/api/relays", {"ip": ip, "user": "soak"}),
                                           ("DELETE", "/api/relays/" + ip, None), ("GET", "/metrics", None)):
                    resp = c.request(method, path, body=body)
                    if resp.status == 503:
                        # The worker reopens the relay database after an error (see the count of
                        # Berkeley DB panics in the summary); one retry must then succeed.
                        self.t.add("admin 503 retried")
                        resp = c.request(method, path, body=body)
                    if resp.status not in (200, 201, 204):
                        self.t.error("admin %s %s: %r" % (method, path, resp))
                self.t.add("admin rounds")
                if n % 20 == 0:
                    ah.ctl(self.d, "list")
                    self.t.add("popgatectl list")
            except (OSError, AssertionError) as e:
                self.t.error("admin: %s" % e)

    # ---- sampling --------------------------------------------------------------------------------
    def sample(self):
        pids = self.d.pids()
        row = {"t": round(time.time() - self.t0, 1), "processes": len(pids)}
        for name, pid in self.named.items():
            row[name] = {"rss": r.rss_kib(pid), "pss": r.pss_kib(pid), "fds": r.fd_count(pid)}
        row["pss_all_kib"] = sum(r.pss_kib(p) for p in pids)
        return row

    def run(self):
        self.t0 = time.time()
        self.named = {"master": self.d.proc.pid}
        for name, ident in (("admin", "popgated/admin"), ("sweeper", "popgated/sweeper")):
            m = self.d.wait_for_log(r"%s\[(\d+)\]" % ident, timeout=10) if ident.endswith("admin") else None
            if m:
                self.named[name] = int(m.group(1))
        kids = [p for p in self.d.pids() if r.proc_table().get(p, (0,))[0] == self.d.proc.pid]
        others = [p for p in kids if p not in self.named.values()]
        if len(others) == 1:
            self.named["sweeper"] = others[0]
        base = len(self.d.pids())
        threads = [threading.Thread(target=self.deliver, args=(random.Random(1),))]
        threads += [threading.Thread(target=self.pop3, args=(random.Random(10 + k), "127.0.0.%d" % (10 + k)))
                    for k in range(3)]
        threads += [threading.Thread(target=self.smtp, args=(random.Random(20 + k), "127.0.0.%d" % (10 + k)))
                    for k in range(2)]
        threads.append(threading.Thread(target=self.admin, args=(random.Random(30),)))
        # Authorize the SMTP sources once (the POP3 workers refresh them all the time).
        for k in range(3):
            c = r.Pop3(self.d.port("pop3"), source="127.0.0.%d" % (10 + k))
            c.login("mb1", PASSWORD)
            c.cmd("QUIT")
            c.close()
        for th in threads:
            th.start()
        samples = []
        interval = 5 if self.end - time.time() > 120 else 2
        while time.time() < self.end:
            samples.append(self.sample())
            time.sleep(max(0.0, min(interval, self.end - time.time())))
        samples.append(self.sample())
        self.stop.set()
        for th in threads:
            th.join(120)
        t1 = time.time()
        while len(self.d.pids()) > base and time.time() - t1 < 15:
            time.sleep(0.1)
        settled = len(self.d.pids())
        return samples, base, settled


def verify(s, smarthost, deadline=30):
    """Every 250 at the smarthost, intact and once; every delivered message collected or still there."""
    t = s.t
    end = time.time() + deadline
    while True:
        got = {}
        changed = 0
        for env, content in smarthost.messages():
            mid, intact = r.check_copy(content)
            got[mid] = got.get(mid, 0) + 1
            changed += not intact
        if set(t.relayed) <= set(got) or time.time() > end:
            break
        time.sleep(0.5)
    lost_relayed = set(t.relayed) - set(got)
    dup_relayed = [m for m, k in got.items() if k > 1 and m in t.relayed]
    # Drain the mailboxes: whatever was delivered and not collected must still be there.
    left = set()
    for user in USERS:
        c = r.Pop3(s.d.port("pop3"), source="127.0.0.99")
        c.login(user, PASSWORD)
        for num in sorted(c.uidl()):
            mid, intact = r.check_copy(c.retr(num))
            if not intact:
                changed += 1
            left.add(mid)
        c.cmd("QUIT")
        c.close()
    lost_mail = set(t.delivered) - t.collected - left
    return {"relayed": len(t.relayed), "relayed_lost": len(lost_relayed), "relayed_duplicated": len(dup_relayed),
            "delivered": len(t.delivered), "collected": len(t.collected), "left": len(left),
            "mail_lost": len(lost_mail), "changed": changed + len(t.changed)}


def judge(samples, base, settled, rss_bound):
    """Failures (a list of text) from the samples."""
    fails = []
    warm = max(10.0, samples[-1]["t"] / 5)
    after = [row for row in samples if row["t"] >= warm] or samples[-1:]
    first, last = after[0], after[-1]
    growth = {}
    for name in first:
        if not isinstance(first[name], dict) or name not in last:
            continue
        g = max(row[name]["rss"] for row in after[-3:]) - first[name]["rss"]
        growth[name] = g
        if g > rss_bound:
            fails.append("%s RSS grew by %d KiB (bound %d)" % (name, g, rss_bound))
        if last[name]["fds"] > first[name]["fds"] + 2:
            fails.append("%s descriptors grew from %d to %d" % (name, first[name]["fds"], last[name]["fds"]))
    peak = max(row["processes"] for row in samples)
    # Clients at once: 3 POP3 + 2 SMTP + a drain; each session is at most 2 processes, plus slack.
    if peak > base + 2 * 8 + 4:
        fails.append("%d processes at the peak (base %d)" % (peak, base))
    if settled != base:
        fails.append("%d processes 15 s after the end, %d at the start" % (settled, base))
    return fails, growth, peak


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rss-bound", type=int, default=4096, help="KiB a long-lived process may grow")
    ap.add_argument("--seed", type=int, default=1939)
    ap.add_argument("--json", help="write the samples and the result here")
    a = ap.parse_args(argv)
    if not os.path.exists(h.POPGATED):
        print("popgated not built at %s" % h.POPGATED)
        return 99
    cfg = sh.base_config(pop3={"trusted_networks": "127.0.0.0/8"},
                         auth={"fail_delay": "0", "max_failures": "10000"},
                         server={"log_level": "info", "process_idle_timeout": "2s"})
    env = dict(os.environ)
    if asan_build():
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1").lstrip(":")
    result = {}
    with r.Daemon(None, config=cfg, listeners=("pop3", "smtp", "admin")) as d:
        ah.setup_admin(d, ADMIN)
        with sh.Smarthost(os.path.join(d.dir, "smarthost")) as smarthost:
            d.config["smtp"].update({"forward": "smtp:127.0.0.1:%d" % smarthost.port, "forward_tls": "no"})
            s = Soak(d, a.minutes, a.seed)
            for user, kind in USERS.items():
                s.paths[user] = d.add_user(user, PASSWORD, kind=kind)
            d.start(env=env)
            samples, base, settled = s.run()
            check = verify(s, smarthost)
        log = d.log()
    fails, growth, peak = judge(samples, base, settled, a.rss_bound)
    if s.t.errors:
        fails.append("client errors: %s" % s.t.errors[:5])
    for k in ("relayed_lost", "relayed_duplicated", "mail_lost", "changed"):
        if check[k]:
            fails.append("%s: %d" % (k, check[k]))
    panics = sum("PANIC" in l for l in log.splitlines())
    deaths = [l for l in log.splitlines() if "died of signal" in l or "ended abnormally" in l]
    if deaths:
        fails.append("processes died: %s" % deaths[:3])
    if "runtime error:" in log or "AddressSanitizer" in log:
        fails.append("sanitizer report in the log")
    first, last = samples[0], samples[-1]
    result = {"minutes": a.minutes, "counts": s.t.n, "check": check, "rss_growth_kib": growth,
              "peak_processes": peak, "base_processes": base, "settled_processes": settled,
              "first": first, "last": last, "relaydb_panic_lines": panics, "failures": fails}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(result, samples=samples), f, indent=1)
    print("soak: %.1f min; traffic %s" % (a.minutes, json.dumps(s.t.n, sort_keys=True)))
    print("soak: checked %d messages, %d lost, %d changed (delivered %d: collected %d, left %d; relayed %d)"
          % (check["delivered"] + check["relayed"], check["mail_lost"] + check["relayed_lost"], check["changed"],
             check["delivered"], check["collected"], check["left"], check["relayed"]))
    print("soak: processes base %d, peak %d, after the end %d; RSS growth after warm-up (KiB): %s"
          % (base, peak, settled, json.dumps(growth, sort_keys=True)))
    print("soak: last sample %s" % json.dumps(last, sort_keys=True))
    if panics:
        print("soak: the relay database panicked (%d log lines, see TESTING.md)" % panics)
    for f in fails:
        print("soak: FAIL: %s" % f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
