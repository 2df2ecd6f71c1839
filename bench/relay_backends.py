#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""relay_backends - POP3 logins/s and the RCPT round trip with relay.backend = bdb and = postgresql
(issue 16 item 8), each among AUTHORIZATIONS loaded authorizations, on this machine.

usage: bench/relay_backends.py --builddir DIR [--authorizations N] [--seconds S] [--clients C]
                               [--rcpts N] [--quick]

Needs root (the private PostgreSQL runs as nobody), Debian's postgresql, and DIR/bench/pgload
(make -C DIR bench/pgload). Starts a private PostgreSQL cluster and one popgated per backend on
127.0.0.1, loads the authorizations (SQL for the table; popgatectl import-relay for Berkeley DB),
runs `pgload pop3` (connect, USER/PASS, STAT, RETR of one message, QUIT; every login records its
authorization before +OK) and `pgload rcpt` (RCPTs to an outside domain from 127.0.0.1, authorized
among the others), and prints a markdown table. Targets: logins/s with postgresql within 15% of
bdb; RCPT p99 under 1 ms.
"""

import argparse
import os
import re
import subprocess
import sys

SRCDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "lib"))
sys.dont_write_bytecode = True


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--authorizations", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rcpts", type=int, default=20000)
    ap.add_argument("--quick", action="store_true", help="1000 authorizations, 1 s, 2000 RCPTs")
    a = ap.parse_args()
    if a.quick:
        a.authorizations, a.seconds, a.rcpts = 1000, 1.0, 2000
    return a


def pgload(builddir, *args):
    out = subprocess.run([os.path.join(builddir, "bench", "pgload")] + [str(x) for x in args],
                         capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit("pgload %s failed: %s" % (args, out.stderr))
    return dict(re.findall(r"(\w+)=([\d.]+)", out.stdout))


def load(pg, n):
    """N authorizations in the table, 10.x.y.z, valid for an hour, recorded by "bench"."""
    pg.psql("INSERT INTO relay_auth (address, username, protocol, node, first, last, expires, logins)"
            " SELECT '10.' || (i >> 16) || '.' || ((i >> 8) & 255) || '.' || (i & 255), 'u' || i, 'pop3',"
            " 'bench', now(), now(), now() + interval '1 hour', 1 FROM generate_series(1, %d) AS i"
            " ON CONFLICT DO NOTHING" % n)


def daemon(h, pg, backend, clients):
    cfg = {"relay": {"allow": "", "backend": backend, "postgresql": pg.conninfo(), "timeout": "1h"},
           "pop3": {"plaintext_auth": "always", "trusted_networks": ""},
           "smtp": {"relay_domains": "example.org", "forward": "sendmail:/bin/true"},
           "server": {"log_level": "info", "max_connections_per_ip": "1000"}}
    d = h.Popgated(None, config=cfg, listeners=("pop3", "smtp"))
    for i in range(clients):
        d.add_user("u%d" % i, "bench-password", messages=[h.mbox_message(1)])
    return d


def measure(h, a, pg, backend):
    with daemon(h, pg, backend, a.clients) as d:
        d.write_config()
        if backend == "bdb":
            # Made here and given to server.user: popgatectl (root) would leave it root's.
            relay = d.config["relay"]["db_dir"]
            os.makedirs(relay)
            for p in (os.path.dirname(relay), relay):
                os.chown(p, d.uid, d.gid)
            d.ctl("import-relay", "postgresql")
        d.start()
        d.ctl("add", "127.0.0.1", "--ttl", "1h")
        pgload(a.builddir, "pop3", "-p", d.port("pop3"), "-c", a.clients, "-t", 0.3, "-u", "u",
               "-U", a.clients, "-w", "bench-password")  # the first session builds each index
        logins = pgload(a.builddir, "pop3", "-p", d.port("pop3"), "-c", a.clients, "-t", a.seconds, "-u", "u",
                        "-U", a.clients, "-w", "bench-password")
        rcpt = pgload(a.builddir, "rcpt", "-p", d.port("smtp"), "-n", a.rcpts, "-r", 50)
        count = len(d.ctl("list", "--json").stdout.split('"ip"')) - 1
        return logins, rcpt, count


def main():
    a = parse_args()
    os.environ.setdefault("POPGATE_BUILDDIR", os.path.abspath(a.builddir))
    os.environ.setdefault("POPGATE_SRCDIR", SRCDIR)
    import pg_cluster
    import popgate_harness as h
    if not h.IS_ROOT:
        print("SKIP: needs root")
        return 77
    pg_cluster.need_postgresql()
    results = {}
    with pg_cluster.PgCluster() as pg:
        pg.start()
        for backend in ("bdb", "postgresql"):
            pg.psql("DROP TABLE IF EXISTS relay_auth, popgate_schema")
            with daemon(h, pg, "postgresql", 0) as init:
                init.write_config()
                init.ctl("db", "init")
            load(pg, a.authorizations)
            print("measuring %s among %d authorizations..." % (backend, a.authorizations), file=sys.stderr)
            results[backend] = measure(h, a, pg, backend)
    bdb, pgs = results["bdb"], results["postgresql"]
    ratio = float(pgs[0]["rate"]) / max(float(bdb[0]["rate"]), 1e-9)
    print("| backend | authorizations | POP3 logins/s (%d clients; errors) | login p99 | RCPT p50 | RCPT p99 |"
          % a.clients)
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (lg, rc, n) in results.items():
        print("| %s | %d | %s (%s) | %s ms | %s µs | %s µs |" % (name, n, lg["rate"], lg["errors"], lg["p99_ms"],
                                                             rc["p50_us"], rc["p99_us"]))
    print("\npostgresql/bdb logins/s: %.2f (target >= 0.85); RCPT p99 target < 1000 µs" % ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
