# SPDX-License-Identifier: GPL-2.0-or-later
"""test_drac_rpc - the DRAC RPC server driven by clients that are not popgate's code: a client rpcgen
made from tests/drac/drac.x (tests/drac/drac_client), rpcinfo, a private rpcbind, and raw packets."""

import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

import popgate_harness as h
import smtp_helpers as sh

CLIENT = os.path.join(h.BUILDDIR, "tests", "drac", "drac_client")
DRACD = os.path.join(h.BUILDDIR, "src", "popgate-dracd")
SBIN_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
RPCINFO = shutil.which("rpcinfo", path=SBIN_PATH)
RPCBIND = shutil.which("rpcbind", path=SBIN_PATH)
POSTMAP = shutil.which("postmap", path=SBIN_PATH)
UNSHARE = shutil.which("unshare", path=SBIN_PATH)
IP = shutil.which("ip", path=SBIN_PATH)
PROG = 900101
INNER = "POPGATE_DRAC_IN_NAMESPACE"
LOOKUP_LISTENING = r"popgated/lookup\[(\d+)\]: \w+: relaydb: lookup worker listening"
DRACD_LOGIN_WAIT_S = 3  # DRACD_LOGIN_WAIT_MS, src/drac/dracd_add.c


def drac_daemon(test, port, **relay):
    """A popgated with only the DRAC service, on 127.0.0.1:PORT (or "rpcbind"), and an export map."""
    d = h.Popgated(test, listeners=())
    state = d.config["server"]["state_dir"]
    d.config["relay"].update({"drac_listen": port if port == "rpcbind" else "127.0.0.1:%d" % port,
                              "export_map": os.path.join(state, "dracmap"), "allow": ""})
    d.config["relay"].update(relay)
    d.config["pop3"]["listen_tls"] = ""
    d.config["smtp"]["listen_tls"] = ""
    return d


