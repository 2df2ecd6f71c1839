# SPDX-License-Identifier: GPL-2.0-or-later
"""test_admin_browser - the admin page end to end, in Debian's headless Chromium driven by Playwright.

A real POP3 login (python poplib) against popgated creates a relay authorization for 127.0.0.1;
SMTP then relays for it. The browser logs in to the admin page, sees that authorization, revokes
it with the page's button; afterwards SMTP refuses to relay for 127.0.0.1 again. Screenshots are
kept in $POPGATE_BUILDDIR/tests/artifacts/ (admin.png, admin-phone.png, admin-revoked.png).

Needs: chromium (Debian package), node, and playwright-core from npm: tests/e2e/package.json pins
it. It is looked for in $POPGATE_E2E_NODE_MODULES, $POPGATE_BUILDDIR/tests/e2e/node_modules and
tests/e2e/node_modules; if absent it is installed into the build directory with npm. Without
them the test is skipped (exit 77), except under CI (CI set), where that is a failure.
"""

import json
import os
import poplib
import shutil
import smtplib
import subprocess
import sys
import tempfile

import admin_helpers as ah
import popgate_harness as h

HERE = os.path.join(h.SRCDIR, "tests", "e2e")
CHROMIUM = os.environ.get("POPGATE_CHROMIUM", "/usr/bin/chromium")


def unavailable(why):
    """Skip, or fail when CI promised the tools are there."""
    if os.environ.get("CI"):
        print("FAIL: %s (CI must install it: tools/install-deps --test, npm)" % why)
        sys.exit(99)
    print("SKIP: %s" % why)
    sys.exit(h.SKIP)


def playwright_modules():
    """A node_modules directory holding playwright-core, installing it into the build dir if needed."""
    candidates = [os.environ.get("POPGATE_E2E_NODE_MODULES", ""),
                  os.path.join(h.BUILDDIR, "tests", "e2e", "node_modules"),
                  os.path.join(HERE, "node_modules")]
    for c in candidates:
        if c and os.path.isfile(os.path.join(c, "playwright-core", "package.json")):
            return c
    if shutil.which("npm") is None:
        unavailable("npm is not installed, and playwright-core was not found")
    with open(os.path.join(HERE, "package.json")) as f:
        version = json.load(f)["dependencies"]["playwright-core"]
    prefix = os.path.join(h.BUILDDIR, "tests", "e2e")
    os.makedirs(prefix, exist_ok=True)
    print("installing playwright-core@%s into %s" % (version, prefix))
    r = subprocess.run(["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund",
                        "--no-package-lock", "--no-save", "playwright-core@" + version],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        unavailable("npm install playwright-core failed: %s" % r.stderr[-500:])
    return os.path.join(prefix, "node_modules")


def relay_rcpt(port):
    """The reply code to a relayed recipient from 127.0.0.1 (2xx allowed, 5xx refused)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo("client.test")
        code, msg = s.mail("sender@client.test")
        assert code == 250, (code, msg)
        code, msg = s.rcpt("someone@elsewhere.example")
        try:
            s.rset()
        except smtplib.SMTPException:
            pass
        return code, msg


class AdminBrowser(h.TestCase):
    def test_login_see_revoke_refused(self):
        if not os.access(CHROMIUM, os.X_OK):
            unavailable("%s not installed (apt-get install chromium)" % CHROMIUM)
        if shutil.which("node") is None:
            unavailable("node is not installed")
        modules = playwright_modules()
        artifacts = os.path.join(h.BUILDDIR, "tests", "artifacts")
        os.makedirs(artifacts, exist_ok=True)
        # 127.0.0.1 must not be on the permanent allow list, or relaying would never be refused.
        cfg = {"relay": {"allow": "", "timeout": "30m"}, "pop3": {"plaintext_auth": "always"}}
        with h.Popgated(self, config=cfg) as d, tempfile.TemporaryDirectory(prefix="popgate-chromium-") as profile:
            d.add_user("alice", "alice-pop-pw", kind="mbox", messages=[h.mbox_message(1)])
            ah.setup_admin(d, {"helen": ("helen-admin-pw", "admin")})
            d.start()

            code, msg = relay_rcpt(d.port("smtp"))
            self.assertGreaterEqual(code, 500, "relaying allowed before any POP3 login: %s" % msg)

            pop = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=20)
            pop.user("alice")
            pop.pass_("alice-pop-pw")
            self.assertEqual(pop.stat()[0], 1)
            pop.quit()
            code, msg = relay_rcpt(d.port("smtp"))
            self.assertEqual(code, 250, "relaying refused right after the POP3 login: %s" % msg)

            env = dict(os.environ, NODE_PATH=modules, CHROMIUM=CHROMIUM,
                       ADMIN_URL="http://127.0.0.1:%d/" % d.port("admin"),
                       ADMIN_USER="helen", ADMIN_PASS="helen-admin-pw",
                       TARGET_IP="127.0.0.1", TARGET_USER="alice",
                       ARTIFACTS=artifacts, PROFILE_DIR=profile)
            r = subprocess.run(["node", os.path.join(HERE, "admin_browser.cjs")], env=env,
                               capture_output=True, text=True, timeout=300)
            sys.stdout.write(r.stdout)
            sys.stderr.write(r.stderr)
            self.assertEqual(r.returncode, 0, "the browser part failed")
            self.assertIn("E2E PASSED", r.stdout)
            self.assertTrue(os.path.getsize(os.path.join(artifacts, "admin.png")) > 10000)

            code, msg = relay_rcpt(d.port("smtp"))
            self.assertGreaterEqual(code, 500, "relaying still allowed after the revocation: %s" % msg)
            self.assertEqual(ah.ctl(d, "check", "127.0.0.1", check=False).returncode, 1)
            self.assertRegex(d.log(), r"user=helen relay revoked: ip=127\.0\.0\.1")


if __name__ == "__main__":
    h.main()
