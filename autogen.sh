#!/bin/sh
# autogen.sh - generate configure and Makefile.in from the tracked sources.
set -e
cd "$(dirname "$0")"
autoreconf --install --force
