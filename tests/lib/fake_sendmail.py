#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fake_sendmail - a sendmail(8) stand-in for the SMTP hand-off tests.

popgated runs it as `sendmail -i -f SENDER -- RCPT...` with the message on stdin. Each run is
recorded in $FAKE_SENDMAIL_DIR as N.json (argv, environment, exit status) and N.msg (stdin as
read, bytes), N counting from 1. The exit status is the content of $FAKE_SENDMAIL_DIR/exit_status
when that file exists (so a test can change it while the daemon runs), else $FAKE_SENDMAIL_EXIT,
else 0. The file `behaviour` in the same directory may say "sleep N" (hang before reading),
"hold" (create `held`, then wait before reading until the test creates `release`, at most
10 minutes), "no-read" (exit without reading stdin) or "stderr TEXT" (complain on stderr).
Only the standard library is used: it runs as the unprivileged session user under /usr/bin/python3.
"""

import json
import os
import sys
import time


def record_path(directory):
    """The first free N in DIRECTORY, claimed atomically (sessions run in parallel)."""
    n = 1
    while True:
        path = os.path.join(directory, "%d.json" % n)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            return n, fd
        except FileExistsError:
            n += 1


def read_file(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def hold(directory):
    """Stand still, as a next hop that has not answered yet, until the test says release."""
    with open(os.path.join(directory, "held"), "w") as f:
        f.write("%d\n" % os.getpid())
    deadline = time.monotonic() + 600
    while not os.path.exists(os.path.join(directory, "release")) and time.monotonic() < deadline:
        time.sleep(0.05)


def main():
    directory = os.environ.get("FAKE_SENDMAIL_DIR")
    if not directory:
        sys.stderr.write("fake_sendmail: FAKE_SENDMAIL_DIR is not set\n")
        return 75
    status = int(read_file(os.path.join(directory, "exit_status"), os.environ.get("FAKE_SENDMAIL_EXIT", "0")))
    behaviour = read_file(os.path.join(directory, "behaviour"), "") or ""
    if behaviour.startswith("sleep "):
        time.sleep(float(behaviour.split()[1]))
    elif behaviour == "hold":
        hold(directory)
    data = b"" if behaviour == "no-read" else sys.stdin.buffer.read()
    n, fd = record_path(directory)
    with open(os.path.join(directory, "%d.msg" % n), "wb") as f:
        f.write(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_SENDMAIL_")}
    with os.fdopen(fd, "w") as f:
        json.dump({"argv": sys.argv[1:], "env": env, "status": status}, f)
    if behaviour.startswith("stderr "):
        sys.stderr.write(behaviour[7:] + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
