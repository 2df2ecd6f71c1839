#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# run-quick.sh - make check's smoke test of the benchmark: bench/run --quick (skips, 77, without peers).
# bench/run installs nothing in this mode and stops everything it started.
srcdir=${POPGATE_SRCDIR:-$(dirname "$0")/..}
builddir=${POPGATE_BUILDDIR:-.}
exec /usr/bin/python3 "$srcdir/bench/run" --quick --builddir "$builddir"
