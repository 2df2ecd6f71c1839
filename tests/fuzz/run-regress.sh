#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# run-regress.sh - make check: every seed input through every fuzz harness once; skipped (77)
# when clang's libFuzzer/ASan/UBSan runtime is not installed.
srcdir=${POPGATE_SRCDIR:-.}
builddir=${POPGATE_BUILDDIR:-.}
FUZZ_CC=${FUZZ_CC:-clang} sh "$srcdir/tests/fuzz/run-fuzz.sh" probe || exit 77
# The build tree's own rule builds the harnesses (fuzz.mk needs GNU make). The test driver gives
# no jobserver to a test, so the inner make gets its own -j instead of the outer one's flags.
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
MAKEFLAGS= MFLAGS= exec "${MAKE:-make}" -s --no-print-directory -j"$jobs" -C "$builddir" fuzz-regress
