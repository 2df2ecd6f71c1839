# SPDX-License-Identifier: GPL-2.0-or-later
"""test_sendmail_maps - Debian's real sendmail (8.17, unpacked by tools/fetch-sendmail, never installed:
it conflicts with postfix) reads popgate's authorizations both ways docs/MTA.md gives:

- the DRAC btree map popgate exports (relay.export_map; `Kdrac btree -o PATH`), and
- the socketmap (relay.socketmap_listen; `Kpopgate socket -T<TMPF> inet:PORT@127.0.0.1`),

with `sendmail -C CF -bt`: `/map drac 127.0.0.6` and `/map popgate 127.0.0.6` find nothing before
the POP login from 127.0.0.6 and the expiry after it; sendmail's own IPv6 spelling
(`IPv6:2001:db8:0:0:0:0:0:6`, folded to lower case for the btree) is found in both; and the
`Local_check_rcpt` rules of docs/MTA.md answer `$# OK` for an authorized client and `?` otherwise.

And the hand-off with smtp.forward_client_info = yes: popgate runs that real sendmail (queue-only,
server.user trusted by the cf's `T` line) with -oM{client_addr}, -oMr and -oMs, and the queued message names
the real client and its HELO in sendmail's own Received: header and macros.

sendmail runs in its own UTS and mount namespaces with a qualified host name, /etc/hosts naming it
and a resolv.conf pointing at 127.0.0.1, so it never waits for or asks a name server elsewhere.
Needs root (unshare, mount) and the unpacked sendmail; skipped (77) otherwise.
"""

import os
import re
import smtplib
import subprocess
import sys
import time

import popgate_harness as h
import smtp_helpers as sh

if not h.IS_ROOT:
    print("SKIP: needs root (sendmail in its own mount and UTS namespaces)")
    sys.exit(h.SKIP)
h.need("unshare", "mount")

FETCH = os.path.join(h.SRCDIR, "tools", "fetch-sendmail")
_r = subprocess.run([FETCH], capture_output=True, text=True)
if _r.returncode != 0:
    print("SKIP: sendmail could not be fetched: %s" % _r.stderr.strip())
    sys.exit(h.SKIP)
SENDMAIL = _r.stdout.strip()
SENDMAIL_ROOT = SENDMAIL[:SENDMAIL.index("/usr/libexec/sendmail/sendmail")]

CLIENT = "127.0.0.6"

# The cf, written by hand: only what -bt and a queue-only submission need. The K lines and the
# Local_check_rcpt rules are docs/MTA.md's, with this test's paths and port.
# MapInUnsafeDirPath: the test's files live under /tmp, which sendmail rightly calls unsafe.
CF = """\
V10/Berkeley
Dj{hostname}
Cw{hostname} localhost
O QueueDirectory={dir}/queue
O PidFile={dir}/sendmail.pid
O StatusFile={dir}/statistics
O HelpFile={root}/etc/mail/helpfile
O DeliveryMode=queue
O AliasFile=
O DontBlameSendmail=MapInUnsafeDirPath,GroupWritableDirPathSafe,NonRootSafeAddr
O SuperSafe=True
O ServiceSwitchFile={dir}/service.switch
O TempFileMode=0600
T{trusted}
Kdrac btree -o {map}
Kpopgate socket -T<TMPF> inet:{port}@127.0.0.1
Mlocal, P=/bin/true, F=lsDFM, A=true
Mrelay, P=[IPC], F=mDFMuX, A=TCP $h
HReceived: $?sfrom $s $.([${{client_addr}}]) by $j$?r with $r$. id $i; $b
HDate: $a
SLocal_check_rcpt_drac
R$*\t\t$: $&{{client_addr}}
R$+\t\t$: $(drac $1 $: ? $)
R?\t\t$@ ?
R$+\t\t$@ $#OK
SLocal_check_rcpt
R$*\t\t$: $&{{client_addr}}
R$+\t\t$: $(popgate $1 $: ? $)
R?\t\t$@ ?
R$+\t\t$@ $#OK
S0
R$*\t\t$#local $: $1
"""

HOSTNAME = "sendmail.popgate.test"


