# SPDX-License-Identifier: GPL-2.0-or-later
"""test_admin_browser - the admin page end to end, in Debian's headless Chromium driven by Playwright.

A real POP3 login (python poplib) against popgated creates a relay authorization for 127.0.0.1;
SMTP then relays for it. The browser logs in to the admin page, sees that authorization, revokes
it with the page's button; afterwards SMTP refuses to relay for 127.0.0.1 again. Screenshots are
kept in $POPGATE_BUILDDIR/tests/artifacts/ (admin.png, admin-phone.png, admin-revoked.png).

Needs: chromium (Debian package), node, and playwright-core from npm (see browser_helpers.py,
which this test shares with test_admin_helpdesk.py). Without them the test is skipped (exit 77),
except under CI (CI set), where that is a failure.
"""

import os
import poplib
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admin_helpers as ah  # noqa: E402
import browser_helpers as bh  # noqa: E402
import popgate_harness as h  # noqa: E402


class AdminBrowser(h.TestCase):
    def test_login_see_revoke_refused(self):
        modules = bh.need_browser()
        artifacts = bh.artifacts()
        # 127.0.0.1 must not be on the permanent allow list, or relaying would never be refused.
        cfg = {"relay": {"allow": "", "timeout": "30m"}, "pop3": {"plaintext_auth": "always"}}
        with h.Popgated(self, config=cfg) as d, tempfile.TemporaryDirectory(prefix="popgate-chromium-") as profile:
            d.add_user("alice", "alice-pop-pw", kind="mbox", messages=[h.mbox_message(1)])
            ah.setup_admin(d, {"helen": ("helen-admin-pw", "admin")})
            d.start()

            code, msg = bh.relay_rcpt(d.port("smtp"))
            self.assertGreaterEqual(code, 500, "relaying allowed before any POP3 login: %s" % msg)

            pop = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=20)
            pop.user("alice")
            pop.pass_("alice-pop-pw")
            self.assertEqual(pop.stat()[0], 1)
            pop.quit()
            code, msg = bh.relay_rcpt(d.port("smtp"))
            self.assertEqual(code, 250, "relaying refused right after the POP3 login: %s" % msg)

            env = bh.node_env(d, modules, profile, ADMIN_USER="helen", ADMIN_PASS="helen-admin-pw",
                              TARGET_IP="127.0.0.1", TARGET_USER="alice")
            rc, out, _ = bh.run_node("admin_browser.cjs", env)
            self.assertEqual(rc, 0, "the browser part failed")
            self.assertIn("E2E PASSED", out)
            self.assertTrue(os.path.getsize(os.path.join(artifacts, "admin.png")) > 10000)

            code, msg = bh.relay_rcpt(d.port("smtp"))
            self.assertGreaterEqual(code, 500, "relaying still allowed after the revocation: %s" % msg)
            self.assertEqual(ah.ctl(d, "check", "127.0.0.1", check=False).returncode, 1)
            self.assertRegex(d.log(), r"user=helen relay revoked: ip=127\.0\.0\.1")


if __name__ == "__main__":
    h.main()
