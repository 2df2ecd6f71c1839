# SPDX-License-Identifier: GPL-2.0-or-later
"""test_relaydb_faults - the relay database through the real daemon, when things go wrong.

- kill -9 of all of popgated (the master, its workers and every session) while POP3 logins from
  many 127.x.y.z addresses and `popgatectl add` write authorizations, many rounds; after each
  restart every acknowledged write (a +OK to PASS, a popgatectl exit status 0) is there, unless
  the daemon logged and noted that it was not recorded (a session whose lookup worker the kill
  took first), `popgatectl list` works and an authorized address may relay.
- A corrupted database (garbage or zeros over its pages, or a truncated file): RCPT from an
  address that was authorized gets a 4xx (fail closed, temporarily), the log says why, and
  popgatectl reports the error instead of printing a wrong list.
- A rogue DB_CONFIG in popgated's working directory, in $DB_HOME and in relay.db_dir is not
  honoured: no file appears where it points, and the one in db_dir is moved aside with a warning.
- relay.db_dir on a full filesystem, before the start or filling up while popgated runs: POP3
  logins still work (the authorization is best effort), SMTP answers 250 (if the write got in)
  or a 4xx, never a refusal, popgatectl exits 0 or 75, no process dies of a signal; with space
  back everything works and nothing acknowledged is lost (TESTING.md finding 5).
"""

import json
import os
import random
import re
import shutil
import smtplib
import subprocess
import threading
import time

import relib as r

import popgate_harness as h
import smtp_helpers as sh

ROUNDS = int(os.environ.get("REL_RELAYDB_ROUNDS", "6"))


def listed(d):
    """{ip: entry} from `popgatectl list --json`."""
    return {e["ip"]: e for e in json.loads(d.ctl("list", "--json").stdout)}


def rcpt_reply(port, source, rcpt="someone@elsewhere.example"):
    """The reply to RCPT of a foreign recipient from SOURCE: relaying needs an authorization."""
    s = smtplib.SMTP(timeout=30, source_address=(source, 0))
    try:
        s.connect("127.0.0.1", port)
        s.ehlo("client.test")
        s.mail("alice@example.net")
        code, text = s.rcpt(rcpt)
        return code, text.decode()
    finally:
        s.close()


def config():
    # 127.0.0.0/8 must not be on the allow list, or every test address could relay anyway.
    return sh.base_config(relay={"allow": ""}, pop3={"trusted_networks": "127.0.0.0/8"})


