# SPDX-License-Identifier: GPL-2.0-or-later
"""test_debian_package - build the Debian package from a copy of the sources and check what an ISP installs.

Builds with dpkg-buildpackage -us -uc -b in a temporary copy of the tracked (and untracked, not
ignored) files, so the source tree gets nothing; runs lintian --fail-on error; checks the files,
the conffiles, the unit and its TLS start condition, the packaged configuration and the
maintainer scripts (also with checkbashisms when devscripts is installed). The build is
DEB_BUILD_OPTIONS=nocheck: its unit tests are the ones this suite runs anyway. With
POPGATE_TEST_INSTALL=1 (run-tests sets it only when no popgate package, user, group,
/etc/popgate or /var/lib/popgate exists) it also installs the package with dpkg -i, checks the
users (popgate and popgate-login), the directories, the enabled unit, popgated -t and popgatectl on the installed files,
purges it and checks that nothing of popgate is left.

Skipped (77) when not root or when dpkg-buildpackage, lintian, dpkg-deb or git is missing, in a
tree without debian/ or .git, and in the sanitizer build (the package is built from the sources
alone, so the plain build's run covers it). POPGATE_KEEP=1 keeps the temporary directory.
"""

import configparser
import glob
import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import popgate_harness as h

SRCDIR = os.path.abspath(h.SRCDIR)
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUILD_TIMEOUT = 1800  # generous: two loaded cores; the build itself is about a minute of CPU
UNIT = "/lib/systemd/system/popgated.service"
DROPIN = "/lib/systemd/system/popgated.service.d/debian-tls.conf"
CONF = "/etc/popgate/popgate.conf"
WANTS = "/etc/systemd/system/multi-user.target.wants/popgated.service"
ACCOUNT_FILES = ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow")


def skip(why):
    print("SKIP: %s" % why)
    sys.exit(h.SKIP)


def check_can_run():
    if not h.IS_ROOT:
        skip("building and installing a package needs root")
    missing = [p for p in ("dpkg-buildpackage", "lintian", "dpkg-deb", "git")
               if shutil.which(p, path=SBIN_PATH) is None]
    if missing:
        skip("not installed: %s (tools/install-deps --test)" % ", ".join(missing))
    if not os.path.exists(os.path.join(SRCDIR, "debian", "control")):
        skip("no debian/ in %s" % SRCDIR)
    if subprocess.run(["git", "-C", SRCDIR, "rev-parse", "--git-dir"], capture_output=True).returncode != 0:
        skip("%s is not a git checkout: the copy is made from git ls-files" % SRCDIR)
    if h.SANITIZED:
        skip("sanitizer build: the package is built from the sources alone; the plain build's run covers it")


def clean_env(home):
    """The environment of a package build from a shell: nothing from make check (MAKEFLAGS would
    hand the outer make's jobserver to debian/rules, ASAN_OPTIONS and PYTHONPATH do not belong)."""
    return {"PATH": SBIN_PATH, "HOME": home, "LANG": "C.UTF-8", "TMPDIR": home,
            "DEB_BUILD_OPTIONS": "nocheck parallel=2", "DEB_BUILD_PROFILES": "nocheck"}


def run(argv, env=None, check=True, timeout=300, **kw):
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\n%s\n%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def tree_entries():
    """What a build in the source tree would add: files at its top, in debian/ (debian/build,
    debian/popgate, debian/files...) and the .deb, .changes and .buildinfo next to it. Names only,
    so editing a file meanwhile changes nothing."""
    parent = os.path.dirname(SRCDIR)
    return (sorted(os.listdir(SRCDIR)), sorted(os.listdir(os.path.join(SRCDIR, "debian"))),
            sorted(n for n in os.listdir(parent) if n.startswith("popgate_")))


def copy_sources(dest):
    """The tracked files and the untracked ones git does not ignore, as they are in the worktree."""
    names = run(["git", "-C", SRCDIR, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]).stdout
    for name in filter(None, names.split("\0")):
        src = os.path.join(SRCDIR, name)
        if not os.path.lexists(src):  # deleted in the worktree, not yet in the index
            continue
        os.makedirs(os.path.join(dest, os.path.dirname(name)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, name), follow_symlinks=False)