class Sendmail:
    """The unpacked sendmail with a cf in DIR, run in private namespaces."""

    def __init__(self, directory, map_path, port, trusted):
        self.dir = directory
        os.makedirs(os.path.join(directory, "queue"), exist_ok=True)
        self.cf = os.path.join(directory, "sendmail.cf")
        with open(self.cf, "w") as f:
            f.write(CF.format(hostname=HOSTNAME, dir=directory, root=SENDMAIL_ROOT, map=map_path, port=port,
                              trusted=trusted))
        with open(os.path.join(directory, "service.switch"), "w") as f:
            f.write("hosts files\naliases files\n")
        with open(os.path.join(directory, "hosts"), "w") as f:
            f.write("127.0.0.1 %s localhost\n" % HOSTNAME)
        with open(os.path.join(directory, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        # A wrapper popgate can exec as its sendmail: the same namespaces, then the real binary.
        self.wrapper = os.path.join(directory, "sendmail-wrapper")
        with open(self.wrapper, "w") as f:
            f.write("#!/bin/sh\n%s\n" % self.command('"$@"'))
        os.chmod(self.wrapper, 0o755)
        for p in (directory, os.path.join(directory, "queue")):
            os.chmod(p, 0o755)

    def command(self, args):
        # As root, namespaces of its own; as server.login_user (popgate's protocol child runs the wrapper), a user
        # namespace mapping that user to itself gives it the right to set them up.
        return ("if [ \"$(id -u)\" = 0 ]; then u=; else u=\"--user --map-user=$(id -u) --map-group=$(id -g) "
                "--keep-caps\"; fi; exec unshare $u --uts --mount sh -c 'hostname %s && "
                "mount --bind %s/hosts /etc/hosts && mount --bind %s/resolv.conf /etc/resolv.conf && "
                "exec %s -C %s %s' sendmail %s"
                % (HOSTNAME, self.dir, self.dir, SENDMAIL, self.cf, '"$@"', args))

    def test_mode(self, lines):
        """sendmail -bt with LINES on stdin; its output."""
        r = subprocess.run(["sh", "-c", self.command("-bt")], input="\n".join(lines) + "\n",
                           capture_output=True, text=True, timeout=60)
        return r.stdout + r.stderr

    def lookup(self, name, key):
        """'found VALUE', 'no match' or what else sendmail said, for /map NAME KEY."""
        out = self.test_mode(["/map %s %s" % (name, key)])
        m = re.search(r"map_lookup: %s \(\S+\) (returns (\S+)|no match) \((\d+)\)" % re.escape(name), out)
        if m is None:
            return out.strip()
        if m.group(2) is not None:
            return "found %s" % m.group(2)
        return "no match (%s)" % m.group(3)

    def ruleset(self, client):
        out = self.test_mode([".D{client_addr}%s" % client, "Local_check_rcpt bob@example.net",
                              "Local_check_rcpt_drac bob@example.net"])
        return re.findall(r"Local_check_rcpt(?:_drac)?\s+returns: (.*)", out)


SourcePOP3 = h.SourcePOP3
pop_login = h.pop_login


def wait_for(pred, what, timeout=30):
    return sh.wait_until(pred, timeout=timeout, what=what)


class SendmailMaps(h.TestCase):
    def test_btree_map_and_socketmap(self):
        port = h.free_port()
        with h.Popgated(self, config={"relay": {"timeout": "10m", "allow": "", "sweep_interval": "1s",
                                                "socketmap_listen": "127.0.0.1:%d" % port}},
                        listeners=("pop3",)) as d:
            d.add_user("alice", "secret")
            map_path = os.path.join(d.dir, "state", "dracd")
            d.config["relay"]["export_map"] = map_path
            sm = Sendmail(os.path.join(d.dir, "sendmail"), map_path, port, "root")
            d.start()
            wait_for(lambda: os.path.exists(map_path + ".db"), "the export map")
            self.assertEqual(sm.lookup("drac", CLIENT), "no match (0)")
            # sendmail's socket map reports NOTFOUND as EX_NOTFOUND (68, EX_NOHOST), a miss.
            self.assertEqual(sm.lookup("popgate", CLIENT), "no match (68)")
            self.assertEqual(sm.ruleset(CLIENT), ["?", "?"])
            pop_login(d, CLIENT)
            d.ctl("add", "2001:db8::6", "--ttl", "20m")
            found = sm.lookup("popgate", CLIENT)
            self.assertRegex(found, r"^found \d+$")
            expiry = int(found.split()[1])
            self.assertAlmostEqual(expiry, time.time() + 600, delta=60)
            # The btree map follows within a second or so of the login: wait for it, then the same value.
            self.assertEqual(wait_for(lambda: (lambda v: v if v.startswith("found") else None)(
                sm.lookup("drac", CLIENT)), "the login in the btree map"), found)
            self.assertEqual(sm.ruleset(CLIENT), ["$# OK", "$# OK"])
            self.assertEqual(sm.ruleset("127.0.0.7"), ["?", "?"])
            # sendmail's ${client_addr} for IPv6, as it looks it up (folded to lower case by default).
            v6 = "IPv6:2001:db8:0:0:0:0:0:6"
            self.assertRegex(sm.lookup("popgate", v6), r"^found \d+$")
            self.assertEqual(wait_for(lambda: (lambda v: v if v.startswith("found") else None)(
                sm.lookup("drac", v6)), "the IPv6 entry in the btree map"), sm.lookup("popgate", v6))
            self.assertEqual(sm.ruleset(v6), ["$# OK", "$# OK"])
            # popgate stopped: the socketmap is a temporary failure (EX_TEMPFAIL), the map file stays.
            d.stop()
            self.assertEqual(sm.lookup("popgate", CLIENT), "no match (75)")
            self.assertEqual(sm.lookup("drac", CLIENT), found)
            print("\nsendmail -bt: /map drac and /map popgate %s: no match before the POP login, "
                  "%s after; Local_check_rcpt $# OK" % (CLIENT, found))

    def test_forward_client_info_reaches_sendmail(self):
        # popgate's protocol child runs the wrapper as server.login_user: it needs an unprivileged
        # user namespace.
        probe = subprocess.run(["su", h.login_user(), "-s", "/bin/sh", "-c", "unshare --user --map-user=$(id -u) true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            self.skipTest("no unprivileged user namespaces here: %s" % probe.stderr.strip())
        with h.Popgated(self, config={"relay": {"allow": "127.0.0.0/8"}}, listeners=("smtp",)) as d:
            sm = Sendmail(os.path.join(d.dir, "sendmail"), os.path.join(d.dir, "nomap"), h.free_port(), d.login_user)
            queue = os.path.join(sm.dir, "queue")
            os.chown(queue, d.login_uid, d.login_gid)   # sendmail runs as server.login_user, as popgate's child does
            d.config["smtp"].update({"forward": "sendmail:" + sm.wrapper, "forward_client_info": "yes"})
            d.start()
            s = smtplib.SMTP("127.0.0.1", d.port("smtp"), local_hostname="client7.example", timeout=60,
                             source_address=("127.0.0.7", 0))
            s.sendmail("alice@example.org", ["bob@example.net"],
                       b"Subject: oM\r\nMessage-ID: <om@test>\r\n\r\nhello\r\n")
            s.quit()
            qf = [f for f in os.listdir(queue) if f.startswith("qf")]
            self.assertEqual(len(qf), 1, os.listdir(queue))
            with open(os.path.join(queue, qf[0]), errors="replace") as f:
                text = f.read()
            self.assertRegex(text, r"(?m)^\$rESMTP$", text)
            self.assertRegex(text, r"(?m)^\$sclient7\.example$", text)
            self.assertRegex(text, r"(?m)^H\?\?Received: from client7\.example \(\[127\.0\.0\.7\]\) by "
                                   r"sendmail\.popgate\.test with ESMTP", text)
            # $a stays the date (the message had no Date: header, so sendmail wrote one from $a).
            self.assertRegex(text, r"(?m)^H\?\?Date: \w{3}, \d+ \w{3} \d{4} ", text)
            self.assertNotIn("X-Authentication-Warning", text)
            print("\nsendmail -oM: queued with %s" % re.search(r"(?m)^H\?\?Received: .*", text).group(0))


if __name__ == "__main__":
    h.main()
