#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# autogen.sh - generate configure and Makefile.in from the tracked sources.
set -e
cd "$(dirname "$0")"
autoreconf --install --force
