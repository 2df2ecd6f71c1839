# SPDX-License-Identifier: GPL-2.0-or-later
"""test_install - `make install DESTDIR=...` from the build tree: real paths in every installed file,
a systemd unit that systemd-analyze verify accepts, and programs that hardening-check passes."""

import json
import os
import re
import shutil
import subprocess
import tempfile

import popgate_harness as h

BUILD = os.environ.get("POPGATE_BUILDDIR") or os.getcwd()
PROGRAMS = ("sbindir", "popgated"), ("sbindir", "popgatectl"), ("pkglibexecdir", "popgate-admind")
PLACEHOLDER = re.compile(rb"@[A-Za-z_]+@")
# systemd-analyze security's overall exposure for the unit as shipped (systemd 252: 3.3; lower is
# better, 10 is an unsandboxed root service). A change that loosens the sandbox fails here.
MAX_EXPOSURE = 3.3


def make_env():
    """The environment for a make of our own: not the jobserver of the make running the tests."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def make_vars(*names):
    """Values of make variables in the build tree, as make expands them."""
    rule = "popgate-print-vars:\n" + "".join("\t@echo '%s=$(%s)'\n" % (n, n) for n in names)
    r = subprocess.run(["make", "-s", "--no-print-directory", "-C", BUILD, "-f", "Makefile", "-f", "-",
                        "popgate-print-vars"], input=rule, capture_output=True, text=True, env=make_env(),
                       timeout=120)
    if r.returncode != 0:
        raise AssertionError("make: %s" % r.stderr)
    return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)



def without_debug_info(path):
    """PATH's bytes; a program's without its DWARF sections, whose binary data can spell
    "@n@" by chance (a variable named n): a configure placeholder would be in its strings."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"\x7fELF"):
        return data
    with tempfile.TemporaryDirectory() as tmp:
        stripped = os.path.join(tmp, "stripped")
        subprocess.run(["objcopy", "--strip-debug", path, stripped], check=True)
        with open(stripped, "rb") as f:
            return f.read()

