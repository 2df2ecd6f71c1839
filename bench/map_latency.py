#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""map_latency - how soon a POP login's key is in relay.export_map, and what the map costs a login.

usage: bench/map_latency.py [-n LOGINS] [-r RECORDS] [-p PRELOAD] [--builddir DIR]

Starts popgated (tests/lib/popgate_harness, 127.0.0.1 high ports, a temporary directory) twice:
with relay.export_map and without, each with PRELOAD authorizations imported first (popgatectl
import-drac of a btree map postmap made, as bench/run loads its 100,000), so that the map a login
changes is as big as an ISP's. Each of N logins comes from its own 127.4.x.y address. With
the map, the moment +OK to PASS arrives `postmap -q` looks the address up; a key not there yet is
looked up again until it is, and the delay from +OK is recorded (the target is 0: always there).
The login cost is the PASS round trip (median and p90), with the map against without (logins to
the two daemons alternate, so other load on the machine falls on both alike): the
difference is what the map update adds to a login (target: under 1 ms). That difference is
small against the PASS round trip's own spread (a password hash, a fork, three processes), so
the same two daemons are then asked by bench/login-record-bench to record R logins each, the very
call a session makes before +OK, alternating call by call: the difference of those p50s is the
map's cost without the noise around it. Prints one line of key=value figures. bench/run runs it
as the workload "mapkey".
"""

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time

SRCDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "lib"))
POSTMAP = shutil.which("postmap", path=os.environ.get("PATH", "") + ":/usr/sbin")


def source(i):
    return "127.4.%d.%d" % (1 + i // 250, 1 + i % 250)


def login(port, src):
    """USER/PASS from SRC; the seconds from sending PASS to reading +OK, and the open socket."""
    s = socket.create_connection(("127.0.0.1", port), 30, source_address=(src, 0))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"USER alice\r\n")
    f.readline()
    t0 = time.perf_counter()
    s.sendall(b"PASS secret\r\n")
    line = f.readline()
    took = time.perf_counter() - t0
    if not line.startswith(b"+OK"):
        raise RuntimeError("login from %s: %r" % (src, line))
    return took, s, f


def has_key(confdir, mapfile, key):
    r = subprocess.run([POSTMAP, "-c", confdir, "-q", key, "btree:" + mapfile], capture_output=True, text=True)
    return r.stdout.strip().isdigit()


def preload(d, n):
    """N authorizations (10.x.y.z, a day long) imported into D's relay database (and so its map)."""
    path = os.path.join(d.dir, "preload")
    until = int(time.time()) + 86400
    with open(path, "w") as f:
        for i in range(n):
            f.write("10.%d.%d.%d %d\n" % ((i >> 16) & 255, (i >> 8) & 255, i & 255, until))
    subprocess.run([POSTMAP, "-c", d.dir, "btree:" + path], check=True, capture_output=True)
    d.ctl("import-drac", path + ".db")


def start(h, stack, with_map, n_preload):
    d = stack.enter_context(h.Popgated(None, config={"relay": {"allow": ""}}, listeners=("pop3",)))
    d.mapfile = os.path.join(d.config["server"]["state_dir"], "dracd")
    if with_map:
        d.config["relay"]["export_map"] = d.mapfile
    open(os.path.join(d.dir, "main.cf"), "w").close()  # postmap's own, empty
    d.add_user("alice", "secret")
    d.start()
    if n_preload > 0:
        preload(d, n_preload)  # once started: popgatectl writes as the owner of the daemon's database
    return d


def one(d, src, with_map):
    """One login from SRC; (PASS round trip, +OK-to-key delay or None)."""
    took, s, f = login(d.port("pop3"), src)
    waited = None
    if with_map:
        t_ok = time.perf_counter()
        waited = 0.0
        while not has_key(d.dir, d.mapfile, src) and waited < 10:
            waited = time.perf_counter() - t_ok
    s.sendall(b"QUIT\r\n")
    f.readline()
    s.close()
    return took, waited


def record_logins(prog, dm, dp, n):
    """PROG (login-record-bench) against both daemons, N calls each; {"map": {...}, "plain": {...}}."""
    r = subprocess.run([prog, "-n", str(n), dm.conf_path, dp.conf_path], capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        raise RuntimeError("login-record-bench: %s" % r.stderr.strip())
    lines = [dict(kv.split("=") for kv in line.split()) for line in r.stdout.splitlines()]
    return {"map": lines[0], "plain": lines[1]}


def run(h, n, records, prog, n_preload):
    """N logins against a popgated with the map and N against one without, alternating, so that
    the machine's other load falls on both alike; then RECORDS login records each through PROG.
    (round trips with, without, +OK-to-key delays, records' figures or None)."""
    with contextlib.ExitStack() as stack:
        dm, dp = start(h, stack, True, n_preload), start(h, stack, False, n_preload)
        with_map, plain, delays = [], [], []
        for i in range(n):
            took, waited = one(dm, source(2 * i), True)
            with_map.append(took)
            delays.append(waited)
            plain.append(one(dp, source(2 * i + 1), False)[0])
        rec = record_logins(prog, dm, dp, records) if records > 0 and prog else None
        return with_map, plain, delays, rec


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p * len(v)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("-r", type=int, default=2000, help="login records per daemon (0: none)")
    ap.add_argument("-p", type=int, default=0, help="authorizations imported before the start")
    ap.add_argument("--builddir", default=os.environ.get("POPGATE_BUILDDIR", os.path.join(SRCDIR, "build")))
    args = ap.parse_args()
    if POSTMAP is None:
        print("SKIP: postmap (Debian package postfix) is not installed")
        return 77
    os.environ["POPGATE_BUILDDIR"] = os.path.abspath(args.builddir)
    os.environ.setdefault("POPGATE_SRCDIR", SRCDIR)
    import popgate_harness as h
    h.POPGATED = os.path.join(os.environ["POPGATE_BUILDDIR"], "src", "popgated")
    prog = os.path.join(os.environ["POPGATE_BUILDDIR"], "bench", "login-record-bench")
    if not os.path.exists(prog):
        print("map_latency: %s is not built (make bench/login-record-bench): no record figures" % prog,
              file=sys.stderr)
        prog = None
    rtt_map, rtt_plain, delays, rec = run(h, args.n, args.r, prog, args.p)
    present = sum(1 for x in delays if x == 0)
    out = ("preloaded=%d logins=%d present_at_ok=%d max_ok_to_key_ms=%.3f pass_ms_map_p50=%.3f pass_ms_map_p90=%.3f "
           "pass_ms_plain_p50=%.3f pass_ms_plain_p90=%.3f map_cost_ms=%.3f"
           % (args.p, args.n, present, max(delays) * 1000, pct(rtt_map, 0.5) * 1000, pct(rtt_map, 0.9) * 1000,
              pct(rtt_plain, 0.5) * 1000, pct(rtt_plain, 0.9) * 1000,
              (pct(rtt_map, 0.5) - pct(rtt_plain, 0.5)) * 1000))
    if rec is not None:
        m, p = rec["map"], rec["plain"]
        out += (" records=%s record_us_map_p50=%s record_us_map_p99=%s record_us_plain_p50=%s "
                "record_us_plain_p99=%s record_map_cost_us=%.1f"
                % (m["calls"], m["p50_us"], m["p99_us"], p["p50_us"], p["p99_us"],
                   float(m["p50_us"]) - float(p["p50_us"])))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
