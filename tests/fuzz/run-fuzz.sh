#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# run-fuzz.sh - probe for clang's fuzzer runtime, fuzz each harness for a while, or replay the seeds.
#
#   run-fuzz.sh probe            exit 0 when $FUZZ_CC can build a libFuzzer+ASan+UBSan program
#   run-fuzz.sh run SECONDS      fuzz every harness for SECONDS on a copy of its corpus,
#                                FUZZ_JOBS (default 1) harnesses at a time
#   run-fuzz.sh regress          run every harness once over each of its seed inputs
#
# Run from the build directory (make does). FUZZ_SRCDIR is the source tree, FUZZ_HARNESSES the
# harness names; binaries are in tests/fuzz/bin, scratch copies and logs in tests/fuzz/work.
# Any crash, leak, sanitizer report, broken invariant or timeout fails the run.

set -u
srcdir=${FUZZ_SRCDIR:-.}
cc=${FUZZ_CC:-clang}
harnesses=${FUZZ_HARNESSES:-}
bindir=tests/fuzz/bin
workdir=tests/fuzz/work

# max_len - the longest input worth generating for harness $1 (its protocol's line and size limits).
max_len() {
	case $1 in
	fuzz_pop3) echo 4096 ;;          # pipelined commands; SASL lines are at most 4096
	fuzz_smtp) echo 16384 ;;         # AUTH lines reach 12288; DATA lines 1000
	fuzz_smtp_data) echo 8192 ;;     # several 998-octet lines and the too-long case
	fuzz_smtp_addr) echo 2048 ;;     # MAIL lines are at most 1100
	fuzz_mbox) echo 16384 ;;
	fuzz_config) echo 8192 ;;
	fuzz_admin) echo 10240 ;;        # request bodies are at most 8192
	fuzz_socketmap) echo 4096 ;;     # several requests of up to 512 octets, pipelined
	fuzz_proxy) echo 1200 ;;         # a header is at most 16 + 1024 bytes
	*) echo 4096 ;;
	esac
}

probe() {
	dir=$(mktemp -d "${TMPDIR:-/tmp}/popgate-fuzz-probe.XXXXXX") || return 1
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return n > 0 && d[0] == 0; }' >"$dir/p.c"
	if "$cc" -fsanitize=fuzzer,address,undefined "$dir/p.c" -o "$dir/p" >"$dir/log" 2>&1 &&
		"$dir/p" -runs=1 >>"$dir/log" 2>&1; then
		rm -rf "$dir"
		return 0
	fi
	echo "fuzz: $cc cannot build libFuzzer programs with ASan and UBSan (apt-get install clang libclang-rt-14-dev):" >&2
	sed 's/^/  /' "$dir/log" | head -5 >&2
	rm -rf "$dir"
	return 1
}

# scratch - a fresh directory for a harness's files (FUZZ_TMPDIR), on tmpfs when there is one: a
# harness stopped by a finding cannot remove its own, so this script does.
scratch() {
	base=${TMPDIR:-/tmp}
	test -w /dev/shm && base=/dev/shm
	mktemp -d "$base/popgate-fuzz-run.XXXXXX"
}

# seeds - the seed files of harness $1, one per line.
seeds() {
	find "$srcdir/tests/fuzz/corpus/$1" -type f | LC_ALL=C sort
}

# dict_opt - libFuzzer's -dict option for harness $1, if it has a dictionary.
dict_opt() {
	if test -f "$srcdir/tests/fuzz/dict/$1.dict"; then
		echo "-dict=$srcdir/tests/fuzz/dict/$1.dict"
	fi
}

# report_failure - what went wrong in harness $1, from its log $2.
report_failure() {
	echo "$1: FAILED (log: $2)"
	grep -E '^(==[0-9]+==ERROR|==fuzz==|SUMMARY|.*runtime error|artifact_prefix|Test unit written|.*Running:)' "$2" |
		head -n 20 | sed 's/^/  /'
	grep -E '^    #[0-9]+ ' "$2" | head -n 12 | sed 's/^/  /'
}

# run_one - fuzz harness $1 for $2 seconds; its summary line goes to $workdir/$1/result.
run_one() {
	h=$1
	w=$workdir/$h
	rm -rf "$w"
	mkdir -p "$w/corpus"
	seeds "$h" | while read -r f; do cp "$f" "$w/corpus/"; done
	chmod -R u+w "$w/corpus"
	n0=$(find "$w/corpus" -type f | wc -l)
	start=$(date +%s)
	tmp=$(scratch) || return 1
	# shellcheck disable=SC2046
	FUZZ_TMPDIR=$tmp "$bindir/$h" -max_total_time="$2" -max_len="$(max_len "$h")" -timeout=20 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$w/" $(dict_opt "$h") "$w/corpus" \
		>"$w/log" 2>&1
	rc=$?
	rm -rf "$tmp"
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -n 1)
	n1=$(find "$w/corpus" -type f | wc -l)
	test "$took" -gt 0 || took=1
	if test "$rc" -eq 0; then
		printf '%-15s %4s s %10s executions %7s/s  corpus %s -> %s  ok\n' "$h" "$took" "${runs:-?}" \
			"$((${runs:-0} / took))" "$n0" "$n1" >"$w/result"
	else
		{
			printf '%-15s %4s s %10s executions  CRASH\n' "$h" "$took" "${runs:-?}"
			report_failure "$h" "$w/log"
		} >"$w/result"
	fi
}

# run - every harness for $1 seconds, $FUZZ_JOBS (default 1) of them at a time.
run() {
	jobs=${FUZZ_JOBS:-1}
	total_start=$(date +%s)
	g=0
	while test "$g" -lt "$jobs"; do
		(
			i=0
			for h in $harnesses; do
				test $((i % jobs)) -eq "$g" && run_one "$h" "$1"
				i=$((i + 1))
			done
		) &
		g=$((g + 1))
	done
	wait
	failed=0
	for h in $harnesses; do
		if test -f "$workdir/$h/result"; then
			cat "$workdir/$h/result"
			grep -q CRASH "$workdir/$h/result" && failed=1
		else
			echo "$h: did not run"
			failed=1
		fi
	done
	echo "fuzz: $(($(date +%s) - total_start)) s in all; inputs found are in $workdir/*/corpus"
	return $failed
}

regress() {
	failed=0
	for h in $harnesses; do
		w=$workdir/$h
		mkdir -p "$w"
		n=$(seeds "$h" | wc -l)
		tmp=$(scratch) || return 1
		if seeds "$h" | FUZZ_TMPDIR=$tmp xargs "$bindir/$h" -timeout=20 -rss_limit_mb=2048 \
			-artifact_prefix="$w/" >"$w/regress.log" 2>&1; then
			printf '%-15s %4s seed inputs ok\n' "$h" "$n"
		else
			report_failure "$h" "$w/regress.log"
			failed=1
		fi
		rm -rf "$tmp"
	done
	return $failed
}

case ${1:-} in
probe) probe ;;
run) run "${2:-30}" ;;
regress) regress ;;
*) echo "usage: $0 probe | run SECONDS | regress" >&2; exit 2 ;;
esac