class Install(h.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dest = tempfile.mkdtemp(prefix="popgate-install-")
        r = subprocess.run(["make", "-s", "--no-print-directory", "-C", BUILD, "install", "DESTDIR=" + cls.dest],
                           capture_output=True, text=True, env=make_env(), timeout=600)
        if r.returncode != 0:
            raise AssertionError("make install failed:\n%s%s" % (r.stdout, r.stderr))
        cls.dirs = make_vars("sbindir", "bindir", "pkglibexecdir", "sysconfdir", "systemdunitdir", "mandir", "pkgdatadir",
                             "SANITIZER_CFLAGS", "CC")

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("POPGATE_KEEP"):
            shutil.rmtree(cls.dest, ignore_errors=True)

    def staged(self, path):
        return self.dest + path

    def test_no_placeholder_is_left_in_any_installed_file(self):
        files = []
        for top, _, names in os.walk(self.dest):
            for n in names:
                p = os.path.join(top, n)
                files.append(p)
                m = PLACEHOLDER.search(without_debug_info(p))
                self.assertIsNone(m, "%s still holds %r" % (p, m and m.group()))
        self.assertIn(self.staged(self.dirs["systemdunitdir"] + "/popgated.service"), files)

    def test_grafana_dashboard_and_alert_rules_installed(self):
        for name in ("popgate-dashboard.json", "popgate-alert-rules.json"):
            with open(self.staged(self.dirs["pkgdatadir"] + "/grafana/" + name)) as f:
                installed = json.load(f)
            with open(os.path.join(h.SRCDIR, "etc", "grafana", name)) as f:
                self.assertEqual(installed, json.load(f), name)

    def test_unit_names_the_installed_programs_and_config(self):
        with open(self.staged(self.dirs["systemdunitdir"] + "/popgated.service")) as f:
            unit = f.read()
        conf = self.dirs["sysconfdir"] + "/popgate/popgate.conf"
        self.assertIn("ExecStart=%s/popgated -F -f %s\n" % (self.dirs["sbindir"], conf), unit)
        self.assertIn("ExecStartPre=%s/popgated -t -f %s\n" % (self.dirs["sbindir"], conf), unit)
        self.assertTrue(os.access(self.staged(self.dirs["sbindir"] + "/popgated"), os.X_OK))
        self.assertTrue(os.path.isfile(self.staged(conf)))

    def unit_copy(self):
        """A copy of the installed unit pointing into DESTDIR, where systemd-analyze finds the programs."""
        with open(self.staged(self.dirs["systemdunitdir"] + "/popgated.service")) as f:
            unit = f.read()
        for key in ("sbindir", "sysconfdir"):
            unit = unit.replace(self.dirs[key] + "/", self.staged(self.dirs[key]) + "/")
        copy_dir = tempfile.mkdtemp(prefix="popgate-unit-")
        self.addCleanup(shutil.rmtree, copy_dir, True)
        copy = os.path.join(copy_dir, "popgated.service")
        with open(copy, "w") as f:
            f.write(unit)
        return copy, unit

    def test_systemd_analyze_verify_accepts_the_unit(self):
        # verify wants ExecStart's program at its path: a copy of the unit pointing into DESTDIR.
        # The installed file itself keeps the real paths (the test above).
        copy, unit = self.unit_copy()
        # Documentation=man:... is checked here against DESTDIR, not by running man(1).
        for page in re.findall(r"man:([\w.-]+)\((\d)\)", unit):
            self.assertTrue(os.path.isfile(self.staged("%s/man%s/%s.%s" % (self.dirs["mandir"], page[1], page[0],
                                                                         page[1]))), page)
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", copy], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "", r.stderr)

    def test_unit_is_type_notify_with_its_runtime_directory(self):
        # systemd cannot run here as PID 1: verify checks the unit, test_systemd the protocol.
        _, unit = self.unit_copy()
        for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "RuntimeDirectory=popgate"):
            self.assertIn("\n%s\n" % line, unit)
        # sendmail is setgid on Debian: no NoNewPrivileges, and no ProtectHome (Maildir in ~).
        self.assertNotRegex(unit, r"\n(NoNewPrivileges|ProtectHome)=")

    def test_systemd_analyze_security_exposure(self):
        copy, _ = self.unit_copy()
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", copy],
                           capture_output=True, text=True, timeout=120)
        m = re.search(r"Overall exposure level for popgated\.service: (\d+\.\d+)", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        print("systemd-analyze security: exposure %s (at most %.1f)" % (m.group(1), MAX_EXPOSURE))
        self.assertLessEqual(float(m.group(1)), MAX_EXPOSURE, r.stdout)

    def cet_possible(self):
        """Whether this toolchain can mark a program IBT/SHSTK (Debian 12's crt*.o are not marked)."""
        tmp = tempfile.mkdtemp(prefix="popgate-cet-")
        self.addCleanup(shutil.rmtree, tmp, True)
        src, exe = os.path.join(tmp, "t.c"), os.path.join(tmp, "t")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        cc = self.dirs["CC"].split() or ["cc"]
        if subprocess.run(cc + ["-fcf-protection", "-o", exe, src], capture_output=True).returncode != 0:
            return False
        notes = subprocess.run(["readelf", "-n", exe], capture_output=True, text=True).stdout
        return "IBT, SHSTK" in notes

    def test_hardening_check_passes_on_the_installed_programs(self):
        args = ["hardening-check"]
        if self.dirs["SANITIZER_CFLAGS"]:
            args.append("--nofortify")  # left out on purpose: _FORTIFY_SOURCE bypasses ASan
        if not self.cet_possible():
            # The C start files lack the marking, so the linker drops it; check the code instead.
            args.append("--nocfprotection")
            for var, prog in PROGRAMS:
                dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", self.staged(self.dirs[var] + "/" + prog)],
                                     capture_output=True, text=True).stdout
                self.assertGreater(dis.count("endbr64"), 100, "%s: not built with -fcf-protection" % prog)
        progs = [self.staged(self.dirs[var] + "/" + prog) for var, prog in PROGRAMS]
        r = subprocess.run(args + progs, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for name in ("Position Independent Executable: yes", "Stack protected: yes", "Read-only relocations: yes",
                     "Immediate binding: yes"):
            self.assertEqual(r.stdout.count(name), len(progs), r.stdout)


if __name__ == "__main__":
    h.need("systemd-analyze", "hardening-check", "readelf", "objdump")
    h.main()
