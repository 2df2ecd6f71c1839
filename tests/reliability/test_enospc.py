# SPDX-License-Identifier: GPL-2.0-or-later
"""test_enospc - a full disk through the real daemon: nothing is lost, the client is told "later".

- An mbox on a small tmpfs filled to different levels: the UPDATE after DELE and QUIT runs out of
  space at different points of writing the new file. Each round, QUIT answers -ERR [SYS/TEMP],
  the mbox is byte for byte what it was and no temporary file is left; once space is back the
  same deletions go through and exactly the kept messages remain.
- The state directory (mailbox indexes) on a full tmpfs: sessions still serve the mailbox or fail
  temporarily; deletions that were answered +OK are applied, nothing else changes.
- SMTP: popgated's own spool (TMPDIR) on a full tmpfs, so a large message cannot be stored: the
  client gets 451 and the next hop gets nothing; after space is freed the retry is delivered intact.
- SMTP: the next hop is a real Postfix whose queue_directory is a full tmpfs: Postfix answers 4xx
  in the middle of the hand-off, popgated answers the client 451, and the retry after space is
  freed reaches the mailbox intact.
Needs root (mount -t tmpfs); skipped otherwise.
"""

import os
import random
import smtplib
import sys

import relib as r

import popgate_harness as h
import smtp_helpers as sh

if not h.IS_ROOT:
    print("SKIP: needs root to mount a tmpfs")
    sys.exit(h.SKIP)

ROUNDS = int(os.environ.get("REL_ENOSPC_ROUNDS", "10"))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def smtp_send(port, data, rcpt="bob@example.org"):
    """One message; (code, text) of the final reply (or the first refusal)."""
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


class MboxUpdate(h.TestCase):
    def test_full_mailbox_filesystem(self):
        rng = random.Random(int(os.environ.get("REL_SEED", "28")))
        with r.Daemon(self, listeners=("pop3",)) as d:
            mail = os.path.join(d.dir, "mail")
            with r.tmpfs(mail, "3m"):
                msgs = [h.mbox_message(i, body=r.make_body(rng, i, rng.choice([500, 5000, 60000])))
                        for i in range(1, 41)]
                path = d.add_user("alice", "secret", messages=msgs)
                d.start()
                size = len(b"".join(msgs))
                tmp = os.path.join(mail, ".alice.popgate-new")
                failed, checked = 0, 0
                for rnd in range(ROUNDS):
                    before = read(path)
                    victims = sorted(rng.sample(range(1, len(msgs) + 1), rng.randint(1, 3)))
                    filler = r.fill(mail, leave=rng.randrange(0, size))  # short of room for the new file
                    c = r.Pop3(d.port("pop3"))
                    c.login("alice", "secret")
                    for v in victims:
                        c.cmd("DELE %d" % v)
                    with self.assertRaisesRegex(r.Pop3Error, r"\[SYS/TEMP\]", msg="round %d" % rnd):
                        c.cmd("QUIT")
                    c.close()
                    failed += 1
                    self.assertEqual(read(path), before, "round %d: the mbox changed" % rnd)
                    self.assertFalse(os.path.exists(tmp), "round %d: temporary file left" % rnd)
                    checked += len(msgs)
                    os.unlink(filler)
                d.wait_for_log(r"No space left on device")
                # With room again, the same kind of deletion is applied, exactly.
                c = r.Pop3(d.port("pop3"))
                c.login("alice", "secret")
                for v in victims:
                    c.cmd("DELE %d" % v)
                c.cmd("QUIT")
                c.close()
                kept = [m for i, m in enumerate(msgs, 1) if i not in victims]
                self.assertEqual(read(path), b"".join(kept))
                checked += len(msgs)
        r.tally(self, "ENOSPC during mbox UPDATE", checked, rounds=ROUNDS, updates_refused=failed)

    def test_full_index_filesystem(self):
        """server.state_dir (mailbox indexes) on a full filesystem; the relay database elsewhere."""
        rng = random.Random(7)
        with r.Daemon(self, listeners=("pop3",)) as d:
            state = d.config["server"]["state_dir"]
            d.config["relay"]["db_dir"] = os.path.join(d.dir, "relay")
            with r.tmpfs(state, "1m"):
                msgs = [h.mbox_message(i, body=r.make_body(rng, i, 3000)) for i in range(1, 31)]
                path = d.add_user("alice", "secret", messages=msgs)
                d.start()
                r.fill(state, leave=0)
                kept = list(range(1, len(msgs) + 1))
                outcomes = {"+OK": 0, "-ERR": 0}
                for rnd in range(5):
                    before = read(path)
                    c = None
                    try:
                        c = r.Pop3(d.port("pop3"))
                        c.login("alice", "secret")
                        listing = c.uidl()
                        self.assertEqual(len(listing), len(kept))
                        for n in listing:
                            self.assertEqual(c.retr(n), r.wire(msgs[kept[n - 1] - 1]))
                        c.cmd("DELE 1")
                        c.cmd("QUIT")
                        del kept[0]
                        outcomes["+OK"] += 1
                    except r.Pop3Error as e:
                        self.assertIn("[SYS/TEMP]", str(e))
                        outcomes["-ERR"] += 1
                        self.assertEqual(read(path), before)
                    finally:
                        if c is not None:
                            c.close()
                    self.assertEqual(read(path), b"".join(msgs[k - 1] for k in kept), "round %d" % rnd)
                self.assertNotRegex(d.log(), r"died of signal|ended abnormally")
        r.tally(self, "ENOSPC in the index directory", len(msgs), sessions=outcomes)


