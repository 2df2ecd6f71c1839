# SPDX-License-Identifier: GPL-2.0-or-later
"""test_socketmap - the socketmap server (relay.socketmap_listen) asked by raw netstrings over TCP and
a unix socket: NOTFOUND before a POP login, OK <expiry> after it, every address spelling, PERM,
refused clients, persistent connections, idle and oversize connections closed."""

import os
import re
import socket
import time

import popgate_harness as h

# A client address the POP logins come from: not 127.0.0.1, so nothing else explains an answer.
CLIENT = "127.0.0.6"


def netstring(text):
    data = text.encode() if isinstance(text, str) else text
    return b"%d:%s," % (len(data), data)


class MapConn:
    """One socketmap connection, inet or unix; ask() sends a request and reads its one reply."""

    def __init__(self, where, source=None, timeout=20):
        if isinstance(where, str):
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if source:
                self.s.bind((source, 0))
        self.s.settimeout(timeout)
        self.s.connect(where)
        self.buf = b""

    def send(self, raw):
        self.s.sendall(raw)

    def reply(self):
        """The next reply's payload, or None when the server closed the connection."""
        while True:
            m = re.match(rb"(\d+):", self.buf)
            if m and len(self.buf) >= m.end() + int(m.group(1)) + 1:
                n, start = int(m.group(1)), m.end()
                assert self.buf[start + n:start + n + 1] == b",", self.buf
                out, self.buf = self.buf[start:start + n], self.buf[start + n + 1:]
                return out.decode()
            chunk = self.s.recv(4096)
            if not chunk:
                return None
            self.buf += chunk

    def ask(self, text):
        self.send(netstring(text))
        return self.reply()

    def closed_by_peer(self):
        """Whether the server closes the connection (read until EOF; a reset counts too)."""
        try:
            while True:
                chunk = self.s.recv(4096)
                if not chunk:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


SourcePOP3 = h.SourcePOP3
pop_login = h.pop_login


