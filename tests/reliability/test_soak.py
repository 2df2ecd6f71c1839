# SPDX-License-Identifier: GPL-2.0-or-later
"""test_soak - the 30-second version of soak.py for make check: mixed POP3, SMTP and admin traffic,
no message lost or changed, no growth of memory, descriptors or processes (see soak.py; the
10-minute run is `make soak`, by hand, and its figures are in TESTING.md)."""

import os
import sys

import soak

import popgate_harness as h


class Soak(h.TestCase):
    def test_thirty_seconds(self):
        minutes = float(os.environ.get("REL_SOAK_MINUTES", "0.5"))
        self.assertEqual(soak.main(["--minutes", str(minutes)]), 0, "see the soak: lines above")


if __name__ == "__main__":
    if soak.sh.python_with("aiosmtpd") is None:
        print("SKIP: aiosmtpd is not installed")
        sys.exit(h.SKIP)
    h.main()
