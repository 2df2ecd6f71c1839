#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_proxy_protocol - the *_proxy listeners (HAProxy's PROXY protocol v1 and v2) with raw sockets.
A "balancer" at 127.0.0.2 (the only address in server.proxy_networks) sends headers naming
clients at other 127.0.x.y addresses: the named client is the one authorized to relay
(popgatectl check / list), logged (ip=...), held to max_connections_per_ip and locked out, never
the balancer. A header from 127.0.0.1 is dropped unanswered; a malformed one ends the session;
a truncated one, then silence, is closed after server.proxy_timeout and holds no slot; v2 LOCAL
keeps the balancer's address; PP2_CLIENT_SSL on a plain listener lets USER/PASS through where
pop3.plaintext_auth = trusted refuses them without TLS.
"""
import socket
import ssl
import struct
import time

import popgate_harness as h

BALANCER = "127.0.0.2"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
# PP2_TYPE_SSL: client = PP2_CLIENT_SSL, verify = 0, a PP2_SUBTYPE_SSL_VERSION sub-TLV, as HAProxy sends it
SSL_TLV = b"\x20" + struct.pack(">H", 5 + 3 + 7) + b"\x01" + bytes(4) + b"\x21" + struct.pack(">H", 7) + b"TLSv1.3"


def v1(client, port=40000, dport=110):
    return ("PROXY TCP4 %s 127.0.0.1 %d %d\r\n" % (client, port, dport)).encode()


def v2(client, port=40000, dport=110, tlvs=b"", command=0x21):
    body = socket.inet_aton(client) + socket.inet_aton("127.0.0.1") + struct.pack(">HH", port, dport) + tlvs
    return V2_SIG + bytes([command, 0x11]) + struct.pack(">H", len(body)) + body


class Conn:
    """A raw connection from SOURCE that sends HEADER first, then speaks line by line."""

    def __init__(self, port, header, source=BALANCER):
        self.s = socket.create_connection(("127.0.0.1", port), 20, source_address=(source, 0))
        if header:
            self.s.sendall(header)
        self.f = self.s.makefile("rb")

    def line(self):
        return self.f.readline().decode("latin-1")

    def ask(self, data):
        self.s.sendall(data)
        return self.line()

    def rest(self):
        """All the server sends until it closes; a reset (it closed with our bytes unread) ends it too."""
        try:
            return self.f.read()
        except ConnectionResetError:
            return b""

    def close(self):
        self.f.close()
        self.s.close()



class ProxyProtocol(h.TestCase):
    def daemon(self, server=None, pop3=None, auth=None):
        self.pop3_proxy, self.smtp_proxy = h.free_port(), h.free_port()
        cfg = {"server": dict({"proxy_networks": BALANCER + "/32", "proxy_timeout": "1s",
                               "connection_limit_exempts_relay_allow": "no"}, **(server or {})),
               "pop3": dict({"listen_proxy": "127.0.0.1:%d" % self.pop3_proxy, "plaintext_auth": "always"},
                            **(pop3 or {})),
               "smtp": {"listen_proxy": "127.0.0.1:%d" % self.smtp_proxy},
               "auth": dict({"fail_delay": "0"}, **(auth or {})),
               # no 127.0.0.0/8 in relay.allow: only the database says who may relay
               "relay": {"allow": "192.0.2.1/32"}}
        d = h.Popgated(self, config=cfg)
        d.add_user("alice", "secret", messages=[h.mbox_message(1)])
        return d

    def login(self, header, password="secret"):
        c = Conn(self.pop3_proxy, header)
        greeting = c.line()
        self.assertTrue(greeting.startswith("+OK"), greeting)
        self.assertTrue(c.ask(b"USER alice\r\n").startswith("+OK"))
        answer = c.ask(b"PASS %s\r\n" % password.encode())
        c.ask(b"QUIT\r\n")
        c.close()
        return answer

    def test_v1_login_authorizes_the_proxied_client_not_the_balancer(self):
        with self.daemon() as d:
            d.start()
            d.wait_for_log(r"ready on .*pop3\+proxy 127\.0\.0\.1:%d.*smtp\+proxy 127\.0\.0\.1:%d"
                           % (self.pop3_proxy, self.smtp_proxy))
            answer = self.login(v1("127.0.5.5"))
            self.assertTrue(answer.startswith("+OK"), answer)
            self.assertEqual(d.ctl("check", "127.0.5.5", check=False).returncode, 0)
            self.assertEqual(d.ctl("check", BALANCER, check=False).returncode, 1)
            listed = d.ctl("list").stdout
            self.assertIn("127.0.5.5", listed)
            self.assertNotIn(BALANCER, listed)
            d.wait_for_log(r"pop3 (?:session=\w+ )?ip=127\.0\.5\.5 user=- proxied: balancer=127\.0\.0\.2 version=1 local=no tls=no")
            d.wait_for_log(r"pop3 (?:session=\w+ )?ip=127\.0\.5\.5 user=alice login ok")
            self.assertNotRegex(d.log(), r"ip=127\.0\.0\.2 user=alice")

    def test_v2_names_the_client_over_pop3_and_smtp(self):
        with self.daemon() as d:
            d.start()
            answer = self.login(v2("127.0.5.6"))
            self.assertTrue(answer.startswith("+OK"), answer)
            self.assertEqual(d.ctl("check", "127.0.5.6", check=False).returncode, 0)
            self.assertEqual(d.ctl("check", BALANCER, check=False).returncode, 1)
            c = Conn(self.smtp_proxy, v2("127.0.6.6", dport=25))
            self.assertTrue(c.line().startswith("220 "))
            self.assertTrue(c.ask(b"EHLO client.test\r\n").startswith("250"))
            c.close()
            d.wait_for_log(r"smtp (?:session=\w+ )?ip=127\.0\.6\.6 user=- proxied: balancer=127\.0\.0\.2 version=2")

    def test_header_from_an_untrusted_peer_is_dropped(self):
        with self.daemon() as d:
            d.start()
            c = Conn(self.pop3_proxy, v1("127.0.5.7"), source="127.0.0.1")
            self.assertEqual(c.rest(), b"")  # closed without a word
            c.close()
            d.wait_for_log(r"pop3 (?:session=\w+ )?ip=127\.0\.0\.1 user=- dropped: a \*_proxy listener, and the peer is not in "
                           r"server.proxy_networks")
            self.assertNotIn("127.0.5.7", d.log())

    def test_malformed_headers_end_the_session_unanswered(self):
        with self.daemon() as d:
            d.start()
            bad = [b"PROXY TCP4 127.0.5.8 127.0.0.1 99999 110\r\n",   # port out of range
                   b"PROXY TCP4 127.0.5.8  127.0.0.1 1 110\r\n",      # two spaces
                   b"PROXY TCP4 127.0.5.8 127.0.0.1 1 110\n",         # LF alone
                   b"PROXY UNKNOWN " + b"x" * 120 + b"\r\n",          # past 107 bytes
                   b"USER alice\r\n",                                 # a client, not a balancer
                   V2_SIG + b"\x21\x12\x00\x0c" + bytes(12),          # UDP
                   V2_SIG + b"\x21\x11\x00\x0c" + bytes(11)]          # v2 body cut short... then EOF
            for header in bad:
                c = Conn(self.pop3_proxy, header)
                if header.endswith(bytes(11)):
                    c.s.shutdown(socket.SHUT_WR)
                self.assertEqual(c.rest(), b"", header)
                c.close()
            d.wait_for_log(r"(?s)(pop3 (?:session=\w+ )?ip=127\.0\.0\.2 user=- proxy header refused: malformed.*){6}")
            d.wait_for_log(r"pop3 (?:session=\w+ )?ip=127\.0\.0\.2 user=- proxy header refused: connection closed")
            self.assertNotIn("127.0.5.8", d.log())

    def test_truncated_header_times_out_without_holding_a_slot(self):
        with self.daemon(server={"max_connections": "1"}) as d:
            d.start()
            started = time.monotonic()
            c = Conn(self.pop3_proxy, b"PROXY TCP4 127.0.5")
            self.assertEqual(c.rest(), b"")  # the server hangs up: no greeting, no data
            self.assertGreaterEqual(time.monotonic() - started, 0.9)
            c.close()
            d.wait_for_log(r"pop3 (?:session=\w+ )?ip=127\.0\.0\.2 user=- proxy header refused: not complete within "
                           r"server.proxy_timeout")
            c = Conn(self.pop3_proxy, V2_SIG[:7])  # v2 cut inside the signature
            self.assertEqual(c.rest(), b"")
            c.close()
            # A client still gets in: the slot was given back (or the silent one made room).
            deadline = time.monotonic() + 20
            while True:
                c = Conn(self.pop3_proxy, v1("127.0.5.9"))
                line = c.line()
                c.close()
                if line.startswith("+OK") or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            self.assertTrue(line.startswith("+OK"), line)

    def test_v2_local_keeps_the_real_endpoints(self):
        with self.daemon() as d:
            d.start()
            answer = self.login(v2("127.0.5.10", command=0x20))
            self.assertTrue(answer.startswith("+OK"), answer)
            self.assertEqual(d.ctl("check", BALANCER, check=False).returncode, 0)
            self.assertEqual(d.ctl("check", "127.0.5.10", check=False).returncode, 1)
            d.wait_for_log(r"pop3 (?:session=\w+ )?ip=127\.0\.0\.2 user=- proxied: balancer=127\.0\.0\.2 version=2 local=yes")

    def test_client_ssl_counts_as_tls_for_the_plaintext_policy(self):
        pop3 = {"plaintext_auth": "trusted", "trusted_networks": "192.0.2.0/24"}
        with self.daemon(pop3=pop3) as d:
            d.start()
            c = Conn(self.pop3_proxy, v2("127.0.5.11"))
            self.assertTrue(c.line().startswith("+OK"))
            self.assertEqual(c.ask(b"USER alice\r\n"),
                             "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections\r\n")
            c.close()
            answer = self.login(v2("127.0.5.12", tlvs=SSL_TLV))
            self.assertTrue(answer.startswith("+OK"), answer)
            self.assertEqual(d.ctl("check", "127.0.5.12", check=False).returncode, 0)
            d.wait_for_log(r"pop3 (?:session=\w+ )?ip=127\.0\.5\.12 user=- proxied: balancer=127\.0\.0\.2 version=2 local=no tls=yes")

    def test_implicit_tls_handshake_follows_the_header(self):
        pop3s, smtps = h.free_port(), h.free_port()
        cfg = {"server": {"proxy_networks": BALANCER + "/32", "proxy_timeout": "1s"},
               "pop3": {"listen_tls_proxy": "127.0.0.1:%d" % pop3s, "plaintext_auth": "trusted",
                        "trusted_networks": "192.0.2.0/24"},
               "smtp": {"listen_tls_proxy": "127.0.0.1:%d" % smtps},
               "relay": {"allow": "192.0.2.1/32"}}
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with h.Popgated(self, config=cfg, tls=True, listeners=("pop3",)) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(1)])
            d.start()
            for port, client, greeting in ((pop3s, "127.0.5.13", b"+OK"), (smtps, "127.0.5.14", b"220 ")):
                raw = socket.create_connection(("127.0.0.1", port), 20, source_address=(BALANCER, 0))
                raw.sendall(v2(client, dport=port))
                with ctx.wrap_socket(raw) as s:
                    f = s.makefile("rwb")
                    self.assertTrue(f.readline().startswith(greeting))
                    if greeting == b"+OK":  # real TLS to popgated: passwords are allowed
                        for cmd in (b"USER alice\r\n", b"PASS secret\r\n"):
                            f.write(cmd)
                            f.flush()
                            self.assertTrue(f.readline().startswith(b"+OK"), cmd)
                    f.close()
            self.assertEqual(d.ctl("check", "127.0.5.13", check=False).returncode, 0)
            d.wait_for_log(r"pop3s (?:session=\w+ )?ip=127\.0\.5\.13 user=alice login ok")
            d.wait_for_log(r"smtps (?:session=\w+ )?ip=127\.0\.5\.14 user=- proxied: balancer=127\.0\.0\.2 version=2")

    def test_per_address_limit_counts_the_proxied_client(self):
        with self.daemon(server={"max_connections_per_ip": "2"}) as d:
            d.start()
            held = [Conn(self.pop3_proxy, v2("127.0.8.8")) for _ in range(2)]
            for c in held:
                self.assertTrue(c.line().startswith("+OK"))
            c = Conn(self.pop3_proxy, v2("127.0.8.8"))
            self.assertEqual(c.line(), "-ERR [SYS/TEMP] Too many connections, try again later\r\n")
            c.close()
            # the balancer is not the client: another client through it still gets in
            for client in ("127.0.8.9", "127.0.8.10"):
                c = Conn(self.pop3_proxy, v2(client))
                self.assertTrue(c.line().startswith("+OK"))
                c.close()
            d.wait_for_log(r"pop3 (?:session=\w+ )?ip=127\.0\.8\.8 user=- refused: limit: server.max_connections_per_ip")
            for c in held:
                c.close()

    def test_lockout_applies_to_the_proxied_client(self):
        with self.daemon(auth={"max_failures": "2", "lockout": "10m"}) as d:
            d.start()
            for _ in range(2):
                self.assertTrue(self.login(v1("127.0.9.9"), password="wrong").startswith("-ERR"))
            # the failures reach the master as reports: wait for the refusal, not for a time
            deadline = time.monotonic() + 20
            while True:
                c = Conn(self.pop3_proxy, v1("127.0.9.9"))
                line = c.line()
                c.close()
                if not line.startswith("+OK") or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            self.assertEqual(line, "-ERR [AUTH] Logins from your address are refused for a while after "
                                   "failed logins\r\n")
            c = Conn(self.smtp_proxy, v2("127.0.9.9", dport=25))
            self.assertEqual(c.line(), "421 4.7.0 Logins from your address are refused for a while after "
                                       "failed logins\r\n")
            c.close()
            # neither the balancer nor another client behind it is locked out
            self.assertTrue(self.login(v1("127.0.9.10")).startswith("+OK"))
            d.wait_for_log(r"pop3 (?:session=\w+ )?ip=127\.0\.9\.9 user=- refused: locked out")
            self.assertNotRegex(d.log(), r"ip=127\.0\.0\.2 user=- refused")


if __name__ == "__main__":
    h.main()