class Socketmap(h.TestCase):
    def daemon(self, **relay):
        d = h.Popgated(self, config={"relay": dict({"timeout": "10m"}, **relay)})
        d.add_user("alice", "secret")
        return d

    def test_answers_over_tcp(self):
        port = h.free_port()
        with self.daemon(socketmap_listen="127.0.0.1:%d" % port) as d:
            d.start()
            d.wait_for_log(r"socketmap listening on 127\.0\.0\.1:%d" % port)
            c = MapConn(("127.0.0.1", port))
            self.assertEqual(c.ask("relay " + CLIENT), "NOTFOUND ")
            before = int(time.time())
            pop_login(d, CLIENT)
            after = int(time.time())
            # The same connection, persistent: now the login's authorization, its expiry as the value.
            answer = c.ask("relay " + CLIENT)
            m = re.fullmatch(r"OK (\d+)", answer)
            self.assertIsNotNone(m, answer)
            self.assertTrue(before + 600 <= int(m.group(1)) <= after + 600, answer)
            # Any map name; a neighbour is still unknown; 127.0.0.1 is in relay.allow, not in the map.
            self.assertEqual(c.ask("drac " + CLIENT), answer)
            self.assertEqual(c.ask("relay 127.0.0.7"), "NOTFOUND ")
            self.assertEqual(c.ask("relay 127.0.0.1"), "NOTFOUND ")
            # Postfix also asks the client's host name and its parent networks: NOTFOUND, never PERM.
            for key in ("localhost", "127.0.0", "127.0", "127", "mail.example.org"):
                self.assertEqual(c.ask("relay " + key), "NOTFOUND ", key)
            # Malformed requests get PERM and the connection stays usable.
            for bad in ("relay", "relay ", " 127.0.0.6", "relay 127.0.0.6 extra", "relay \x01x"):
                self.assertTrue(c.ask(bad).startswith("PERM "), bad)
            self.assertEqual(c.ask("relay " + CLIENT), answer)
            # The IPv4-mapped spelling is the same client.
            self.assertEqual(c.ask("relay ::ffff:" + CLIENT), answer)
            c.close()

    def test_ipv6_spellings(self):
        port = h.free_port()
        with self.daemon(socketmap_listen="127.0.0.1:%d" % port) as d:
            d.start()
            d.ctl("add", "2001:db8:0:0::6", "--ttl", "20m")
            c = MapConn(("127.0.0.1", port))
            answers = {key: c.ask("relay " + key) for key in (
                "2001:db8::6", "2001:0db8:0000:0000:0000:0000:0000:0006", "2001:DB8::6",
                "IPv6:2001:db8:0:0:0:0:0:6", "ipv6:2001:db8:0:0:0:0:0:6", "IPV6:2001:DB8::6")}
            self.assertEqual(len(set(answers.values())), 1, answers)
            m = re.fullmatch(r"OK (\d+)", answers["2001:db8::6"])
            self.assertIsNotNone(m, answers)
            self.assertAlmostEqual(int(m.group(1)), time.time() + 1200, delta=60)
            self.assertEqual(c.ask("relay 2001:db8::7"), "NOTFOUND ")
            self.assertEqual(c.ask("relay IPv6:2001:db8:0:0:0:0:0:7"), "NOTFOUND ")
            c.close()

    def test_many_requests_pipelined_on_one_connection(self):
        port = h.free_port()
        with self.daemon(socketmap_listen="127.0.0.1:%d" % port) as d:
            d.start()
            pop_login(d, CLIENT)
            c = MapConn(("127.0.0.1", port))
            # 2000 requests in one write, answered in order on the one connection.
            keys = [CLIENT if i % 2 == 0 else "127.0.1.%d" % (i % 250) for i in range(2000)]
            c.send(b"".join(netstring("relay " + k) for k in keys))
            for i, k in enumerate(keys):
                r = c.reply()
                self.assertIsNotNone(r, "closed after %d replies" % i)
                self.assertTrue(r.startswith("OK ") if k == CLIENT else r == "NOTFOUND ", (i, k, r))
            # And one at a time after that, still the same connection.
            for _ in range(200):
                self.assertTrue(c.ask("relay " + CLIENT).startswith("OK "))
            c.close()

    def test_unix_socket(self):
        with self.daemon() as d:
            sockdir = os.path.join(d.dir, "sockets")  # a directory server.user may write
            os.mkdir(sockdir)
            os.chown(sockdir, d.uid, d.gid)
            path = os.path.join(sockdir, "socketmap.sock")
            d.config["relay"]["socketmap_listen"] = "unix:" + path
            d.start()
            d.wait_for_log(r"socketmap listening on unix:")
            c = MapConn(path)
            self.assertEqual(c.ask("relay " + CLIENT), "NOTFOUND ")
            pop_login(d, CLIENT)
            self.assertRegex(c.ask("relay " + CLIENT), r"^OK \d+$")
            c.close()
            self.assertEqual(os.stat(path).st_uid, d.uid)  # bound by the worker, as server.user
        self.assertFalse(os.path.exists(path))

    def test_clients_not_allowed_are_refused(self):
        port = h.free_port()
        with self.daemon(socketmap_listen="127.0.0.1:%d" % port, socketmap_clients="127.0.0.9/32") as d:
            d.start()
            pop_login(d, CLIENT)
            c = MapConn(("127.0.0.1", port), source="127.0.0.8")
            try:
                c.send(netstring("relay " + CLIENT))
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.assertTrue(c.closed_by_peer())
            self.assertEqual(c.buf, b"")
            c.close()
            d.wait_for_log(r"socketmap: 127\.0\.0\.8 is not in relay\.socketmap_clients")
            ok = MapConn(("127.0.0.1", port), source="127.0.0.9")
            self.assertRegex(ok.ask("relay " + CLIENT), r"^OK \d+$")
            ok.close()

    def test_oversize_and_broken_requests_close_the_connection(self):
        port = h.free_port()
        with self.daemon(socketmap_listen="127.0.0.1:%d" % port) as d:
            d.start()
            # A length over the limit is refused from its prefix alone, before the data.
            c = MapConn(("127.0.0.1", port))
            c.send(b"100000:")
            self.assertEqual(c.reply(), "PERM request too long")
            self.assertTrue(c.closed_by_peer())
            c.close()
            c = MapConn(("127.0.0.1", port))
            try:
                c.send(netstring("relay " + "a" * 600))
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.assertEqual(c.reply(), "PERM request too long")
            c.close()
            for junk in (b"GET / HTTP/1.0\r\n\r\n", b"15:relay 127.0.0.6;", b"015:relay 127.0.0.6,"):
                c = MapConn(("127.0.0.1", port))
                c.send(junk)
                self.assertEqual(c.reply(), "PERM not a netstring", junk)
                self.assertTrue(c.closed_by_peer(), junk)
                c.close()
            # The worker still serves.
            c = MapConn(("127.0.0.1", port))
            self.assertEqual(c.ask("relay " + CLIENT), "NOTFOUND ")
            c.close()

    def test_idle_connections_are_closed(self):
        port = h.free_port()
        with self.daemon(socketmap_listen="127.0.0.1:%d" % port, socketmap_idle_timeout="1s") as d:
            d.start()
            idle = MapConn(("127.0.0.1", port), timeout=60)
            self.assertEqual(idle.ask("relay " + CLIENT), "NOTFOUND ")
            half = MapConn(("127.0.0.1", port), timeout=60)
            half.send(b"15:relay 127")  # half a request, then nothing
            self.assertTrue(idle.closed_by_peer(), "an idle connection was never closed")
            self.assertTrue(half.closed_by_peer(), "a stalled request was never closed")
            idle.close()
            half.close()

    def test_database_unreadable_is_temp(self):
        port = h.free_port()
        with self.daemon(socketmap_listen="127.0.0.1:%d" % port) as d:
            d.start()
            c = MapConn(("127.0.0.1", port))
            self.assertEqual(c.ask("relay " + CLIENT), "NOTFOUND ")
            c.close()
            d.stop()
            # Garbage over the btree's pages: the database opens but cannot be read.
            path = os.path.join(d.config["relay"]["db_dir"], "relay.db")
            size = os.path.getsize(path)
            with open(path, "r+b") as f:
                f.seek(0)
                f.write(bytes((i * 151 + 7) % 256 for i in range(size)))
            d.start()
            c = MapConn(("127.0.0.1", port))
            self.assertTrue(c.ask("relay " + CLIENT).startswith("TEMP "))
            c.close()

    def test_bad_listen_value_is_a_config_error(self):
        with self.daemon(socketmap_listen="127.0.0.1") as d:
            d.write_config()
            r = __import__("subprocess").run([h.POPGATED, "-t", "-f", d.conf_path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 78, r.stdout + r.stderr)
            self.assertIn("socketmap_listen", r.stdout + r.stderr)


if __name__ == "__main__":
    h.main()