class KillDuringWrites(h.TestCase):
    def test_kill_whole_daemon_during_relay_writes(self):
        rng = random.Random(int(os.environ.get("REL_SEED", "2")))
        with r.Daemon(self, config=config(), listeners=("pop3", "smtp", "admin")) as d:
            d.add_user("alice", "secret")
            counter = iter(range(10 ** 6))
            acked, lock = set(), threading.Lock()
            totals = {"logins": 0, "ctl": 0, "killed_processes": 0}

            def logins(stop):
                while not stop.is_set():
                    ip = r.source_ip(next(counter))
                    try:
                        c = r.Pop3(d.port("pop3"), source=ip, timeout=10)
                        c.login("alice", "secret")
                    except (OSError, EOFError, r.Pop3Error):
                        time.sleep(0.02)
                        continue
                    with lock:  # +OK to PASS: the authorization was written before it
                        acked.add(ip)
                        totals["logins"] += 1
                    try:
                        c.cmd("QUIT")
                    except (OSError, EOFError, r.Pop3Error):
                        pass
                    c.close()

            def adds(stop):
                while not stop.is_set():
                    n = next(counter)
                    ip = "198.51.%d.%d" % (n // 250 % 250, 1 + n % 250)
                    if d.ctl("add", ip, "--user", "ctl%d" % n, check=False).returncode == 0:
                        with lock:
                            acked.add(ip)
                            totals["ctl"] += 1

            for rnd in range(ROUNDS):
                d.start()
                stop = threading.Event()
                threads = [threading.Thread(target=logins, args=(stop,)) for _ in range(3)]
                threads.append(threading.Thread(target=adds, args=(stop,)))
                for t in threads:
                    t.start()
                time.sleep(0.4 + rng.random() * 1.2)
                totals["killed_processes"] += d.kill_all()
                time.sleep(0.2)  # popgatectl keeps writing while the daemon is dead
                stop.set()
                for t in threads:
                    # A popgatectl caught in a region mutex the kill left held waits out its -w
                    # (60 s) and exits 75; nothing longer is allowed.
                    t.join(150)
                    self.assertFalse(t.is_alive(), "a client hung")
            d.start()
            entries = listed(d)
            log = d.log()
            # A session the kill caught between its check and its +OK can find the lookup worker
            # already dead. Its login stands (POP3 does not wait on the relay database), and it
            # logs and notes that the authorization was not recorded: told, not lost. At most one
            # login per client thread is in flight when a kill comes.
            told = h.unrecorded_logins(log, acked - set(entries))
            lost = acked - set(entries) - set(told)
            self.assertLessEqual(len(told), 3 * ROUNDS, sorted(told))
            # And says why, at once: the kill closed every reader of the login channel.
            self.assertEqual({r for reasons in told.values() for r in reasons} - {h.CHANNEL_GONE}, set(), told)
            self.assertEqual(d.ctl("list").returncode, 0)
            # The restarted daemon serves and records as before.
            ip = r.source_ip(next(counter))
            c = r.Pop3(d.port("pop3"), source=ip)
            c.login("alice", "secret")
            c.cmd("QUIT")
            c.close()
            self.assertIn(ip, listed(d))
            some = sorted(a for a in acked if a.startswith("127."))[:3]
            for a in some:
                self.assertEqual(rcpt_reply(d.port("smtp"), a)[0], 250, a)
            # A stranger is refused: 5xx, or 4xx when a login the kill cut off was noted as not
            # recorded (its address could be anyone's, so no stranger may bounce for relay.timeout).
            note = os.path.join(d.config["relay"]["db_dir"], "relaydb.unrecorded")
            noted = os.path.exists(note) and int.from_bytes(open(note, "rb").read(8) or b"\0", "big") != 0
            self.assertEqual(rcpt_reply(d.port("smtp"), r.source_ip(next(counter)))[0] // 100, 4 if noted else 5)
            self.assertTrue(noted or not told, "logins not recorded but not noted: %s" % sorted(told))
            self.assertNotRegex(d.log(), r"died of signal (?!9)")
        self.assertGreater(totals["logins"], ROUNDS * 5)
        self.assertGreater(totals["ctl"], ROUNDS)
        print("\nrelay writes acknowledged: %d by POP3 logins, %d by popgatectl add" % (totals["logins"], totals["ctl"]))
        for ip in sorted(lost):  # what the daemon said of each, for whoever reads a failure
            print("lost %s:\n  %s" % (ip, "\n  ".join(l for l in log.splitlines() if re.search(r" ip=%s " % re.escape(ip), l))))
        r.tally(self, "kill -9 of popgated during relay writes", len(acked), lost=len(lost), rounds=ROUNDS,
                processes_killed=totals["killed_processes"], entries_after=len(entries),
                told_not_recorded=len(told))


def corrupt(path, how, rng):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        if how == "truncated":
            f.truncate(size // 2)
        elif how == "meta-garbage":
            f.seek(0)
            f.write(bytes(rng.randrange(256) for _ in range(512)))
        elif how == "pages-garbage":
            f.seek(4096)
            f.write(bytes(rng.randrange(256) for _ in range(size - 4096)))
        elif how == "pages-zeroed":
            f.seek(4096)
            f.write(b"\0" * (size - 4096))
        elif how == "records-flipped":  # single bytes inside the leaf page: plausible but wrong
            for _ in range(40):
                off = rng.randrange(4096 + 26, size)
                f.seek(off)
                b = f.read(1)
                f.seek(off)
                f.write(bytes([b[0] ^ 0xff]))


class Corruption(h.TestCase):
    def test_corrupted_database_fails_closed(self):
        rng = random.Random(9)
        results = {}
        with r.Daemon(self, config=config(), listeners=("pop3", "smtp")) as d:
            d.add_user("alice", "secret")
            d.start()
            users = [r.source_ip(i) for i in range(60)]
            for ip in users:
                c = r.Pop3(d.port("pop3"), source=ip)
                c.login("alice", "secret")
                c.cmd("QUIT")
                c.close()
            self.assertEqual(rcpt_reply(d.port("smtp"), users[0])[0], 250)
            d.stop()
            db_dir = d.config["relay"]["db_dir"]
            clean = os.path.join(d.dir, "relay-clean")
            # The lookup worker's socket is no file to copy.
            shutil.copytree(db_dir, clean, symlinks=True, ignore=shutil.ignore_patterns("lookup.sock"))
            for how in ("meta-garbage", "pages-garbage", "pages-zeroed", "truncated", "records-flipped"):
                shutil.rmtree(db_dir)
                shutil.copytree(clean, db_dir, symlinks=True)
                corrupt(os.path.join(db_dir, "relay.db"), how, rng)
                mark = len(d.log())
                d.start(wait=False)
                d.wait_for_log(r"ready on|relay", timeout=20, start=mark)
                codes = [rcpt_reply(d.port("smtp"), ip)[0] for ip in rng.sample(users, 8)]
                log = d.log()[mark:]
                ctl = d.ctl("list", check=False)
                results[how] = (sorted(set(codes)), ctl.returncode)
                d.stop()
                self.assertTrue(all(400 <= c < 500 for c in codes),
                                "%s: RCPT answered %s, expected 4xx\n%s" % (how, codes, log))
                self.assertRegex(log, r"error: .*relay", how)
                self.assertNotEqual(ctl.returncode, 0, "%s: popgatectl list printed %r" % (how, ctl.stdout))
                self.assertNotRegex(log, r"died of signal")
        print("\ncorruptions (RCPT replies, popgatectl list status): %s" % results)


class RogueDbConfig(h.TestCase):
    def test_db_config_is_not_honoured(self):
        with r.Daemon(self, config=config(), listeners=("pop3", "smtp")) as d:
            d.add_user("alice", "secret")
            evil = os.path.join(d.dir, "evil")
            cwd = os.path.join(d.dir, "cwd")
            env_home = os.path.join(d.dir, "dbhome")
            for p in (evil, cwd, env_home):
                os.makedirs(p)
                os.chmod(p, 0o777)
            rogue = ("set_lg_dir %s\nset_data_dir %s\nset_tmp_dir %s\nset_flags DB_TXN_NOSYNC\n"
                     "set_cachesize 0 4096 1\n" % (evil, evil, evil))
            for p in (cwd, env_home):
                with open(os.path.join(p, "DB_CONFIG"), "w") as f:
                    f.write(rogue)
            db_dir = d.config["relay"]["db_dir"]
            os.makedirs(db_dir, exist_ok=True)
            with open(os.path.join(db_dir, "DB_CONFIG"), "w") as f:
                f.write(rogue)
            env = dict(os.environ, DB_HOME=env_home)
            d.start(cwd=cwd, env=env)
            for i in range(5):
                c = r.Pop3(d.port("pop3"), source=r.source_ip(i))
                c.login("alice", "secret")
                c.cmd("QUIT")
                c.close()
            self.assertEqual(rcpt_reply(d.port("smtp"), r.source_ip(0))[0], 250)
            # popgatectl from the same rogue directory, with the same environment.
            res = subprocess.run([h.POPGATECTL, "-f", d.conf_path, "list", "--json"], cwd=cwd,
                                 env=dict(env, ASAN_OPTIONS="detect_leaks=0"), capture_output=True, text=True)
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertEqual(len(json.loads(res.stdout)), 5)
            self.assertEqual(os.listdir(evil), [], "a DB_CONFIG was honoured")
            self.assertTrue(os.path.exists(os.path.join(db_dir, "DB_CONFIG.ignored")))
            self.assertFalse(os.path.exists(os.path.join(db_dir, "DB_CONFIG")))
            self.assertIn("DB_CONFIG is not honoured", d.log())
            self.assertTrue([n for n in os.listdir(db_dir) if n.startswith("log.")], "the log stays in db_dir")


class FullRelayFilesystem(h.TestCase):
    """relay.db_dir on a full filesystem: POP3 logins work (recording the authorization is best
    effort), RCPT answers 250 when the authorization got in and 4xx when it did not, never a
    refusal; popgatectl exits 0 or 75; no process dies of a signal (Berkeley DB's sparse region
    files raised SIGBUS before, TESTING.md finding 5). With space back everything works again and
    no acknowledged authorization and no message is lost."""

    def login(self, d, ip, msgs):
        c = r.Pop3(d.port("pop3"), source=ip)
        try:
            reply = c.login("alice", "secret")
            self.assertTrue(reply.startswith(b"+OK 3 messages"), reply)
            for n in range(1, len(msgs) + 1):  # nothing lost or changed in the mailbox
                text = c.retr(n)
                self.assertIn(b"Message-ID: <%d@test>\r\n\r\nmessage %d\r\n" % (n, n), text)
            c.cmd("QUIT")
        finally:
            c.close()

    def ctl_add(self, d, ip):
        rc = d.ctl("add", ip, check=False).returncode
        self.assertIn(rc, (0, 75), "popgatectl add %s: exit %d (negative: killed by that signal)" % (ip, rc))
        return rc

    def check_full(self, fill_after_start):
        r.need_root()
        with r.Daemon(self, config=config(), listeners=("pop3", "smtp")) as d:
            msgs = [h.mbox_message(i) for i in range(1, 4)]
            d.add_user("alice", "secret", messages=msgs)
            relay = os.path.join(d.dir, "relayfs")
            d.config["relay"]["db_dir"] = os.path.join(relay, "relay")
            acked, replies, used = set(), {}, []
            with r.tmpfs(relay, "40m"):
                if not fill_after_start:
                    filler = r.fill(relay, leave=0)
                d.start()
                workers = set(d.pids())
                if fill_after_start:  # the environment exists and works; then the disk fills up
                    for i in range(3):
                        self.login(d, r.source_ip(i), msgs)
                        self.assertEqual(rcpt_reply(d.port("smtp"), r.source_ip(i))[0], 250)
                        acked.add(r.source_ip(i))
                    self.assertEqual(self.ctl_add(d, "192.0.2.1"), 0)
                    acked.add("192.0.2.1")
                    filler = r.fill(relay, leave=0)
                # Until the database's writes have failed for a while: a log page may still have room.
                for i in range(3, 63):
                    ip = r.source_ip(i)
                    used.append(ip)
                    self.login(d, ip, msgs)
                    code, _ = rcpt_reply(d.port("smtp"), ip)
                    replies[code] = replies.get(code, 0) + 1
                    self.assertTrue(code == 250 or 400 <= code < 500, code)
                    if code == 250:
                        acked.add(ip)
                    if sum(n for c, n in replies.items() if c != 250) >= 5:
                        break
                self.assertGreaterEqual(sum(n for c, n in replies.items() if c != 250), 5,
                                        "the full filesystem was never noticed: %s" % replies)
                ctl_rc = self.ctl_add(d, "192.0.2.2")
                if ctl_rc == 0:
                    acked.add("192.0.2.2")
                for ip in sorted(a for a in acked if a.startswith("127.")):  # reads work while full
                    self.assertEqual(rcpt_reply(d.port("smtp"), ip)[0], 250, ip)
                # Processes joining at once touch region pages nobody touched before the disk filled.
                checks = [None] * 16

                def check(k):
                    checks[k] = d.ctl("check", "192.0.2.1", check=False).returncode

                threads = [threading.Thread(target=check, args=(k,)) for k in range(len(checks))]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(60)
                # check: 0 authorized; 1 denied as db-error, the database was never created.
                self.assertEqual(set(checks), {0} if fill_after_start else {1}, checks)
                self.assertEqual(d.ctl("list", check=False).returncode, 0 if fill_after_start else 75)
                full_log = d.log()
                if not fill_after_start:
                    self.assertRegex(full_log, r"not enough space to create the environment: \d+ bytes free, "
                                               r"\d+ needed")

                # Space back: every client logs in and relays again, nothing acknowledged is gone.
                # The first may take a retry: a process that failed to open tries again after a while.
                os.unlink(filler)
                deadline = time.monotonic() + 5
                for ip in used:
                    self.login(d, ip, msgs)
                    while True:
                        code = rcpt_reply(d.port("smtp"), ip)[0]
                        if code != 250 and ip == used[0] and 400 <= code < 500 and time.monotonic() < deadline:
                            time.sleep(0.2)
                            continue
                        self.assertEqual(code, 250, ip)
                        break
                self.assertEqual(self.ctl_add(d, "192.0.2.3"), 0)
                entries = listed(d)
                lost = acked - set(entries)
                self.assertEqual(lost, set())
                self.assertTrue(set(used) <= set(entries))
                log = d.log()
                signals = len(re.findall(r"died of signal|ended abnormally", log))
                signals += sum(1 for rc in checks if rc is None or rc < 0)
                self.assertEqual(signals, 0, "processes died of a signal or hung")
                self.assertTrue(workers <= set(d.pids()), "a worker was replaced")
            print("\nRCPT replies with relay.db_dir full: %s; popgatectl add exit %d" % (replies, ctl_rc))
            r.tally(self, "relay.db_dir full %s start" % ("after" if fill_after_start else "before"),
                    len(acked) + len(used) * len(msgs), lost=len(lost), logins_while_full=len(used),
                    processes_killed_by_a_signal=signals)

    def test_full_before_start(self):
        self.check_full(False)

    def test_filling_up_while_running(self):
        self.check_full(True)


if __name__ == "__main__":
    h.main()
