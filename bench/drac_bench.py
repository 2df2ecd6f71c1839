# SPDX-License-Identifier: GPL-2.0-or-later
"""drac_bench - the DRAC RPC server: adds per second, and how long after the RPC's reply the key is in
the MTA's map (the target is before the reply: a client relays the moment it is answered).

There is no peer: rpc.dracd is not packaged in Debian. The calls come from tests/drac/drac_client,
built on rpcgen's stubs, as the mail servers that feed a DRAC server are.
"""

import os
import subprocess
import time

import benchlib as b


def _config(top, port):
    state = os.path.join(top, "state")
    conf = os.path.join(top, "popgate.conf")
    open(os.path.join(top, "users.passwd"), "w").close()
    with open(conf, "w") as f:
        f.write("""; popgate.conf for the DRAC workload of bench/run
[server]
user = nobody
; the protocol children: a base-passwd user with a group of its own, as the tests use
login_user = irc
state_dir = %(state)s
pid_file = %(top)s/popgated.pid
shutdown_timeout = 5s
[auth]
backend = file
passwd_file = %(top)s/users.passwd
[pop3]
listen =
listen_tls =
[smtp]
listen =
listen_tls =
[admin]
listen =
[relay]
db_dir = %(state)s/relay
export_map = %(state)s/dracmap
timeout = 1h
drac_listen = 127.0.0.1:%(port)d
""" % {"state": state, "top": top, "port": port})
    return conf, os.path.join(state, "dracmap")


def _start(builddir, top, conf):
    log = os.path.join(top, "popgated.log")
    with open(log, "ab") as logf:
        proc = subprocess.Popen([os.path.join(builddir, "src", "popgated"), "-F", "-f", conf], stdout=logf,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        with open(log, "rb") as f:
            if b"drac: serving program" in f.read():
                return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    b.stop_process(proc)
    with open(log, "rb") as f:
        raise b.BenchError("popgated with DRAC did not start: %s" % f.read()[-2000:].decode("utf-8", "replace"))


def _burst(client, port, calls):
    """CALLS adds from four clients at once (two UDP, two TCP): adds per second."""
    each = max(calls // 4, 1)
    jobs = [("tcp", "1", "10.1.0.0"), ("udp", "1", "10.2.0.0"), ("tcp", "2", "2001:db8:1::"),
            ("udp", "2", "2001:db8:2::")]
    started = time.time()
    procs = [subprocess.Popen([client, "-r", "127.0.0.1:%d" % port, proto, v, base, str(each)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for proto, v, base in jobs]
    outs = [p.communicate(timeout=1800) for p in procs]
    took = time.time() - started
    for p, (out, err) in zip(procs, outs):
        if p.returncode != 0:
            raise b.BenchError("drac_client failed: %s %s" % (out, err))
    return 4 * each / took


def _map_has(top, path, key):
    r = subprocess.run(["postmap", "-c", top, "-q", key, "btree:" + path], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() != ""


def _visible_after(client, port, top, path, ip):
    """Milliseconds from the RPC's reply to IP being in the map (0: it was there at the reply)."""
    b.run([client, "127.0.0.1:%d" % port, "tcp", "1", ip])
    replied = time.time()
    if _map_has(top, path, ip):
        return 0.0
    seen = None
    deadline = replied + 10
    while time.time() < deadline:
        try:
            st = os.stat(path + ".db")
        except FileNotFoundError:
            st = None
        ident = (st.st_ino, st.st_mtime_ns) if st else None
        if ident != seen:  # the map is replaced whole (rename): look when it changed
            seen = ident
            now = time.time()
            if st is not None and _map_has(top, path, ip):
                return (now - replied) * 1000
        time.sleep(0.001)
    raise b.BenchError("%s never reached the map" % ip)


def drac(ctx):
    builddir = os.path.dirname(os.path.dirname(ctx.pgload))
    client = os.path.join(builddir, "tests", "drac", "drac_client")
    if not os.path.exists(client) or not os.path.exists(os.path.join(builddir, "src", "popgate-dracd")):
        raise b.BenchError("tests/drac/drac_client or src/popgate-dracd is not built in %s" % builddir)
    top = os.path.join(ctx.top, "drac")
    os.makedirs(top)
    os.chmod(top, 0o755)
    open(os.path.join(top, "main.cf"), "w").close()  # postmap's own, empty main.cf
    port = b.free_port()
    conf, path = _config(top, port)
    calls, samples = (400, 5) if ctx.quick else (10000, 50)
    proc = _start(builddir, top, conf)
    try:
        b.say("DRAC: %d adds from 4 clients" % calls)
        rates = [_burst(client, port, calls) for _ in range(ctx.runs)]
        b.say("DRAC: reply to key in the map, %d samples" % samples)
        delays = sorted(_visible_after(client, port, top, path, "198.51.100.%d" % (i + 1)) for i in range(samples))
    finally:
        b.stop_process(proc)
    rate = b.median(rates)
    at_reply = sum(1 for d in delays if d == 0.0)
    p50, p99 = delays[len(delays) // 2], delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    return [
        {"workload": "DRAC adds per second (4 rpcgen clients, UDP and TCP, v1 and v2), target 100/s",
         "peer": "—", "pg": "%s adds/s" % b.fmt_num(rate), "other": "—", "ratio": rate / 100.0, "target": 1.0,
         "note": ""},
        {"workload": "DRAC reply to key in the MTA's map (Postfix btree), target: before the reply",
         "peer": "—", "pg": "%d of %d in the map at the reply · p50 %s ms · p99 %s ms after it"
         % (at_reply, samples, b.fmt_num(p50), b.fmt_num(p99)), "other": "—",
         "ratio": max(at_reply / samples, 0.001), "target": 1.0, "note": ""},
    ]