def read_conf(path):
    """The keys set (not commented out) in a popgate.conf, as {"section.key": value}."""
    cp = configparser.ConfigParser(comment_prefixes=(";", "#"), interpolation=None, strict=True)
    with open(path) as f:
        cp.read_file(f)
    return {"%s.%s" % (s, k): v.strip() for s in cp.sections() for k, v in cp.items(s)}


def drop_in_conditions(path):
    with open(path) as f:
        return [line.split("=", 1)[1].strip() for line in f if line.startswith("ConditionPathExists=")]


class Built:
    """The package built once for every test of this program."""
    tmp = deb = changes = root = ctl = None
    seconds = 0.0
    entries_before = entries_after = None


def setUpModule():
    Built.tmp = tempfile.mkdtemp(prefix="popgate-deb.")
    src = os.path.join(Built.tmp, "popgate")
    copy_sources(src)
    Built.entries_before = tree_entries()
    t0 = time.monotonic()
    p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], env=clean_env(Built.tmp), check=False,
            timeout=BUILD_TIMEOUT, cwd=src)
    Built.seconds = time.monotonic() - t0
    print("dpkg-buildpackage -us -uc -b took %.0f s" % Built.seconds)
    if p.returncode != 0:
        raise AssertionError("dpkg-buildpackage exited %d\n%s\n%s"
                             % (p.returncode, p.stdout[-6000:], p.stderr[-6000:]))
    Built.entries_after = tree_entries()
    debs = glob.glob(os.path.join(Built.tmp, "popgate_*.deb"))
    assert len(debs) == 1, debs
    Built.deb = debs[0]
    Built.changes = glob.glob(os.path.join(Built.tmp, "popgate_*.changes"))[0]
    Built.root = os.path.join(Built.tmp, "root")
    Built.ctl = os.path.join(Built.tmp, "control")
    run(["dpkg-deb", "-x", Built.deb, Built.root])
    run(["dpkg-deb", "-e", Built.deb, Built.ctl])


def tearDownModule():
    if Built.tmp and os.environ.get("POPGATE_KEEP") != "1":
        shutil.rmtree(Built.tmp, ignore_errors=True)
    elif Built.tmp:
        print("kept %s" % Built.tmp)


