# SPDX-License-Identifier: GPL-2.0-or-later
"""test_postfix_local - real Postfix local(8) deliveries (mailbox_delivery_lock = fcntl, dotlock)
into /var/mail-style mboxes of real system users, while POP3 sessions of popgated retrieve,
DELE and QUIT (or drop the connection, or RSET) on the same mailboxes.

At the end every message handed to Postfix has been collected exactly once: retrieved intact
(its body digest matches) and deleted by a QUIT that answered +OK, or it is still in the mailbox.
Nothing is lost, changed or duplicated, and nobody deadlocks (every session and every delivery
finishes within the test's deadline). Needs root (useradd, a private Postfix instance); skipped
otherwise. REL_POSTFIX_MESSAGES sets the number of messages (default 200).
"""

import os
import random
import smtplib
import sys
import threading
import time

import relib as r
from postfix_instance import PrivatePostfix

import popgate_harness as h

if not h.IS_ROOT:
    print("SKIP: needs root for system users and a private Postfix")
    sys.exit(h.SKIP)
h.need("useradd", "userdel", "chpasswd", "postfix")

MESSAGES = int(os.environ.get("REL_POSTFIX_MESSAGES", "200"))
USERS = 3
DEADLINE = float(os.environ.get("REL_POSTFIX_DEADLINE", "120"))


