# SPDX-License-Identifier: GPL-2.0-or-later
"""test_relaydb_daemon - popgatectl and the relay sweeper while popgated runs, kill -9 and restart."""

import json
import os
import signal
import subprocess
import time

import popgate_harness as h


def entries(d):
    return {e["ip"]: e for e in json.loads(d.ctl("list", "--json").stdout)}


def wait_until(pred, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def sweeper_pid(master):
    for pid in subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                              text=True).stdout.split():
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            if b"sweeper" in f.read():
                return int(pid)
    return None


class RelayWithDaemon(h.TestCase):
    def test_ctl_and_sweeper_while_running(self):
        with h.Popgated(self, config={"relay": {"sweep_interval": "1s", "allow": ""}}) as d:
            state = d.config["server"]["state_dir"]
            d.config["relay"]["export_map"] = os.path.join(state, "dracd")
            d.start()
            d.ctl("add", "198.51.100.5", "--user", "alice")
            d.ctl("add", "198.51.100.6", "--ttl", "2s")
            self.assertIn("authorized", d.ctl("check", "198.51.100.5").stdout)
            self.assertEqual(d.ctl("check", "198.51.100.99", check=False).returncode, 1)
            self.assertEqual(sorted(entries(d)), ["198.51.100.5", "198.51.100.6"])
            # The sweeper removes the expired entry by itself.
            self.assertTrue(wait_until(lambda: "198.51.100.6" not in entries(d)),
                            "expired entry never swept")
            # popgatectl ran as root, yet every file stays usable by the daemon's user.
            relay_dir = d.config["relay"]["db_dir"]
            owners = {n: os.stat(os.path.join(relay_dir, n)).st_uid for n in os.listdir(relay_dir)}
            self.assertEqual(set(owners.values()), {d.uid}, owners)

            # kill -9 the sweeper mid-run: the database stays usable for everybody else.
            pid = sweeper_pid(d.proc.pid)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
            d.ctl("add", "198.51.100.7")
            self.assertIn("authorized", d.ctl("check", "198.51.100.7").stdout)
            d.stop()
            # Restart: recovery at start, and the committed entries are all there.
            d.start()
            self.assertIn("198.51.100.5", entries(d))
            self.assertIn("authorized", d.ctl("check", "198.51.100.7").stdout)


if __name__ == "__main__":
    h.main()