class Package(unittest.TestCase):
    def test_build_leaves_the_source_tree_alone(self):
        self.assertEqual(Built.entries_after, Built.entries_before)

    def test_lintian_passes_at_error_level(self):
        p = run(["lintian", "--fail-on", "error", Built.changes], env=clean_env(Built.tmp), check=False)
        print(p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_contents(self):
        listing = run(["dpkg-deb", "-c", Built.deb]).stdout
        files = {}
        for line in listing.splitlines():
            mode, owner, _size, _day, _time, path = line.split(None, 5)
            files[path.split(" -> ")[0].lstrip(".")] = (mode, owner)
        for path, mode in {
                "/usr/sbin/popgated": "-rwxr-xr-x",
                "/usr/sbin/popgatectl": "-rwxr-xr-x",
                "/usr/libexec/popgate/popgate-admind": "-rwxr-xr-x",
                "/usr/share/man/man5/popgate.conf.5.gz": "-rw-r--r--",
                "/usr/share/man/man8/popgated.8.gz": "-rw-r--r--",
                "/usr/share/man/man8/popgatectl.8.gz": "-rw-r--r--",
                UNIT: "-rw-r--r--",
                DROPIN: "-rw-r--r--",
                CONF: "-rw-r--r--",
                "/usr/lib/sysusers.d/popgate.conf": "-rw-r--r--",
                "/usr/lib/tmpfiles.d/popgate.conf": "-rw-r--r--",
                "/usr/share/popgate/www/index.html": "-rw-r--r--",
                "/usr/share/popgate/grafana/popgate-dashboard.json": "-rw-r--r--",
                "/usr/share/popgate/grafana/popgate-alert-rules.json": "-rw-r--r--",
                "/usr/share/doc/popgate/copyright": "-rw-r--r--",
                "/usr/share/doc/popgate/README.Debian": "-rw-r--r--",
                "/usr/share/doc/popgate/NEWS.gz": "-rw-r--r--"}.items():
            self.assertIn(path, files)
            self.assertEqual(files[path][0], mode, path)
        # Built without root: everything belongs to root; what popgate owns is made at install.
        self.assertEqual({o for _m, o in files.values()}, {"root/root"})
        made_at_install = [p for p in files if p.startswith(("/var/", "/run/", "/usr/local/"))]
        self.assertEqual(made_at_install, [])

    def test_the_conffiles(self):
        # The configuration, and the fail2ban filter in fail2ban's filter.d (inert until a jail
        # names it; an admin who edits it keeps the edit, as with any conffile).
        with open(os.path.join(Built.ctl, "conffiles")) as f:
            self.assertEqual(sorted(f.read().split()), ["/etc/fail2ban/filter.d/popgate.conf", CONF])

    def test_packaged_configuration(self):
        conf = read_conf(Built.root + CONF)
        self.assertEqual(conf, {
            "tls.cert_file": "/etc/popgate/tls/cert.pem",
            "tls.key_file": "/etc/popgate/tls/key.pem",
            "smtp.listen": "",
            "smtp.listen_tls": "",
            "relay.export_map": "/var/lib/popgate/drac"})
        # Everything else keeps the documented default: POP3 on 110 and 995, nothing on 25.
        with open(Built.root + CONF) as f:
            text = f.read()
        self.assertIn("\n;listen = *:110\n", text)
        self.assertIn("\n;listen_tls = *:995\n", text)
        self.assertNotRegex(text, r"(?m)^[^;].*:(25|465|587)\b")

    def test_unit_starts_only_with_the_tls_files_the_configuration_names(self):
        with open(Built.root + UNIT) as f:
            unit = f.read()
        self.assertNotRegex(unit, r"@[a-z_]+@")
        self.assertIn("ExecStart=/usr/sbin/popgated -F -f /etc/popgate/popgate.conf\n", unit)
        self.assertIn("WantedBy=multi-user.target", unit)
        conf = read_conf(Built.root + CONF)
        self.assertEqual(drop_in_conditions(Built.root + DROPIN), [conf["tls.cert_file"], conf["tls.key_file"]])

    def test_sysusers_and_tmpfiles(self):
        with open(Built.root + "/usr/lib/sysusers.d/popgate.conf") as f:
            users = [line.split() for line in f if line.strip() and not line.startswith("#")]
        self.assertEqual(users[0][:3], ["u", "popgate", "-"])
        self.assertEqual(users[0][-1], "/var/lib/popgate")
        # The protocol children's user (server.login_user's default), which owns nothing.
        self.assertEqual(users[1][:3], ["u", "popgate-login", "-"])
        self.assertEqual(users[1][-1], "/nonexistent")
        with open(Built.root + "/usr/lib/tmpfiles.d/popgate.conf") as f:
            dirs = [line.split() for line in f if line.strip() and not line.startswith("#")]
        self.assertIn(["d", "/var/lib/popgate", "0755", "popgate", "popgate", "-"], dirs)
        self.assertIn(["d", "/var/lib/popgate/relay", "0750", "popgate", "popgate", "-"], dirs)
        self.assertIn(["d", "/var/lib/popgate/login", "2750", "popgate", "popgate-login", "-"], dirs)

    def test_maintainer_scripts(self):
        scripts = {}
        for name in ("postinst", "prerm", "postrm"):
            with open(os.path.join(Built.ctl, name)) as f:
                scripts[name] = f.read()
        for name, text in scripts.items():
            mode = os.stat(os.path.join(Built.ctl, name)).st_mode
            self.assertTrue(mode & stat.S_IXUSR, name)
            self.assertTrue(text.startswith("#!/bin/sh\n"), name)
            self.assertIn("set -e", text, name)
            run(["sh", "-n", os.path.join(Built.ctl, name)])
        if shutil.which("checkbashisms", path=SBIN_PATH):
            run(["checkbashisms"] + [os.path.join(Built.ctl, n) for n in scripts])
        post = scripts["postinst"]
        # The user before the directories it owns, both before the unit is enabled.
        order = [post.index(s) for s in ("systemd-sysusers", "systemd-tmpfiles", "deb-systemd-helper enable")]
        self.assertEqual(order, sorted(order))
        # Without systemd as PID 1 (a chroot, a container) nothing is started.
        self.assertRegex(post, r"if \[ -d /run/systemd/system \]; then\n(.*\n)*?\s*deb-systemd-invoke")
        self.assertIn('rm -rf /var/lib/popgate', scripts["postrm"])
        self.assertIn('deb-systemd-helper purge', scripts["postrm"])
        with open(os.path.join(Built.ctl, "control")) as f:
            control = f.read()
        self.assertIn("systemd | systemd-standalone-sysusers | systemd-sysusers", control)


def pkg_status():
    p = run(["dpkg-query", "-W", "-f=${db:Status-Status}", "popgate"], check=False)
    return p.stdout.strip() if p.returncode == 0 else ""


def exists_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def exists_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


USERS = ("popgate", "popgate-login")  # what the package makes (debian/popgate.sysusers)


def leftovers(ids):
    """Every trace of the popgate users and groups (IDS: their (uid, gid) pairs), and of the unit's
    enablement, on this machine. Only popgate's own entries: other tests may add and remove users
    meanwhile."""
    found = []
    uids, gids = {str(u) for u, _ in ids}, {str(g) for _, g in ids}
    for path in ACCOUNT_FILES:
        with open(path) as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if fields[0] in USERS or (path == "/etc/passwd" and fields[2] in uids) \
                        or (path == "/etc/group" and fields[2] in gids):
                    found.append("%s: %s" % (path, line.strip()))
    for top in ("/etc/systemd/system", "/var/lib/systemd"):
        found += [os.path.join(d, n) for d, ds, fs in os.walk(top) for n in ds + fs if "popgated" in n]
    return found


@unittest.skipUnless(os.environ.get("POPGATE_TEST_INSTALL") == "1",
                     "POPGATE_TEST_INSTALL=1 not set (run-tests sets it on a machine without popgate)")
class InstallAndPurge(unittest.TestCase):
    def setUp(self):
        reasons = []
        if pkg_status() not in ("", "not-installed"):
            reasons.append("dpkg knows popgate (%s)" % pkg_status())
        reasons += ["%s exists" % w for w, e in [("user " + u, exists_user(u)) for u in USERS] +
                    [("group " + u, exists_group(u)) for u in USERS] +
                    [("/etc/popgate", os.path.lexists("/etc/popgate")),
                     ("/var/lib/popgate", os.path.lexists("/var/lib/popgate"))]
                    if e]
        reasons += ["not installed: %s" % p for p in ("systemd-sysusers", "systemd-analyze", "openssl")
                    if shutil.which(p, path=SBIN_PATH) is None]
        if reasons:
            self.skipTest("not installing here: " + ", ".join(reasons))
        self.addCleanup(self.leave_as_found)

    def leave_as_found(self):
        """Purge whatever a failed assertion left installed, the test's own certificate, and the
        user and group a broken purge left (setUp saw neither)."""
        if pkg_status() not in ("", "not-installed"):
            run(["dpkg", "--purge", "popgate"], check=False)
        for u in USERS:
            if exists_user(u):
                run(["userdel", u], check=False)
            if exists_group(u):
                run(["groupdel", u], check=False)
        shutil.rmtree("/var/lib/popgate", ignore_errors=True)
        shutil.rmtree("/etc/popgate/tls", ignore_errors=True)
        if os.path.isdir("/etc/popgate") and not os.listdir("/etc/popgate"):
            os.rmdir("/etc/popgate")

    def popgated_t(self):
        return run(["/usr/sbin/popgated", "-t"], check=False)

    def test_install_then_purge(self):
        p = run(["dpkg", "-i", Built.deb], check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(pkg_status(), "installed")

        user = pwd.getpwnam("popgate")
        self.assertLess(user.pw_uid, 1000)
        self.assertEqual(user.pw_dir, "/var/lib/popgate")
        self.assertIn(user.pw_shell, ("/usr/sbin/nologin", "/sbin/nologin"))
        self.assertEqual(grp.getgrgid(user.pw_gid).gr_name, "popgate")
        # The protocol children's user: a system user with a group of its own, no home, no shell.
        login = pwd.getpwnam("popgate-login")
        self.assertLess(login.pw_uid, 1000)
        self.assertNotEqual(login.pw_uid, user.pw_uid)
        self.assertEqual(grp.getgrgid(login.pw_gid).gr_name, "popgate-login")
        self.assertIn(login.pw_shell, ("/usr/sbin/nologin", "/sbin/nologin"))
        for path, mode, gid in (("/var/lib/popgate", 0o755, user.pw_gid), ("/var/lib/popgate/relay", 0o750, user.pw_gid),
                                ("/var/lib/popgate/login", 0o2750, login.pw_gid)):
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                             (user.pw_uid, gid, mode), path)
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "popgate"]).stdout
        self.assertIn(CONF, conffiles)
        self.assertEqual(os.path.realpath(WANTS), os.path.realpath(UNIT))  # enabled
        self.assertTrue(run(["man", "-w", "popgated"]).stdout.strip().endswith("popgated.8.gz"))
        run(["systemd-analyze", "verify", "popgated.service"])

        # Not started until the TLS files exist: the unit's condition fails, and so does -t.
        self.assertNotEqual(run(["systemd-analyze", "condition", "--unit=popgated.service"], check=False).returncode, 0)
        p = self.popgated_t()
        self.assertEqual(p.returncode, 78, p.stdout + p.stderr)
        self.assertIn("tls.", p.stderr)
        os.makedirs("/etc/popgate/tls")
        h.make_cert("/etc/popgate/tls")
        os.chmod("/etc/popgate/tls/key.pem", 0o600)
        run(["systemd-analyze", "condition", "--unit=popgated.service"])
        p = self.popgated_t()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("login_user", p.stderr, "the packaged users need no warning")
        self.assertIn("listen = *:110", p.stdout)
        self.assertIn("listen_tls = *:995", p.stdout)

        # popgatectl as root on the fresh install keeps the database popgated's and writes the map.
        run(["/usr/sbin/popgatectl", "add", "192.0.2.7", "--user", "alice"])
        self.assertIn("192.0.2.7", run(["/usr/sbin/popgatectl", "list"]).stdout)
        st = os.stat("/var/lib/popgate/drac.db")
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (user.pw_uid, 0o644))
        for name in os.listdir("/var/lib/popgate/relay"):
            self.assertEqual(os.stat(os.path.join("/var/lib/popgate/relay", name)).st_uid, user.pw_uid, name)

        p = run(["dpkg", "--purge", "popgate"], check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(pkg_status(), ("", "not-installed"))
        for u in USERS:
            self.assertFalse(exists_user(u), "purge left the user " + u)
            self.assertFalse(exists_group(u), "purge left the group " + u)
        for path in ("/var/lib/popgate", CONF, UNIT, DROPIN, os.path.dirname(DROPIN), WANTS,
                     "/usr/sbin/popgated", "/usr/lib/sysusers.d/popgate.conf"):
            self.assertFalse(os.path.lexists(path), path)
        # The administrator's certificate is not the package's to remove.
        self.assertTrue(os.path.exists("/etc/popgate/tls/cert.pem"))
        self.assertEqual(leftovers([(user.pw_uid, user.pw_gid), (login.pw_uid, login.pw_gid)]), [])


if __name__ == "__main__":
    check_can_run()
    h.main()
