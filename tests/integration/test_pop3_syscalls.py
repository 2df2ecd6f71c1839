#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_pop3_syscalls - what a POP3 session no longer asks the kernel (issue 15's CPU per session).

Every process of a running popgated is traced with strace while POP3 sessions of a user who has
logged in before are served by its reused pair, and the calls whose answer the process already
knows must not appear:
- getsockopt(SO_TYPE): each ipc_recv caller names its socket's type;
- setsockopt(SO_RCVTIMEO): the monitor bounds its wait for the hand-over with a deadline instead
  of setting and clearing a receive timeout on the channel each session;
- mkdirat: the user's index directory is there since the first login, and is opened first;
- the walk to that directory (opening the state directory, index/ and the user's): one stat of
  its path says it is the user's already;
- /etc/group: the "mail" group is looked up once per process, not at every login;
- socketpair: the monitor keeps its reply pairs to the auth worker and the lookup worker (the
  answers hand the lent end back), so neither a check nor a login record makes one;
- setsockopt(TCP_NODELAY) by the monitor and the mailbox process: the protocol child set it on the
  client's socket, which they are handed (so each session has exactly one);
- getsockname: the listener is bound to 127.0.0.1, so each connection's local address is known;
- a read of the client that says EAGAIN: after a reply the client is reading it, so the session
  waits for its next line before it reads (a line-buffer read asks for all 16384 bytes of it).
The sessions are counted in the trace (the protocol child's TCP_NODELAY on each client), so a
trace that missed them cannot pass. Each next client waits for the previous one's "done" line.
"""

import os
import re
import shutil
import subprocess

import popgate_harness as h

STRACE = shutil.which("strace")
SESSIONS = 4


class Pop3Syscalls(h.TestCase):
    def session(self, d):
        mark = len(d.log())
        p = h.SourcePOP3("127.0.0.1", d.port("pop3"), "127.0.0.1")
        p.user("alice")
        p.pass_("secret")
        self.assertEqual(p.stat()[0], 2)
        p.retr(1)
        p.quit()
        sid = d.wait_for_log(r"pop3 session=(\w+) ip=127\.0\.0\.1 user=alice login ok", start=mark).group(1)
        d.wait_for_log(r"session process \d+ is done with session=%s" % sid, start=mark, timeout=30)

    def test_a_known_answer_is_not_asked_again(self):
        if STRACE is None:
            self.skipTest("strace is not installed")
        cfg = {"pop3": {"plaintext_auth": "always", "mailbox_process_idle": "1h"}}
        with h.Popgated(self, config=cfg, listeners=("pop3",)) as d:
            d.add_user("alice", "secret", messages=[h.mbox_message(i) for i in (1, 2)])
            d.start()
            self.session(d)  # the index directory, the pair and its mailbox process now exist
            pids = h.descendants(d.proc.pid)
            trace = os.path.join(d.dir, "tree.strace")
            st = subprocess.Popen([STRACE, "-f", "-o", trace, "-e",
                                   "trace=getsockopt,setsockopt,mkdir,mkdirat,getsockname,recvfrom,open,openat,newfstatat,socketpair"]
                                  + sum((["-p", str(p)] for p in pids), []),
                                  stderr=subprocess.PIPE, text=True)
            try:
                # strace says so on stderr for each process once it is attached.
                attached = 0
                while attached < len(pids):
                    line = st.stderr.readline()
                    self.assertTrue(line, "strace ended before it attached to every process")
                    attached += "attached" in line
                for _ in range(SESSIONS):
                    self.session(d)
            finally:
                st.terminate()
                st.wait(30)
                st.stderr.close()
            with open(trace) as f:
                calls = f.read().splitlines()
            named = lambda pattern: [c for c in calls if re.search(pattern, c)]
            self.assertEqual(len(named(r"setsockopt\(.*TCP_NODELAY")), SESSIONS, calls)
            self.assertEqual(named(r"getsockopt\(.*SO_TYPE"), [])
            self.assertEqual(named(r"setsockopt\(.*SO_RCVTIMEO"), [])
            self.assertEqual(named(r"\bmkdir(at)?\("), [])
            state = os.path.join(d.dir, "state")
            self.assertEqual(named(r'open(at)?\(.*"(%s|index|%d)", ' % (re.escape(state), d.uid)), [])
            self.assertEqual(named(r'"/etc/group"'), [])
            self.assertEqual(named(r"socketpair\("), [])
            index = os.path.join(state, "index", str(d.uid))
            self.assertEqual(len(named(r'newfstatat\(AT_FDCWD, "%s", .*AT_SYMLINK_NOFOLLOW\) = 0' % re.escape(index))),
                             SESSIONS, calls)
            self.assertEqual(named(r"getsockname\("), [])
            self.assertGreaterEqual(len(named(r"recvfrom\(.*, 16384, .*= \d+$")), SESSIONS * 4, calls)
            self.assertEqual(named(r"recvfrom\(.*, 16384, .*EAGAIN"), [])


if __name__ == "__main__":
    h.main()
