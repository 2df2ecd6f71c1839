#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_haproxy - the real HAProxy in front of two popgated: the client, never the balancer, is
authorized. HAProxy (Debian's haproxy, foreground, config written here) listens on two free
loopback ports: one passes POP3S through (mode tcp, send-proxy-v2) to each node's
pop3.listen_tls_proxy, the other ends TLS itself (a self-signed certificate) and sends
send-proxy-v2-ssl to each node's plain pop3.listen_proxy. Clients bound to 127.0.x.y sources log
in through both, round robin over the nodes: each client's address is authorized on the node its
login reached and nowhere else, HAProxy's 127.0.0.1 on neither; no login is logged under
127.0.0.1. The nodes trust plaintext passwords from no loopback address, so a login through the
TLS-ending frontend works only because HAProxy's PP2_CLIENT_SSL counts as TLS. Needs root (a
private HAProxy on loopback ports is harmless, but the nodes run sessions as nobody); exit 77
without haproxy or root.
"""
import contextlib
import os
import poplib
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import popgate_harness as h  # noqa: E402

CLIENTS_PASS = ["127.0.10.%d" % i for i in range(1, 5)]
CLIENTS_TERM = ["127.0.11.%d" % i for i in range(1, 5)]


class POP3SFrom(poplib.POP3_SSL):
    """poplib's POP3S client bound to SOURCE; certificates are the tests' own, not verified."""

    def __init__(self, source, port):
        self.source = source
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        super().__init__("127.0.0.1", port, timeout=30, context=ctx)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))
        return self.context.wrap_socket(sock, server_hostname=self.host)


def node(test, stack):
    """A popgated with a POP3S and a plain PROXY listener for HAProxy at 127.0.0.1."""
    tls_proxy, plain_proxy = h.free_port(), h.free_port()
    cfg = {"server": {"proxy_networks": "127.0.0.1/32", "proxy_timeout": "5s",
                      "connection_limit_exempts_relay_allow": "no"},
           "pop3": {"listen_proxy": "127.0.0.1:%d" % plain_proxy,
                    "listen_tls_proxy": "127.0.0.1:%d" % tls_proxy,
                    "plaintext_auth": "trusted", "trusted_networks": "192.0.2.0/24"},
           "relay": {"allow": "192.0.2.1/32"}}
    d = stack.enter_context(h.Popgated(test, config=cfg, tls=True, listeners=("pop3",)))
    d.add_user("alice", "secret", messages=[h.mbox_message(1)])
    d.start()
    d.tls_proxy, d.plain_proxy = tls_proxy, plain_proxy
    return d


def haproxy_config(workdir, nodes, pass_port, term_port):
    cert, key = h.make_cert(workdir)
    pem = os.path.join(workdir, "haproxy.pem")
    with open(pem, "w") as out:
        for part in (cert, key):
            with open(part) as f:
                out.write(f.read())
    servers_pass = "".join("    server n%d 127.0.0.1:%d send-proxy-v2\n" % (i, d.tls_proxy)
                           for i, d in enumerate(nodes))
    servers_term = "".join("    server n%d 127.0.0.1:%d send-proxy-v2-ssl\n" % (i, d.plain_proxy)
                           for i, d in enumerate(nodes))
    text = ("global\n    maxconn 200\n\n"
            "defaults\n    mode tcp\n    timeout connect 10s\n    timeout client 60s\n    timeout server 60s\n\n"
            "frontend pop3s_pass\n    bind 127.0.0.1:%d\n    default_backend pass\n\n"
            "backend pass\n    balance roundrobin\n%s\n"
            "frontend pop3s_term\n    bind 127.0.0.1:%d ssl crt %s\n    default_backend term\n\n"
            "backend term\n    balance roundrobin\n%s"
            % (pass_port, servers_pass, term_port, pem, servers_term))
    path = os.path.join(workdir, "haproxy.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_listening(port, proc, deadline=30):
    """Wait until HAProxy accepts on PORT. The probe comes from its own address, which HAProxy
    passes on as a client like any other: it must not be mistaken for HAProxy's 127.0.0.1."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError("haproxy exited with status %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 1, source_address=("127.0.12.1", 0)).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("haproxy never listened on %d" % port)


