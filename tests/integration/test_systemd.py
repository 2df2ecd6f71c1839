#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_systemd - what systemd sees of popgated under Type=notify: READY=1 once it serves,
RELOADING=1 then READY=1 around a SIGHUP (a good and a broken configuration), STOPPING=1 at
SIGTERM, sent to the NOTIFY_SOCKET datagram socket the test binds (a path and an abstract name),
and the pid file gone after a clean exit.

The real systemd cannot run here as PID 1: test_install checks the unit's Type=notify with
systemd-analyze verify, and this test checks the protocol the unit relies on.
"""

import os
import signal
import socket

import popgate_harness as h

# Generous: a loaded 2-core machine may take long to start the workers; nothing waits this long.
DEADLINE = 60


class Notify:
    """A datagram socket standing in for systemd's notification socket."""

    def __init__(self, d, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "popgate-test-notify-%d-%s" % (os.getpid(), os.path.basename(d.dir))
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.address = os.path.join(d.dir, "notify.sock")
            self.sock.bind(self.address)
            os.chmod(self.address, 0o666)  # the master sends as server.user, as systemd allows
        self.sock.settimeout(DEADLINE)

    def next(self):
        """The next message as a dict of its KEY=value lines."""
        data = self.sock.recv(4096).decode()
        return dict(l.split("=", 1) for l in data.splitlines() if "=" in l)

    def close(self):
        self.sock.close()


class Systemd(h.TestCase):
    def run_states(self, abstract):
        d = h.Popgated(self, listeners=("pop3",))
        n = Notify(d, abstract)
        try:
            d.env = dict(os.environ, NOTIFY_SOCKET=n.address)
            pidfile = d.config["server"]["pid_file"]
            with d:
                d.start(wait=False)
                msg = n.next()
                self.assertEqual(msg.get("READY"), "1", msg)
                self.assertEqual(msg.get("MAINPID"), str(d.proc.pid), msg)
                self.assertIn("ready on", d.log(), "READY=1 comes after the listeners are bound")
                with open(pidfile) as f:
                    self.assertEqual(f.read().strip(), str(d.proc.pid))

                d.reload()
                msg = n.next()
                self.assertEqual(msg.get("RELOADING"), "1", msg)
                self.assertTrue(msg.get("MONOTONIC_USEC", "").isdigit(), msg)
                msg = n.next()
                self.assertEqual(msg.get("READY"), "1", msg)
                d.wait_for_log(r"reloaded ")

                with open(d.conf_path, "a") as f:   # a broken file: the old one stays, READY again
                    f.write("[server]\nno_such_key = 1\n")
                d.proc.send_signal(signal.SIGHUP)
                self.assertEqual(n.next().get("RELOADING"), "1")
                msg = n.next()
                self.assertEqual(msg.get("READY"), "1", msg)
                self.assertIn("refused", msg.get("STATUS", ""), msg)
                d.wait_for_log(r"reload refused")

                d.proc.send_signal(signal.SIGTERM)
                msg = n.next()
                self.assertEqual(msg.get("STOPPING"), "1", msg)
                self.assertEqual(d.proc.wait(DEADLINE), 0, d.log())
                self.assertFalse(os.path.exists(pidfile), "the pid file is removed at a clean exit")
        finally:
            n.close()

    def test_notify_states_on_a_path(self):
        self.run_states(abstract=False)

    def test_notify_states_on_an_abstract_socket(self):
        self.run_states(abstract=True)


if __name__ == "__main__":
    h.main()
