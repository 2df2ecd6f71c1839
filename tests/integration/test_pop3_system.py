# SPDX-License-Identifier: GPL-2.0-or-later
"""test_pop3_system - a real system user (auth.backend = system) with a Debian-style mail spool: the
session runs as that user, keeps group "mail" for the spool's dotlock, and deletions are applied.
Needs root (useradd); skipped otherwise. The user is removed again whatever happens."""

import grp
import os
import poplib
import pwd
import random
import subprocess
import sys

import popgate_harness as h

if not h.IS_ROOT:
    print("SKIP: needs root to create a system user")
    sys.exit(h.SKIP)
h.need("useradd", "userdel", "chpasswd")


class SystemUser(h.TestCase):
    def make_user(self):
        name = "pgt%06d" % random.randrange(10 ** 6)
        subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name], check=True, capture_output=True)
        self.addCleanup(subprocess.run, ["userdel", name], capture_output=True)
        subprocess.run(["chpasswd"], input=("%s:Sys-pass 1\n" % name).encode(), check=True, capture_output=True)
        return pwd.getpwnam(name)

    def test_spool_mbox_with_mail_group(self):
        pw = self.make_user()
        mail = grp.getgrnam("mail").gr_gid
        msgs = [h.mbox_message(i) for i in range(1, 4)]
        with h.Popgated(self, config={"auth": {"backend": "system"}}) as d:
            spool = os.path.join(d.dir, "spool")
            os.mkdir(spool)
            os.chown(spool, 0, mail)
            os.chmod(spool, 0o2775)  # like /var/mail: only root and group mail may create files
            path = os.path.join(spool, pw.pw_name)
            with open(path, "wb") as f:
                f.write(b"".join(msgs))
            os.chown(path, pw.pw_uid, mail)
            os.chmod(path, 0o660)
            d.config["auth"]["system_mailbox"] = "mbox:%s/%%u" % spool
            d.start()
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=20)
            p.user(pw.pw_name)
            self.assertTrue(p.pass_("Sys-pass 1").startswith(b"+OK 3 messages"))
            pid = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 session=[0-9a-f]{12} ip=\S+ user=%s mailbox open" % pw.pw_name).group(1))
            st = h.proc_status(pid)
            self.assertEqual(st["Uid"], [str(pw.pw_uid)] * 4)
            self.assertEqual(st["Gid"], [str(pw.pw_gid)] * 4)
            self.assertIn(str(mail), st["Groups"])
            self.assertEqual(int(st["CapPrm"][0], 16), 0)
            p.dele(2)
            self.assertEqual(p.quit(), b"+OK popgate signing off (2 messages left)")
            with open(path, "rb") as f:
                self.assertEqual(f.read(), msgs[0] + msgs[2])
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (pw.pw_uid, 0o660))
            self.assertFalse(os.path.exists(path + ".lock"))
            index = os.stat(os.path.join(d.dir, "state", "index", str(pw.pw_uid)))
            self.assertEqual((index.st_uid, index.st_gid), (pw.pw_uid, pw.pw_gid))
            # The system backend refuses a wrong password like any other.
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=20)
            p.user(pw.pw_name)
            with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\]"):
                p.pass_("wrong")
            p.quit()


if __name__ == "__main__":
    h.main()
