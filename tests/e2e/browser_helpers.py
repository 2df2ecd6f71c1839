# SPDX-License-Identifier: GPL-2.0-or-later
"""browser_helpers - what the browser tests in tests/e2e share on the Python side.

    import browser_helpers as bh
    modules = bh.need_browser()          # skips (77) without chromium, node or playwright-core
    rc, out, errors = bh.run_node("walk.cjs", bh.node_env(d, modules, profile, ADMIN_USER="helen"),
                                  handlers={"pop_login": fn})

Playwright is the npm package playwright-core, driving Debian's /usr/bin/chromium (no browser
download); tests/e2e/package.json pins it. It is looked for in $POPGATE_E2E_NODE_MODULES,
$POPGATE_BUILDDIR/tests/e2e/node_modules and tests/e2e/node_modules; if absent it is installed into
the build directory with npm. Without them a test is skipped (exit 77), except under CI (CI set),
where that is a failure.

run_node runs one of the .cjs scripts (browser_lib.cjs is their side of this) and answers the
lines it prints as `ASK {"action": NAME, ...}` by calling handlers[NAME](request) and writing its
JSON answer back on the script's stdin: so a walk-through in the browser can have real POP3 and
SMTP clients act on popgated between two clicks, and check the server's answers here, in Python.
A handler that raises AssertionError fails the step: the script is told and stops.
"""

import fcntl
import json
import os
import shutil
import smtplib
import subprocess
import sys
import threading

import popgate_harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = os.environ.get("POPGATE_CHROMIUM", "/usr/bin/chromium")
# A deadline for a hung browser, not a measure of anything: a walk-through takes well under this.
NODE_DEADLINE = 900


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
    prefix = os.path.join(h.BUILDDIR, "tests", "e2e")
    os.makedirs(prefix, exist_ok=True)
    # Both browser tests may start at once (make -j check): one installs, the other waits for it.
    with open(os.path.join(prefix, ".npm-install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for c in candidates:
            if c and os.path.isfile(os.path.join(c, "playwright-core", "package.json")):
                return c
        return npm_install(prefix)


def npm_install(prefix):
    """Install the pinned playwright-core into PREFIX/node_modules with npm."""
    if shutil.which("npm") is None:
        unavailable("npm is not installed, and playwright-core was not found")
    with open(os.path.join(HERE, "package.json")) as f:
        version = json.load(f)["dependencies"]["playwright-core"]
    print("installing playwright-core@%s into %s" % (version, prefix))
    r = subprocess.run(["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund",
                        "--no-package-lock", "--no-save", "playwright-core@" + version],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        unavailable("npm install playwright-core failed: %s" % r.stderr[-500:])
    return os.path.join(prefix, "node_modules")


def need_node():
    """Skip unless node is installed."""
    if shutil.which("node") is None:
        unavailable("node is not installed")


def need_browser():
    """Skip unless chromium, node and playwright-core are there; the node_modules directory."""
    if not os.access(CHROMIUM, os.X_OK):
        unavailable("%s not installed (apt-get install chromium)" % CHROMIUM)
    need_node()
    return playwright_modules()


def artifacts():
    """$POPGATE_BUILDDIR/tests/artifacts, where the screenshots are kept."""
    path = os.path.join(h.BUILDDIR, "tests", "artifacts")
    os.makedirs(path, exist_ok=True)
    return path


def node_env(d, modules, profile, **more):
    """The environment of a browser script against D's admin page."""
    return dict(os.environ, NODE_PATH=modules, CHROMIUM=CHROMIUM,
                ADMIN_URL="http://127.0.0.1:%d/" % d.port("admin"), ARTIFACTS=artifacts(),
                PROFILE_DIR=profile, **more)


def _answer(handlers, line, errors):
    """The JSON answer to one ASK line; a failed check is recorded in ERRORS and sent back."""
    try:
        req = json.loads(line[4:])
        reply = handlers[req["action"]](req) or {}
    except Exception as e:  # the script must hear of any failure, or it would wait for ever
        errors.append("%s: %s" % (type(e).__name__, e))
        reply = {"error": errors[-1]}
    return json.dumps(reply) + "\n"


def run_node(script, env, handlers=None):
    """Run SCRIPT (in tests/e2e) with node, answering its ASK lines; (exit status, stdout, errors)."""
    p = subprocess.Popen(["node", os.path.join(HERE, script)], env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, bufsize=1)
    watchdog = threading.Timer(NODE_DEADLINE, p.kill)
    watchdog.start()
    out, errors = [], []
    try:
        for line in p.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            out.append(line)
            if line.startswith("ASK "):
                p.stdin.write(_answer(handlers or {}, line, errors))
                p.stdin.flush()
        p.stdin.close()
        rc = p.wait()
    finally:
        watchdog.cancel()
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    return rc, "".join(out), errors


def relay_rcpt(port, source="127.0.0.1"):
    """The reply code and text to a relayed recipient from SOURCE (2xx allowed, 5xx refused)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=20, source_address=(source, 0)) as s:
        s.ehlo("client.test")
        code, msg = s.mail("sender@client.test")
        assert code == 250, (code, msg)
        code, msg = s.rcpt("someone@elsewhere.example")
        try:
            s.rset()
        except smtplib.SMTPException:
            pass
        return code, msg.decode(errors="replace") if isinstance(msg, bytes) else msg