class Ledger:
    """What was sent and what POP3 clients collected; shared by the threads under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}          # msgid -> user
        self.collected = {}     # msgid -> count of QUITs with +OK that deleted it
        self.changed = set()    # msgids retrieved with a wrong digest
        self.strangers = 0      # retrieved messages we cannot identify
        self.retrieved = 0
        self.sessions = {"quit": 0, "drop": 0, "rset": 0, "in-use": 0, "update-failed": 0}
        self.errors = []


def inject(pf, ledger, users, plan, rng):
    """Send the messages in PLAN [(msgid, user)] to the private Postfix over SMTP."""
    s = smtplib.SMTP("127.0.0.1", pf.port, timeout=60)
    try:
        for i, (msgid, user) in enumerate(plan):
            body = r.make_body(rng, i, rng.choice([60, 400, 3000, 3000, 30000, 150000]))
            data = r.rfc822(msgid, body, rcpt="%s@localhost" % user).replace(b"\n", b"\r\n")
            s.sendmail("sender@example.org", ["%s@localhost" % user], data)
            with ledger.lock:
                ledger.sent[msgid] = user
            if rng.random() < 0.3:
                time.sleep(rng.random() * 0.02)
    finally:
        s.quit()


def pop_round(port, user, password, ledger, rng):
    """One session: retrieve everything, delete some, then QUIT, drop or RSET+QUIT."""
    try:
        c = r.Pop3(port, timeout=60)
    except (OSError, EOFError, r.Pop3Error) as e:
        ledger.errors.append("connect: %s" % e)
        return
    try:
        try:
            c.login(user, password)
        except r.Pop3Error as e:
            if "[IN-USE]" in str(e):
                with ledger.lock:
                    ledger.sessions["in-use"] += 1
                return
            raise
        listing = c.uidl()
        doomed = []
        for n in sorted(listing):
            msgid, intact = r.check_copy(c.retr(n))
            with ledger.lock:
                ledger.retrieved += 1
                if msgid is None:
                    ledger.strangers += 1
                elif not intact:
                    ledger.changed.add(msgid)
            if msgid is not None and rng.random() < 0.7:
                c.cmd("DELE %d" % n)
                doomed.append(msgid)
        how = rng.choices(["quit", "drop", "rset"], [0.8, 0.1, 0.1])[0]
        if how == "drop":
            with ledger.lock:
                ledger.sessions["drop"] += 1
            return  # no QUIT: RFC 1939 says nothing is deleted
        if how == "rset":
            c.cmd("RSET")
            doomed = []
        try:
            c.cmd("QUIT")
        except r.Pop3Error as e:
            if "[SYS/TEMP]" not in str(e):
                raise
            with ledger.lock:
                ledger.sessions["update-failed"] += 1
            return  # the update failed: everything must still be there
        with ledger.lock:
            ledger.sessions["rset" if how == "rset" else "quit"] += 1
            for m in doomed:
                ledger.collected[m] = ledger.collected.get(m, 0) + 1
    except (OSError, EOFError, r.Pop3Error) as e:
        ledger.errors.append("%s: %s" % (user, e))
    finally:
        c.close()


class PostfixLocal(h.TestCase):
    def test_deliveries_race_pop3_sessions(self):
        users = r.SystemUsers(self, USERS)
        rng = random.Random(int(os.environ.get("REL_SEED", "5321")))
        with r.Daemon(self, config={"auth": {"backend": "system"}}, listeners=("pop3",)) as d:
            spool = r.spool_dir(d.dir)
            d.config["auth"]["system_mailbox"] = "mbox:%s/%%u" % spool
            d.start()
            pf = PrivatePostfix(d.dir, spool)
            try:
                pf.start()
                self.race(d, pf, users, spool, rng)
            finally:
                pf.stop()  # before the daemon's directory, which holds Postfix's, goes away

    def race(self, d, pf, users, spool, rng):
        """Inject and collect at once; then drain and account for every message."""
        t0 = time.time()
        ledger = Ledger()
        plan = [("%d.%d@reliability.test" % (i, rng.randrange(10 ** 9)), users.names[i % USERS])
                for i in range(MESSAGES)]
        injectors = [threading.Thread(target=inject, args=(pf, ledger, users.names, plan[k::2], random.Random(k)),
                                      daemon=True) for k in range(2)]
        stop = threading.Event()

        def popper(user, seed):
            prng = random.Random(seed)
            while not stop.is_set():
                pop_round(d.port("pop3"), user, users.password, ledger, prng)
                time.sleep(prng.random() * 0.05)

        poppers = [threading.Thread(target=popper, args=(u, k), daemon=True) for k, u in
                   enumerate(users.names * 2)]  # two clients per mailbox: IN-USE races too
        for t in injectors + poppers:
            t.start()
        for t in injectors:
            t.join(DEADLINE)
            self.assertFalse(t.is_alive(), "injection hung")
        while time.time() - t0 < DEADLINE:
            sent, deferred, bounced = pf.deliveries()
            if sent + bounced >= MESSAGES and pf.queue_files() == 0:
                break
            time.sleep(0.2)
        stop.set()
        for t in poppers:
            t.join(DEADLINE)
            self.assertFalse(t.is_alive(), "a POP3 client hung: deadlock?")
        sent, deferred, bounced = pf.deliveries()
        self.assertEqual((sent, bounced, pf.queue_files()), (MESSAGES, 0, 0),
                         "Postfix did not deliver everything in %ds:\n%s" % (DEADLINE, pf.log()[-3000:]))
        # Drain what is left, one final session per user, deleting everything it retrieves.
        left = {}
        for u in users.names:
            c = r.Pop3(d.port("pop3"))
            c.login(u, users.password)
            for n in sorted(c.uidl()):
                msgid, intact = r.check_copy(c.retr(n))
                if msgid is None:
                    ledger.strangers += 1
                    continue
                if not intact:
                    ledger.changed.add(msgid)
                left[msgid] = left.get(msgid, 0) + 1
            c.close()  # no QUIT: the mailbox stays as it is for the post-mortem
        elapsed = time.time() - t0
        self.assertEqual(ledger.errors, [])
        everything = {}
        for m, k in list(ledger.collected.items()) + list(left.items()):
            everything[m] = everything.get(m, 0) + k
        lost = set(ledger.sent) - set(everything)
        duplicated = {m for m, k in everything.items() if k > 1}
        unknown = set(everything) - set(ledger.sent)
        self.assertEqual(ledger.strangers, 0, "retrieved messages that nobody sent")
        self.assertEqual(unknown, set())
        self.assertEqual(duplicated, set(), "collected twice: %s" % sorted(duplicated)[:5])
        for u in users.names:
            st = os.stat(os.path.join(spool, u))
            self.assertEqual(st.st_uid, users.pw(u).pw_uid, "the mbox keeps its owner")
            self.assertFalse(os.path.exists(os.path.join(spool, u + ".lock")), "a dotlock was left")
        r.tally(self, "postfix local(8) vs POP3 DELE/QUIT", len(ledger.sent), lost=len(lost),
                changed=len(ledger.changed), duplicated=len(duplicated),
                collected_by_quit=len(ledger.collected), left_in_mailboxes=len(left),
                retrievals=ledger.retrieved, sessions=sum(ledger.sessions.values()),
                outcomes=ledger.sessions, local_deliveries=sent, deferred_attempts=deferred,
                seconds="%.1f" % elapsed)


if __name__ == "__main__":
    h.main()