def client(*args, check=True, timeout=600):
    """Run the rpcgen client; returns (exit status, its counts as a dict)."""
    r = subprocess.run([CLIENT] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    words = r.stdout.split()
    counts = dict(zip(words[0::2], (int(w) for w in words[1::2])))
    if check and r.returncode != 0:
        raise AssertionError("drac_client %s: %d %s %s" % (args, r.returncode, r.stdout, r.stderr))
    return r.returncode, counts


def entries(d):
    return {e["ip"]: e for e in json.loads(d.ctl("list", "--json").stdout)}


def uaddr(port):
    """rpcinfo's universal address of 127.0.0.1:PORT."""
    return "127.0.0.1.%d.%d" % (port >> 8, port & 0xff)


def rpc_call(xid, prog, vers, proc, args=b"", cred=(0, b"")):
    """An ONC RPC call message (RFC 5531), AUTH_NONE verifier."""
    flavor, body = cred
    return (struct.pack(">IIIIII", xid, 0, 2, prog, vers, proc)
            + struct.pack(">II", flavor, len(body)) + body + struct.pack(">II", 0, 0) + args)


def v1_arg(ip):
    return socket.inet_aton(ip)  # xdr_u_long of ntohl(addr): the address's bytes in order


def reply_of(data, xid):
    """(accept_stat, results) of a reply to XID; accept_stat None for a denied reply."""
    rxid, mtype, stat = struct.unpack(">III", data[:12])
    assert rxid == xid and mtype == 1, (rxid, mtype)
    if stat != 0:
        return None, data[12:]
    vlen = struct.unpack(">I", data[16:20])[0]
    off = 20 + ((vlen + 3) & ~3)
    return struct.unpack(">I", data[off:off + 4])[0], data[off + 4:]


def udp_exchange(port, packet, timeout=5.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, ("127.0.0.1", port))
        try:
            return s.recv(65536)
        except socket.timeout:
            return None


def tcp_record(payload, last=True):
    return struct.pack(">I", (0x80000000 if last else 0) | len(payload)) + payload


def recv_record(s):
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    n = struct.unpack(">I", head)[0] & 0x7fffffff
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


class FixedPort(h.TestCase):
    """relay.drac_listen = 127.0.0.1:PORT: sockets the master binds, nothing registered."""

    def setUp(self):
        self.port = h.free_port()

    def test_v1_and_v2_over_udp_and_tcp_authorize_like_a_login(self):
        with drac_daemon(self, self.port, timeout="10m") as d:
            d.start()
            d.wait_for_log(r"drac: serving program 900101")
            before = int(time.time())
            client("127.0.0.1:%d" % self.port, "udp", 1, "192.0.2.1")
            client("127.0.0.1:%d" % self.port, "tcp", 1, "192.0.2.2")
            # Bytes with the high bit set: rpcgen sends them as sign-extended ints.
            client("127.0.0.1:%d" % self.port, "udp", 2, "2001:db8::ff80:1")
            client("127.0.0.1:%d" % self.port, "tcp", 2, "2001:db8:ffff::fe")
            # An IPv4-mapped IPv6 address is the IPv4 address.
            client("127.0.0.1:%d" % self.port, "udp", 2, "::ffff:198.51.100.3")
            after = int(time.time())
            got = entries(d)
            want = ["192.0.2.1", "192.0.2.2", "2001:db8::ff80:1", "2001:db8:ffff::fe", "198.51.100.3"]
            self.assertEqual(sorted(got), sorted(want))
            for ip in want:
                e = got[ip]
                self.assertEqual((e["proto"], e["user"], e["logins"]), ("drac", "", 1), e)
                self.assertTrue(before <= e["last"] <= after, e)
                self.assertEqual(e["expires"], e["last"] + 600, e)
                self.assertIn("authorized", d.ctl("check", ip).stdout)
            # A second add slides the expiry, as a second login does.
            client("127.0.0.1:%d" % self.port, "tcp", 1, "192.0.2.1")
            self.assertEqual(entries(d)["192.0.2.1"]["logins"], 2)
            # The worker runs as server.user, never as root.
            pid = d.wait_for_log(r"popgated/drac\[(\d+)\]").group(1)
            with open("/proc/%s/status" % pid) as f:
                uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
            self.assertEqual(set(uids), {str(d.uid)})

    @unittest.skipIf(POSTMAP is None, "postmap (Debian package postfix) is not installed")
    def test_the_map_has_the_key_soon(self):
        with drac_daemon(self, self.port) as d:
            d.start()
            d.wait_for_log(r"drac: serving program 900101")
            client("127.0.0.1:%d" % self.port, "udp", 1, "192.0.2.9")
            self.assertTrue(wait_until(lambda: postmap(d, "192.0.2.9").isdigit(), 10),
                            "192.0.2.9 never reached the MTA's map")

    @unittest.skipIf(POSTMAP is None, "postmap (Debian package postfix) is not installed")
    def test_the_map_has_the_key_when_the_call_returns(self):
        with drac_daemon(self, self.port) as d:
            d.start()
            d.wait_for_log(r"drac: serving program 900101")
            # The sweeper puts keys into the map only when it rebuilds it (at start, or when the map
            # is missing or out of step), and says so in the log. None in this window, and the key
            # there when the call returns: the add itself put it there before its answer. (Holding
            # the sweeper still with SIGSTOP could stop it holding a lock the add then waits for.)
            # The sweeper's first export, made at its start, is done before the window.
            sh.wait_until(lambda: os.path.exists(d.config["relay"]["export_map"] + ".db"), timeout=30,
                          what="the first export")
            rebuilds = d.log().count("rebuilding it")
            missing = []
            for i in range(3):
                ip = "192.0.2.%d" % (20 + i)
                client("127.0.0.1:%d" % self.port, "tcp", 1, ip)
                if not postmap(d, ip).isdigit():
                    missing.append(ip)
            self.assertEqual(d.log().count("rebuilding it"), rebuilds, "the sweeper rebuilt the map meanwhile")
            self.assertEqual(missing, [])

    @unittest.skipIf(RPCINFO is None, "rpcinfo (Debian package rpcbind) is not installed")
    def test_rpcinfo_udp_and_tcp(self):
        with drac_daemon(self, self.port) as d:
            d.start()
            d.wait_for_log(r"drac: serving program 900101")
            for netid in ("udp", "tcp"):
                for vers in ("1", "2"):
                    r = subprocess.run([RPCINFO, "-T", netid, "-a", uaddr(self.port), str(PROG), vers],
                                       capture_output=True, text=True, timeout=30)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn("program %d version %s ready and waiting" % (PROG, vers), r.stdout)
                r = subprocess.run([RPCINFO, "-T", netid, "-a", uaddr(self.port), str(PROG), "3"],
                                   capture_output=True, text=True, timeout=30)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("version 3 is not available", r.stdout + r.stderr)

    def test_an_unlisted_caller_is_refused(self):
        with drac_daemon(self, self.port, drac_clients="127.0.0.1/32") as d:
            d.start()
            d.wait_for_log(r"drac: serving program 900101")
            for proto in ("udp", "tcp"):
                rc, counts = client("-s", "127.0.0.9", "127.0.0.1:%d" % self.port, proto, 1, "192.0.2.77",
                                    check=False)
                self.assertEqual((rc, counts["perm"], counts["success"]), (1, 1, 0), counts)
            self.assertNotIn("192.0.2.77", entries(d))
            d.wait_for_log(r"call from 127\.0\.0\.9 refused: not in relay\.drac_clients")
            client("-s", "127.0.0.1", "127.0.0.1:%d" % self.port, "udp", 1, "192.0.2.78")
            self.assertIn("192.0.2.78", entries(d))

    def test_malformed_packets_do_no_harm(self):
        with drac_daemon(self, self.port) as d:
            d.start()
            pid = d.wait_for_log(r"popgated/drac\[(\d+)\]: info: drac: serving").group(1)
            port = self.port
            # Answered with the RPC error a caller can act on.
            cases = [
                (rpc_call(1, PROG + 1, 1, 1, v1_arg("192.0.2.40")), 1),        # PROG_UNAVAIL
                (rpc_call(2, PROG, 7, 1, v1_arg("192.0.2.41")), 2),            # PROG_MISMATCH
                (rpc_call(3, PROG, 1, 9, v1_arg("192.0.2.42")), 3),            # PROC_UNAVAIL
                (rpc_call(4, PROG, 1, 1, b"\x01\x02"), 4),                     # GARBAGE_ARGS
                (rpc_call(5, PROG, 2, 1, b"\x00" * 20), 4),                    # v2 with 5 of 16 ints
            ]
            for packet, stat in cases:
                data = udp_exchange(port, packet)
                self.assertIsNotNone(data, packet)
                self.assertEqual(reply_of(data, struct.unpack(">I", packet[:4])[0])[0], stat)
            # Dropped: no call at all, a truncated header, a reply instead of a call, an oversize datagram.
            for packet in (b"", b"\x00\x00\x00\x06\x00", struct.pack(">III", 7, 1, 0) + b"\x00" * 20,
                           os.urandom(300), rpc_call(8, PROG, 1, 1, v1_arg("192.0.2.43") + b"\xee" * 4000)):
                udp_exchange(port, packet, timeout=0.2)
            # TCP: a record over the size bound is refused by closing; a half-sent call stalls nobody.
            with socket.create_connection(("127.0.0.1", port), timeout=10) as big:
                big.sendall(struct.pack(">I", 0x80000000 | 100000) + b"\x00" * 1000)
                self.assertIn(recv_closed(big), (b"", None))
            stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
            stalled.sendall(tcp_record(rpc_call(9, PROG, 1, 1, v1_arg("192.0.2.44")))[:30])
            try:
                ok = udp_exchange(port, rpc_call(10, PROG, 1, 1, v1_arg("192.0.2.45")))
                self.assertEqual(reply_of(ok, 10), (0, struct.pack(">I", 0)))
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    s.sendall(tcp_record(rpc_call(11, PROG, 2, 1, b"".join(
                        struct.pack(">i", b if b < 128 else b - 256) for b in socket.inet_pton(
                            socket.AF_INET6, "2001:db8::46")))))
                    self.assertEqual(reply_of(recv_record(s), 11), (0, struct.pack(">I", 0)))
            finally:
                stalled.close()
            got = entries(d)
            self.assertEqual(sorted(ip for ip in got), ["192.0.2.45", "2001:db8::46"])
            self.assertEqual(d.wait_for_log(r"popgated/drac\[(\d+)\]").group(1), pid)
            self.assertNotIn("restarting the drac worker", d.log())

    def test_tcp_connections_are_bounded_udp_goes_on(self):
        with drac_daemon(self, self.port) as d:
            d.start()
            d.wait_for_log(r"drac: serving program 900101")
            held = []
            try:
                # 64 connections (DRACD_CONNS_MAX), each proven accepted by an answered null call.
                for i in range(64):
                    s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
                    s.sendall(tcp_record(rpc_call(100 + i, PROG, 1, 0)))
                    self.assertEqual(reply_of(recv_record(s), 100 + i)[0], 0)
                    held.append(s)
                # A 65th: the kernel completes the handshake (backlog), the call waits unread.
                late = socket.create_connection(("127.0.0.1", self.port), timeout=30)
                held.append(late)
                late.sendall(tcp_record(rpc_call(200, PROG, 1, 1, v1_arg("192.0.2.99"))))
                # UDP is served meanwhile. Three round trips are three turns of the worker's loop:
                # had it taken the 65th, it would have answered it by now.
                for i in range(3):
                    client("127.0.0.1:%d" % self.port, "udp", 1, "192.0.2.%d" % (96 + i))
                r, _, _ = select.select([late], [], [], 0.2)
                self.assertEqual(r, [], "a 65th TCP connection was served")
                held.pop(0).close()
                self.assertEqual(reply_of(recv_record(late), 200), (0, struct.pack(">I", 0)))
            finally:
                for s in held:
                    s.close()
            self.assertEqual(sorted(entries(d)), ["192.0.2.96", "192.0.2.97", "192.0.2.98", "192.0.2.99"])

    def test_ten_thousand_calls_in_a_burst_none_lost(self):
        with drac_daemon(self, self.port, timeout="1h") as d:
            d.start()
            d.wait_for_log(r"drac: serving program 900101")
            # Four clients at once, each 2500 calls back to back: two over TCP, two over UDP (where
            # the client retransmits a call whose answer it has not seen, as clnt_call does).
            jobs = [("tcp", 1, "10.1.0.0"), ("tcp", 2, "2001:db8:1::"), ("udp", 1, "10.2.0.0"),
                    ("udp", 2, "2001:db8:2::")]
            started = time.time()
            procs = [subprocess.Popen([CLIENT, "-r", "127.0.0.1:%d" % self.port, proto, str(v), base, "2500"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for proto, v, base in jobs]
            outs = [p.communicate(timeout=1200) for p in procs]
            took = time.time() - started
            for p, (out, err) in zip(procs, outs):
                self.assertEqual(p.returncode, 0, out + err)
            got = entries(d)
            want = set()
            for proto, v, base in jobs:
                fam = socket.AF_INET if v == 1 else socket.AF_INET6
                first = int.from_bytes(socket.inet_pton(fam, base), "big")
                width = 4 if v == 1 else 16
                for i in range(2500):
                    want.add(socket.inet_ntop(fam, (first + i).to_bytes(width, "big")))
            self.assertEqual(len(want), 10000)
            self.assertEqual(want - set(got), set())
            self.assertTrue(all(got[ip]["proto"] == "drac" for ip in want))
            print("10000 DRAC adds from 4 clients in %.1f s (%.0f/s), none lost" % (took, 10000 / took))

    def test_a_stopped_lookup_worker_is_a_syserr_after_3_s(self):
        with drac_daemon(self, self.port) as d:
            d.start()
            dracd = d.wait_for_log(r"popgated/drac\[(\d+)\]: \w+: drac: serving program 900101").group(1)
            worker = int(d.wait_for_log(LOOKUP_LISTENING).group(1))
            not_recorded = (r"popgated/drac\[%s\]: \w+: relay ip=192\.0\.2\.50 user=- authorization not recorded: "
                            r"the relay lookup worker did not answer within %d s" % (dracd, DRACD_LOGIN_WAIT_S))
            try:
                h.hold_still([worker])
                self.assertFalse(queued(worker))
                # TCP: over UDP the client would send the call again while the first waits, and the
                # copy, served after it, could reach the worker once it goes on.
                started = time.monotonic()
                with subprocess.Popen([CLIENT, "127.0.0.1:%d" % self.port, "tcp", "1", "192.0.2.50"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as add:
                    # Its login record in the worker's channel: popgate-dracd is waiting for the answer.
                    sh.wait_until(lambda: queued(worker), what="the login record in the channel")
                    # A caller meanwhile is served in turn: after the wait, whose end is logged before
                    # the SYSERR is sent.
                    with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
                        s.sendall(tcp_record(rpc_call(60, PROG, 1, 0)))
                        self.assertEqual(reply_of(recv_record(s), 60)[0], 0)
                        self.assertRegex(d.log(), not_recorded, "a caller was served during the wait")
                    out, err = add.communicate(timeout=60)
                took = time.monotonic() - started
                self.assertEqual((add.returncode, out.split()), (1, ["success", "0", "perm", "0", "syserr", "1",
                                                                     "failed", "0", "retries", "0"]), out + err)
                # It waited out its deadline: not a refusal made without asking.
                self.assertGreaterEqual(took, DRACD_LOGIN_WAIT_S)
                self.assertNotIn("192.0.2.50", entries(d))
            finally:
                os.kill(worker, signal.SIGCONT)
            # The record waited in the channel meanwhile; the worker takes it now, after its sender
            # answered SYSERR, and must not make that answer untrue by recording it.
            d.wait_for_log(r"popgated/lookup\[%d\]: \w+: relay ip=192\.0\.2\.50 user=- authorization not recorded: "
                           r"the session \(pid %s\) stopped waiting" % (worker, dracd))
            self.assertNotIn("192.0.2.50", entries(d))
            # The caller tries again, as DRAC's clients do at the next login, and is recorded.
            client("127.0.0.1:%d" % self.port, "tcp", 1, "192.0.2.50")
            e = entries(d)["192.0.2.50"]
            self.assertEqual((e["proto"], e["logins"]), ("drac", 1), e)
            self.assertIn("authorized", d.ctl("check", "192.0.2.50").stdout)
            # Waited, not crashed: the same popgate-dracd and lookup worker throughout.
            self.assertEqual(d.wait_for_log(r"popgated/drac\[(\d+)\]: ").group(1), dracd)
            self.assertNotRegex(d.log(), r"the (drac|relay-lookup) worker .*restarting it")

    def test_a_bad_address_is_a_config_error(self):
        with drac_daemon(self, self.port) as d:
            d.config["relay"]["drac_listen"] = "127.0.0.1"
            d.write_config()
            t = subprocess.run([h.POPGATED, "-t", "-f", d.conf_path], capture_output=True, text=True, timeout=60)
            self.assertEqual(t.returncode, 78, t.stdout + t.stderr)
            self.assertRegex(t.stderr, r"popgate\.conf:\d+: relay\.drac_listen: expected rpcbind, host:port")
            d.start(wait=False)
            self.assertEqual(d.proc.wait(30), 78)
            self.assertRegex(d.log(), r"popgate\.conf:\d+: relay\.drac_listen: expected rpcbind, host:port")
            d.proc = None


class ByHand(h.TestCase):
    """popgate-dracd started as popgated's DRAC worker starts it, but by root: it must not serve."""

    def test_root_is_refused_and_nothing_served(self):
        if not h.IS_ROOT:
            self.skipTest("needs root")
        port = h.free_port()
        with drac_daemon(self, port) as d, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller:
            d.write_config()
            # What the master hands it: the DRAC sockets, bound, and the login channel's sending end.
            udp.bind(("127.0.0.1", port))
            tcp.bind(("127.0.0.1", port))
            tcp.listen(8)
            chan_rd, chan_wr = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.addCleanup(chan_rd.close)
            self.addCleanup(chan_wr.close)
            # A call already waiting on each socket: one served would be answered, or reach the channel.
            caller.sendto(rpc_call(1, PROG, 1, 1, v1_arg("192.0.2.30")), ("127.0.0.1", port))
            caller_tcp = socket.create_connection(("127.0.0.1", port), timeout=10)
            self.addCleanup(caller_tcp.close)
            caller_tcp.sendall(tcp_record(rpc_call(2, PROG, 1, 1, v1_arg("192.0.2.31"))))
            fds = (udp.fileno(), tcp.fileno(), chan_wr.fileno())
            argv = [DRACD, "-F", "-f", d.conf_path, "-u", str(fds[0]), "-t", str(fds[1]), "-l", str(fds[2])]
            # Root outright; and root's real uid under server.user's effective one, a drop left
            # half done, from which setuid(0) gets root back.
            for what, become in (("uid 0", None), ("real uid 0, effective %d" % d.uid, lambda: os.seteuid(d.uid))):
                with self.subTest(what):
                    p = subprocess.Popen(argv, pass_fds=fds, preexec_fn=become, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
                    try:
                        out, err = p.communicate(timeout=10 * h.SLOWDOWN)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        out, err = p.communicate()
                        self.fail("popgate-dracd as %s still ran after %d s:\n%s"
                                  % (what, 10 * h.SLOWDOWN, out + err))
                    self.assertNotEqual(p.returncode, 0, out + err)
                    self.assertRegex(err, r"popgated/drac\[%d\]: \w+: drac: refusing to serve RPC as root; "
                                          r"popgated starts this as server\.user" % p.pid)
                    self.assertNotIn("serving program", out + err)
                    # (An exec to another effective uid leaves a process undumpable, which a sanitized
                    # build's LeakSanitizer cannot look into: it says so, and that is no finding.)
                    self.assertNotRegex(err, r"AddressSanitizer|LeakSanitizer: detected|runtime error:")
                    # Neither call was taken, answered, or passed on as a login.
                    self.assertEqual(udp.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT)[:4],
                                     struct.pack(">I", 1))
                    self.assertEqual(select.select([tcp], [], [], 0)[0], [tcp],
                                     "the TCP call's connection was accepted")
                    self.assertEqual(select.select([caller, caller_tcp], [], [], 0)[0], [], "a call was answered")
                    with self.assertRaises(BlockingIOError):
                        chan_rd.recv(4096, socket.MSG_DONTWAIT)


class ImportDracdAllow(h.TestCase):
    """popgatectl import-dracd-allow: rpc.dracd's dracd.allow as relay.drac_clients, used by the server."""

    def test_the_printed_line_is_what_the_server_trusts(self):
        port = h.free_port()
        with drac_daemon(self, port) as d:
            d.write_config()
            allow = os.path.join(d.dir, "dracd.allow")
            with open(allow, "w") as f:
                f.write("# who may add\n255.255.255.255 127.0.0.9\n\n255.255.255.0\t192.0.2.0  # office\n")
            r = d.ctl("import-dracd-allow", allow)
            line = [l for l in r.stdout.splitlines() if l.startswith("drac_clients")]
            self.assertEqual(line, ["drac_clients = 127.0.0.9/32, 192.0.2.0/24"], r.stdout)
            d.config["relay"]["drac_clients"] = line[0].split("=", 1)[1].strip()
            d.start()
            d.wait_for_log(r"drac: serving program 900101")
            client("-s", "127.0.0.9", "127.0.0.1:%d" % port, "udp", 1, "192.0.2.90")
            rc, counts = client("-s", "127.0.0.1", "127.0.0.1:%d" % port, "udp", 1, "192.0.2.91", check=False)
            self.assertEqual((rc, counts.get("perm")), (1, 1), counts)
            self.assertEqual(sorted(entries(d)), ["192.0.2.90"])

    def test_bad_lines_are_named_and_nothing_is_printed(self):
        with drac_daemon(self, h.free_port()) as d:
            d.write_config()
            allow = os.path.join(d.dir, "dracd.allow")
            with open(allow, "w") as f:
                f.write("255.255.255.0 192.0.2.0\n255.0.255.0 10.0.0.0\n255.255.255.0 192.0.3.1\n"
                        "127.0.0.1\n")
            r = d.ctl("import-dracd-allow", allow, check=False)
            self.assertEqual(r.returncode, 65)
            self.assertEqual(r.stdout, "")
            for lineno in (2, 3, 4):
                self.assertIn("%s:%d: " % (allow, lineno), r.stderr)
            self.assertNotIn("%s:1: " % allow, r.stderr)
            self.assertEqual(d.ctl("import-dracd-allow", allow + ".missing", check=False).returncode, 66)


def recv_closed(s):
    """Read until the peer closes; b"" once it did, None on a reset."""
    try:
        while True:
            data = s.recv(4096)
            if not data:
                return b""
    except ConnectionResetError:
        return None


def queued(pid):
    """Whether one of PID's unix sockets has something to read (ss's Recv-Q; a listener's backlog)."""
    mine = h.socket_inodes(pid)
    for line in subprocess.run(["ss", "-xaH"], capture_output=True, text=True, check=True).stdout.splitlines():
        f = line.split()
        # Netid State Recv-Q Send-Q Local-Address Local-Port ...
        if len(f) >= 6 and f[5].isdigit() and int(f[5]) in mine and f[2] != "0":
            return True
    return False


def wait_until(pred, timeout):
    end = time.time() + timeout * h.SLOWDOWN
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def postmap(d, key):
    """What Postfix's check_client_access btree:MAP finds for KEY ('' for nothing)."""
    conf = os.path.join(d.dir, "postfix")
    os.makedirs(conf, exist_ok=True)
    if not os.path.exists(os.path.join(conf, "main.cf")):
        open(os.path.join(conf, "main.cf"), "w").close()
    m = d.config["relay"]["export_map"]
    if not os.path.exists(m + ".db"):
        return ""
    r = subprocess.run([POSTMAP, "-c", conf, "-q", key, "btree:" + m], capture_output=True, text=True,
                       timeout=30)
    return r.stdout.strip()


class Rpcbind(h.TestCase):
    """relay.drac_listen = rpcbind, against a private rpcbind in a network namespace of the test's own
    (rpcbind binds port 111 on every address: only in an empty namespace is that harmless)."""

    def test_registered_found_and_unregistered(self):
        if os.environ.get(INNER) != "1":
            for tool, pkg in ((RPCBIND, "rpcbind"), (RPCINFO, "rpcbind"), (UNSHARE, "util-linux"),
                              (IP, "iproute2")):
                if tool is None:
                    self.skipTest("%s is not installed" % pkg)
            if not h.IS_ROOT:
                self.skipTest("a private rpcbind needs a network namespace (root)")
            r = subprocess.run([UNSHARE, "--net", "--mount", sys.executable, os.path.abspath(__file__),
                                "Rpcbind.test_registered_found_and_unregistered"],
                               env=dict(os.environ, **{INNER: "1"}), capture_output=True, text=True,
                               timeout=600)
            sys.stderr.write(r.stdout + r.stderr)
            if "skipped" in r.stderr and "OK" in r.stderr:
                self.skipTest("skipped inside the namespace")
            self.assertEqual(r.returncode, 0, "the namespaced run failed")
            return
        self.inner()

    def inner(self):
        # A private /run: rpcbind's socket and lock must not meet the host's.
        for cmd in (["mount", "--make-rprivate", "/"], ["mount", "-t", "tmpfs", "tmpfs", "/run"],
                    [IP, "link", "set", "lo", "up"]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                self.skipTest("%s: %s" % (" ".join(cmd), r.stderr.strip()))
        rpcbind = subprocess.Popen([RPCBIND, "-f"])
        try:
            self.assertTrue(wait_until(lambda: rpcinfo("-p", "127.0.0.1").returncode == 0, 10))
            with drac_daemon(self, "rpcbind") as d:
                d.start()
                d.wait_for_log(r"drac: serving program 900101 .* registered with rpcbind")
                listed = rpcinfo("-p", "127.0.0.1").stdout
                for vers in ("1", "2"):
                    for proto in ("udp", "tcp"):
                        self.assertRegex(listed, r"%d\s+%s\s+%s\s+\d+" % (PROG, vers, proto), listed)
                    for netid in ("udp", "tcp"):
                        r = rpcinfo("-T", netid, "127.0.0.1", str(PROG), vers)
                        self.assertIn("ready and waiting", r.stdout, r.stderr)
                # The sockets are dual stack: IPv6 clients find them too.
                short = [l.split() for l in rpcinfo("-s", "127.0.0.1").stdout.splitlines()]
                netids = [l[2] for l in short if l and l[0] == str(PROG)]
                self.assertEqual(netids and sorted(netids[0].split(",")), ["tcp", "tcp6", "udp", "udp6"], short)
                # Found through rpcbind, as DRAC's own client finds rpc.dracd.
                client("127.0.0.1", "udp", 1, "192.0.2.60")
                client("127.0.0.1", "tcp", 2, "2001:db8::60")
                self.assertEqual(sorted(entries(d)), ["192.0.2.60", "2001:db8::60"])
                d.stop()
                self.assertNotIn(str(PROG), rpcinfo("-p", "127.0.0.1").stdout)
        finally:
            rpcbind.terminate()
            rpcbind.wait(30)


def rpcinfo(*args):
    return subprocess.run([RPCINFO] + list(args), capture_output=True, text=True, timeout=30)


if __name__ == "__main__":
    if not os.path.exists(CLIENT):
        print("SKIP: %s not built (make check builds it)" % CLIENT)
        sys.exit(h.SKIP)
    h.main()