class HAProxy(h.TestCase):
    def login(self, source, port):
        c = POP3SFrom(source, port)
        c.user("alice")
        c.pass_("secret")
        count, _ = c.stat()
        c.quit()
        return count

    def served_by(self, nodes, client):
        """The indexes of the nodes whose log has CLIENT's login."""
        rx = re.compile(r"pop3s? (?:session=\w+ )?ip=%s user=alice login ok" % re.escape(client))
        return [i for i, d in enumerate(nodes) if rx.search(d.log())]

    def test_clients_not_haproxy_are_authorized(self):
        workdir = os.path.join(os.environ.get("TMPDIR", "/tmp"), "popgate-haproxy-%d" % os.getpid())
        os.makedirs(workdir, exist_ok=True)
        pass_port, term_port = h.free_port(), h.free_port()
        with contextlib.ExitStack() as stack:
            stack.callback(shutil.rmtree, workdir, True)
            nodes = [node(self, stack), node(self, stack)]
            cfg = haproxy_config(workdir, nodes, pass_port, term_port)
            log = open(os.path.join(workdir, "haproxy.log"), "wb")
            stack.callback(log.close)
            proc = subprocess.Popen(["haproxy", "-f", cfg, "-db"], stdout=log, stderr=subprocess.STDOUT)

            def stop():
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            stack.callback(stop)
            wait_listening(pass_port, proc)
            wait_listening(term_port, proc)

            for client in CLIENTS_PASS:
                self.assertEqual(self.login(client, pass_port), 1)
            for client in CLIENTS_TERM:
                self.assertEqual(self.login(client, term_port), 1)

            hits = [0, 0]
            for client in CLIENTS_PASS + CLIENTS_TERM:
                served = self.served_by(nodes, client)
                self.assertEqual(len(served), 1, "%s logged in on nodes %s" % (client, served))
                n = served[0]
                hits[n] += 1
                self.assertEqual(nodes[n].ctl("check", client, check=False).returncode, 0, client)
                self.assertEqual(nodes[1 - n].ctl("check", client, check=False).returncode, 1, client)
            self.assertGreater(min(hits), 0, "round robin reached both nodes: %s" % hits)
            for d in nodes:
                self.assertEqual(d.ctl("check", "127.0.0.1", check=False).returncode, 1)
                self.assertNotIn("127.0.0.1", d.ctl("list").stdout)
                self.assertNotRegex(d.log(), r"ip=127\.0\.0\.1 user=")
                # TLS ended at HAProxy counted as TLS: the nodes trust no loopback address
                self.assertRegex(d.log(), r"pop3 (?:session=\w+ )?ip=127\.0\.11\.\d+ user=- proxied: balancer=127\.0\.0\.1 "
                                          r"version=2 local=no tls=yes")
                self.assertRegex(d.log(), r"pop3s (?:session=\w+ )?ip=127\.0\.10\.\d+ user=- proxied: balancer=127\.0\.0\.1 "
                                          r"version=2 local=no tls=no")
            print("\nHAProxy: %d POP3S logins passed through, %d with TLS ended at HAProxy; "
                  "nodes served %d and %d; HAProxy's 127.0.0.1 authorized on neither"
                  % (len(CLIENTS_PASS), len(CLIENTS_TERM), hits[0], hits[1]))


if __name__ == "__main__":
    if shutil.which("haproxy") is None:
        print("SKIP: haproxy is not installed (tools/install-deps --test)")
        sys.exit(h.SKIP)
    if not h.IS_ROOT:
        print("SKIP: needs root")
        sys.exit(h.SKIP)
    h.main()
