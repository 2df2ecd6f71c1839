# SPDX-License-Identifier: GPL-2.0-or-later
"""test_smarthost_drop - the next hop (smtp:HOST:PORT) fails in the middle of a hand-off.

A scripted smarthost on 127.0.0.1 accepts the envelope and DATA, then, at a chosen point, closes
the connection (FIN), resets it (RST), or stops reading: after the 354, after part of the
message, after the final dot without a reply. Each time the client must get 451 (never 250, and
never a 5xx that would bounce the message): the client still has the message. Then the clients
retry against a working smarthost (aiosmtpd) and every message arrives intact, once.
"""

import os
import random
import smtplib
import socket
import struct
import sys
import threading
import time

import relib as r

import popgate_harness as h
import smtp_helpers as sh

MODES = ("close-after-354", "close-mid-data", "rst-mid-data", "close-after-dot", "stall-mid-data")


class DroppingSmarthost:
    """An SMTP server that breaks every transaction in MODE; counts the DATA bytes it saw."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.mode = MODES[0]
        self.cut = 1000
        self.sessions = 0
        self.stalled = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        self.sessions += 1
        c.settimeout(60)
        f = c.makefile("rb")
        try:
            c.sendall(b"220 dropper.test ESMTP\r\n")
            while True:
                line = f.readline(1024)
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    c.sendall(b"250-dropper.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    c.sendall(b"354 go ahead\r\n")
                    self.data_phase(c, f)
                    return
                elif verb == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            if self.mode != "stall-mid-data":
                f.close()
                c.close()

    def data_phase(self, c, f):
        if self.mode == "close-after-354":
            return
        got = 0
        while True:
            line = f.readline(2048)
            if not line:
                return
            got += len(line)
            if line == b".\r\n":
                return  # close-after-dot: the message is complete here, and no reply comes
            if got >= self.cut and self.mode != "close-after-dot":
                break
        if self.mode == "rst-mid-data":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif self.mode == "stall-mid-data":
            self.stalled.append((c, f))  # keep it open and unread until the test ends

    def close(self):
        self.srv.close()
        for c, f in self.stalled:
            f.close()
            c.close()


def send(port, data, rcpt="bob@example.org"):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    try:
        s.ehlo("client.test")
        s.mail("alice@example.net")
        code, text = s.rcpt(rcpt)
        if code != 250:
            return code, text.decode()
        code, text = s.data(data)
        return code, text.decode()
    finally:
        s.close()


class SmarthostDrop(h.TestCase):
    def test_drop_mid_data_gives_451(self):
        rng = random.Random(int(os.environ.get("REL_SEED", "451")))
        dropper = DroppingSmarthost()
        self.addCleanup(dropper.close)
        cfg = sh.base_config(smtp={"forward": "smtp:127.0.0.1:%d" % dropper.port, "forward_tls": "no",
                                   "forward_timeout": "2s"})
        with r.Daemon(self, config=cfg, listeners=("smtp",)) as d:
            d.start()
            pending = {}
            replies = {}
            for i in range(int(os.environ.get("REL_DROP_MESSAGES", "20"))):
                mode = MODES[i % len(MODES)]
                dropper.mode = mode
                body = r.make_body(rng, i, rng.choice([200, 5000, 100000, 400000]))
                dropper.cut = rng.randrange(1, max(2, len(body) // 2))
                mid = "drop%d@reliability.test" % i
                data = r.rfc822(mid, body).replace(b"\n", b"\r\n")
                t0 = time.time()
                code, text = send(d.port("smtp"), data)
                self.assertEqual((code, text[:5]), (451, "4.3.0"), "%s: %s" % (mode, text))
                self.assertLess(time.time() - t0, 15, mode)
                replies[mode] = replies.get(mode, 0) + 1
                pending[mid] = data  # a 451: the client keeps it and will retry
            self.assertRegex(d.log(), r"message deferred: ")
            self.assertNotRegex(d.log(), r"died of signal")
            # The clients retry once the next hop works again.
            with sh.Smarthost(os.path.join(d.dir, "smarthost")) as sm:
                d.config["smtp"]["forward"] = "smtp:127.0.0.1:%d" % sm.port
                d.write_config()
                mark = len(d.log())
                d.reload()
                d.wait_for_log(r"reloaded ", start=mark)
                for mid, data in pending.items():
                    code, text = send(d.port("smtp"), data)
                    self.assertEqual(code, 250, text)
                got = {}
                changed = 0
                for env, content in sm.messages():
                    mid, intact = r.check_copy(content)
                    got[mid] = got.get(mid, 0) + 1
                    changed += not intact
            lost = set(pending) - set(got)
            self.assertEqual(set(got), set(pending))
            self.assertEqual(max(got.values()), 1)
        r.tally(self, "smarthost drops mid-DATA", len(pending), lost=len(lost), changed=changed,
                client_451_by_mode=replies)


if __name__ == "__main__":
    if sh.python_with("aiosmtpd") is None:
        print("SKIP: aiosmtpd is not installed")
        sys.exit(h.SKIP)
    h.main()
