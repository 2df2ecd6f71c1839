# SPDX-License-Identifier: GPL-2.0-or-later
"""test_pop3_crash - "nothing is lost" at the protocol level: many rounds of DELE, QUIT and kill -9 of
the session process at a random moment (before, during or after the UPDATE state), each followed by
a check that every message not deleted is still there byte for byte, exactly once."""

import os
import random
import re
import signal
import socket
import time

import popgate_harness as h

ROUNDS = int(os.environ.get("POP3_CRASH_ROUNDS", "25"))
MSGID = re.compile(rb"^Message-ID: <(\d+)@test>\r$", re.M)


def message(n, rng):
    """Message N: a few hundred bytes up to ~300 KB, so that some commits take a while."""
    size = rng.choice([50, 400, 3000, 60000, 300000])
    body = b"".join(b"%d line %d %s\n" % (n, i, b"y" * (i % 70)) for i in range(size // 40))
    return h.mbox_message(n, body=body)


def wait_dead(pid, timeout=10):
    """Until PID has exited (a zombie or reaped): only then are its locks released."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except (FileNotFoundError, ProcessLookupError):
            return  # reaped already
        time.sleep(0.01)
    raise AssertionError("process %d did not die" % pid)


def wire(msg):
    return msg.split(b"\n", 1)[1].rstrip(b"\n").replace(b"\n", b"\r\n") + b"\r\n"


class Session:
    """A raw POP3 session that returns multi-line replies unstuffed."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.f = self.sock.makefile("rb")
        assert self.line().startswith(b"+OK")

    def line(self):
        line = self.f.readline()
        assert line.endswith(b"\r\n"), line
        return line[:-2]

    def cmd(self, text, multi=False):
        self.sock.sendall(text.encode() + b"\r\n")
        first = self.line()
        assert first.startswith(b"+OK"), (text, first)
        if not multi:
            return first
        out = []
        while True:
            line = self.line()
            if line == b".":
                return out
            out.append(line[1:] if line.startswith(b".") else line)

    def close(self):
        self.f.close()
        self.sock.close()


class Crash(h.TestCase):
    def verify(self, d, originals, expected):
        """Retrieve everything; return {msgid: uidl}. Fails on loss, duplication or damage."""
        s = Session(d.port("pop3"))
        s.cmd("USER alice")
        s.cmd("PASS secret")
        uidls = [l.split() for l in s.cmd("UIDL", multi=True)]
        seen = {}
        for num, uidl in uidls:
            data = b"".join(l + b"\r\n" for l in s.cmd("RETR %s" % num.decode(), multi=True))
            m = MSGID.search(data)
            self.assertIsNotNone(m, "message %s has no Message-ID: damaged" % num)
            n = int(m.group(1))
            self.assertNotIn(n, seen, "message %d is there twice" % n)
            self.assertEqual(data, wire(originals[n]), "message %d differs" % n)
            seen[n] = uidl
        s.cmd("QUIT")
        s.close()
        missing = expected - set(seen)
        self.assertFalse(missing, "messages lost: %s" % sorted(missing))
        return seen

    def add(self, d, path, kind, originals, n, rng):
        originals[n] = message(n, rng)
        if kind == "mbox":
            with open(path, "ab") as f:
                f.write(originals[n])
        else:
            name = os.path.join(path, "new", "%d.M%dP1.popgate.test" % (1800000000 + n, n))
            with open(name + ".tmp", "wb") as f:
                f.write(originals[n].split(b"\n", 1)[1].rstrip(b"\n") + b"\n")
            os.chown(name + ".tmp", d.uid, d.gid) if h.IS_ROOT else None
            os.rename(name + ".tmp", name)

    def crash_rounds(self, kind):
        rng = random.Random(int(os.environ.get("POP3_CRASH_SEED", "1939")))
        with h.Popgated(self) as d:
            path = d.add_user("alice", "secret", kind=kind, messages=[])
            d.start()
            originals = {}
            for n in range(1, 31):
                self.add(d, path, kind, originals, n, rng)
            present = self.verify(d, originals, set(originals))
            next_n, killed_mid, outcomes = 31, 0, {"none": 0, "all": 0, "some": 0}
            for rnd in range(ROUNDS):
                if len(present) < 12:
                    for _ in range(10):
                        self.add(d, path, kind, originals, next_n, rng)
                        next_n += 1
                    present = self.verify(d, originals, set(present) | set(range(next_n - 10, next_n)))
                start = len(d.log())
                s = Session(d.port("pop3"))
                s.cmd("USER alice")
                s.cmd("PASS secret")
                pid = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 session=[0-9a-f]{12} ip=\S+ user=alice mailbox open",
                                         start=start).group(1))
                uidls = {u.split()[1]: int(u.split()[0]) for u in s.cmd("UIDL", multi=True)}
                victims = rng.sample(sorted(present), rng.randint(1, 4))
                cmds = "".join("DELE %d\r\n" % uidls[present[v]] for v in victims) + "QUIT\r\n"
                s.sock.sendall(cmds.encode())
                time.sleep(0.0002 * 150 ** rng.random())  # 0.2 to 30 ms, log-uniform: before, during, after
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed_mid += 1
                except ProcessLookupError:
                    pass  # it finished first: the deletions must then be complete
                wait_dead(pid)
                s.close()
                after = self.verify(d, originals, set(present) - set(victims))
                gone = set(present) - set(after)
                self.assertTrue(gone <= set(victims), "round %d: lost %s" % (rnd, sorted(gone - set(victims))))
                if kind == "mbox":  # the mbox is replaced in one rename: all deletions or none
                    self.assertIn(gone, (set(), set(victims)), "round %d: partial mbox update" % rnd)
                outcomes["none" if not gone else "all" if gone == set(victims) else "some"] += 1
                present = after
            self.assertGreater(killed_mid, 0)
            mid = len(re.findall(r"stale dotlock|interrupted update", d.log()))
            print("\n%s: %d rounds, deletions applied: %s, kills inside an mbox update: %d"
                  % (kind, ROUNDS, outcomes, mid))

    def test_mbox(self):
        self.crash_rounds("mbox")

    def test_maildir(self):
        self.crash_rounds("maildir")


if __name__ == "__main__":
    h.main()
