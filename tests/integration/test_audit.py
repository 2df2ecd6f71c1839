#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_audit - who did what (issue 18.4): every admin action on the page (login, logout, add,
revoke, block, unblock) and through popgatectl (add, del, flush, block, unblock) is kept in the
audit trail with the admin's name, served by GET /api/audit (newest first), shown among the page's
events (GET /api/stats admin_events) and kept over a restart.
"""

import admin_helpers as ah
import popgate_harness as h

USERS = {"helen": ("helen-pw-1", "admin"), "vic": ("vic-pw-2", "viewer")}


class Audit(h.TestCase):
    def test_every_action_with_its_admin(self):
        with h.Popgated(self, listeners=("pop3", "admin")) as d:
            ah.setup_admin(d, USERS)
            d.start()
            c = ah.AdminClient(d)
            self.assertEqual(c.get("/api/audit").status, 401)
            c.login("helen", "helen-pw-1")
            self.assertEqual(c.post("/api/relays", {"ip": "192.0.2.7", "ttl": "1h", "user": "walk-in"}).status, 201)
            self.assertEqual(c.delete("/api/relays/192.0.2.7").status, 200)
            self.assertEqual(c.post("/api/blocks", {"user": "alice", "note": "ticket 12"}).status, 201)
            self.assertEqual(c.delete("/api/blocks/alice").status, 200)
            d.ctl("add", "198.51.100.4", "--user", "bob")
            d.ctl("del", "198.51.100.4")
            d.ctl("block", "carol", "--for", "1h")
            d.ctl("unblock", "carol")
            d.ctl("flush")
            c.post("/api/logout")

            v = ah.AdminClient(d)
            v.login("vic", "vic-pw-2")   # a viewer may read the trail
            entries = v.get("/api/audit").json["entries"]
            got = [(e["actor"], e["action"], e["detail"]) for e in reversed(entries)]
            ctl = [a for a, _, _ in got if a.startswith("popgatectl")]
            self.assertTrue(ctl and all(a == ctl[0] for a in ctl), got)
            self.assertRegex(ctl[0], r"^popgatectl \(.+\)$")
            self.assertEqual(got, [
                ("helen", "login", "logged in as admin"),
                ("helen", "add", "authorized 192.0.2.7 for 3600s, user walk-in"),
                ("helen", "revoke", "revoked 192.0.2.7"),
                ("helen", "block", "blocked alice until lifted, 0 authorizations revoked: ticket 12"),
                ("helen", "unblock", "unblocked alice"),
                (ctl[0], "add", "authorized 198.51.100.4 for 1800s, user bob"),
                (ctl[0], "revoke", "revoked 198.51.100.4"),
                (got[7][0], "block", got[7][2]),
                (ctl[0], "unblock", "unblocked carol"),
                (ctl[0], "flush", "removed every authorization (0)"),
                ("helen", "logout", "logged out"),
                ("vic", "login", "logged in as viewer"),
            ])
            self.assertRegex(got[7][2], r"^blocked carol until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
            self.assertTrue(all(e["ip"] == "127.0.0.1" for e in entries if e["actor"] in ("helen", "vic")))
            self.assertTrue(all(e["ip"] == "" for e in entries if e["actor"].startswith("popgatectl")))
            times = [e["time"] for e in entries]
            self.assertEqual(times, sorted(times, reverse=True))
            # The page's events show them with who did them.
            acts = v.get("/api/stats").json["admin_events"]
            self.assertEqual(acts[0]["action"], "login")
            self.assertEqual(acts[0]["actor"], "vic")
            # Kept, not only logged: a restart finds them all.
            d.stop()
            d.start()
            v = ah.AdminClient(d)
            v.login("vic", "vic-pw-2")
            self.assertEqual(len(v.get("/api/audit").json["entries"]), len(entries) + 1)


if __name__ == "__main__":
    h.main()
