# SPDX-License-Identifier: GPL-2.0-or-later
"""pg_cluster - a private PostgreSQL cluster for a test: Debian's initdb and pg_ctl in a scratch
directory, run as an unprivileged user (postgres refuses root), listening on 127.0.0.1 at a port
from free_port and on a unix socket in the scratch directory. Trust authentication: only the test
itself can reach it."""

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import popgate_harness as h

SKIP = 77


def pg_bindir():
    """The newest installed server's bin directory, or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(dirs[-1]) if dirs else None


def need_postgresql():
    """Skip (exit 77) when the PostgreSQL server or psql is not installed, or we cannot switch users."""
    if pg_bindir() is None or shutil.which("psql") is None:
        print("SKIP: PostgreSQL (initdb, pg_ctl, psql) not installed: apt-get install postgresql")
        sys.exit(SKIP)
    if h.IS_ROOT and shutil.which("runuser") is None:
        print("SKIP: runuser not installed")
        sys.exit(SKIP)


class PgCluster:
    """initdb at construction; start(), stop(), psql(); a context manager that removes it all."""

    def __init__(self, dbname="popgate"):
        self.bin = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="popgate-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.logfile = os.path.join(self.dir, "postgres.log")
        self.port = h.free_port()
        self.dbname = dbname
        # As root, the cluster belongs to nobody: postgres will not run as root.
        self.owner = "nobody" if h.IS_ROOT else pwd.getpwuid(os.geteuid()).pw_name
        os.makedirs(self.sock)
        if h.IS_ROOT:
            pw = pwd.getpwnam(self.owner)
            for p in (self.dir, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        self._as_owner([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "popgate",
                        "--auth=trust", "--locale=C", "-E", "UTF8", "--no-sync"])
        self.running = False

    def _as_owner(self, argv, check=True):
        if h.IS_ROOT:
            argv = ["runuser", "-u", self.owner, "--"] + argv
        r = subprocess.run(argv, capture_output=True, text=True, cwd=self.dir)
        if check and r.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s" % (argv, r.returncode, r.stdout, r.stderr))
        return r

    def conninfo(self):
        """The libpq connection string popgated gets (TCP on loopback)."""
        return "host=127.0.0.1 port=%d dbname=%s user=popgate" % (self.port, self.dbname)

    def start(self):
        """Start and wait (pg_ctl -w) until it accepts connections; the first time, make the database."""
        opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (self.port, self.sock)
        self._as_owner([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.logfile,
                        "-o", opts, "-w", "-t", "120", "start"])
        self.running = True
        exists = self.psql("SELECT 1 FROM pg_database WHERE datname = '%s'" % self.dbname, db="postgres")
        if exists != "1":
            self.psql("CREATE DATABASE %s" % self.dbname, db="postgres")

    def stop(self):
        """Stop it (fast: clients are disconnected) and wait until it has."""
        if self.running:
            self._as_owner([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast", "-w",
                            "-t", "120", "stop"])
        self.running = False

    def psql(self, sql, db=None):
        """Run SQL with psql over the unix socket; its unaligned, tuples-only output."""
        r = subprocess.run(["psql", "-X", "-q", "-At", "-h", self.sock, "-p", str(self.port), "-U", "popgate",
                            "-d", db or self.dbname, "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError("psql %r failed: %s" % (sql, r.stderr))
        return r.stdout.strip()

    def log(self):
        try:
            with open(self.logfile) as f:
                return f.read()
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        finally:
            if exc_type is not None:
                sys.stderr.write("---- postgres log ----\n%s\n" % self.log())
            if os.environ.get("POPGATE_KEEP"):
                sys.stderr.write("kept %s\n" % self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
        return False