class Handoff(h.TestCase):
    def test_own_spool_full(self):
        rng = random.Random(3)
        body = r.make_body(rng, 1, 600000)  # larger than the in-memory part of the spool
        data = r.rfc822("big@reliability.test", body).replace(b"\n", b"\r\n")
        with r.Daemon(self, config=sh.base_config(), listeners=("smtp",)) as d:
            mta = sh.Sendmail(d)
            tmp = os.path.join(d.dir, "tmpfs")
            with r.tmpfs(tmp, "1m"):
                os.chmod(tmp, 0o1777)
                filler = r.fill(tmp, leave=100000)
                d.start(env=dict(os.environ, TMPDIR=tmp))
                code, text = smtp_send(d.port("smtp"), data)
                self.assertEqual((code, text[:5]), (451, "4.3.0"), text)
                self.assertEqual(mta.runs(), [], "nothing may reach the next hop")
                d.wait_for_log(r"spool: write to %s: No space left on device" % tmp)
                os.unlink(filler)
                code, text = smtp_send(d.port("smtp"), data)
                self.assertEqual(code, 250, text)
            runs = mta.runs()
            self.assertEqual(len(runs), 1)
            mid, intact = r.check_copy(runs[0]["msg"])
            self.assertEqual((mid, intact), ("big@reliability.test", True))
        r.tally(self, "ENOSPC in popgated's spool", 1, client_replies="451 then 250")

    def test_next_hop_queue_full(self):
        from postfix_instance import PrivatePostfix
        rng = random.Random(4)
        with r.Daemon(self, config=sh.base_config(), listeners=("smtp",)) as d:
            users = r.SystemUsers(self, 1)
            spool = r.spool_dir(d.dir)
            queue = os.path.join(d.dir, "pfqueue")
            with r.tmpfs(queue, "4m"):
                # queue_minfree 0: Postfix takes the message and runs out of room while writing it.
                pf = PrivatePostfix(d.dir, spool, queue_dir=queue,
                                    extra={"queue_minfree": "0", "message_size_limit": "0"})
                try:
                    pf.start()
                    # "localhost" is no relay domain (one label); the client's address relays instead.
                    d.config["smtp"].update({"forward": "smtp:127.0.0.1:%d" % pf.port, "forward_tls": "no"})
                    d.config["relay"]["allow"] = "127.0.0.1"
                    d.start()
                    rcpt = "%s@localhost" % users.names[0]
                    msgs = [("q%d@reliability.test" % i, r.make_body(rng, i, 300000)) for i in range(3)]
                    filler = r.fill(queue, leave=150000)
                    refused = 0
                    for mid, body in msgs:
                        code, text = smtp_send(d.port("smtp"), r.rfc822(mid, body, rcpt=rcpt).replace(b"\n", b"\r\n"),
                                               rcpt=rcpt)
                        self.assertEqual((code, text[:5]), (451, "4.3.0"), text)
                        refused += 1
                    self.assertRegex(d.log(), r"message deferred: .*4\d\d")
                    os.unlink(filler)
                    for mid, body in msgs:  # the clients' retries
                        code, text = smtp_send(d.port("smtp"), r.rfc822(mid, body, rcpt=rcpt).replace(b"\n", b"\r\n"),
                                               rcpt=rcpt)
                        self.assertEqual(code, 250, text)
                    sh.wait_until(lambda: pf.deliveries()[0] >= len(msgs), timeout=30, what="local delivery")
                finally:
                    pf.stop()  # before the tmpfs under its queue is unmounted
            with open(os.path.join(spool, users.names[0]), "rb") as f:
                mbox = f.read()
            found = {}
            for part in r.mbox_split(mbox):
                mid, intact = r.check_copy(part)
                if mid is not None:
                    found[mid] = found.get(mid, 0) + (1 if intact else 1000)
        self.assertEqual(found, {mid: 1 for mid, _ in msgs}, "each message delivered once and intact")
        r.tally(self, "ENOSPC in the next hop's queue", len(msgs), client_451=refused)


if __name__ == "__main__":
    h.main()
