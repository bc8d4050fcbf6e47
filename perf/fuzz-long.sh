#!/usr/bin/env bash
# The long fuzz run issue 14 asks for: the `pipeline` fuzz target (the whole sans-IO pipeline,
# docs/fuzzing.md) to FUZZ_RUNS executions, 10^8 by default, on a quiet machine, with the result
# written down. Not for CI (hours of one core); ci/fuzz-smoke is CI's bounded run.
#
#   perf/fuzz-long.sh            # refuses on a busy machine; builds, runs, prints the result
#   perf/fuzz-long.sh --record   # the same, then appends the result to docs/fuzzing.md
#
# Knobs (environment): FUZZ_RUNS (100000000), FUZZ_MAX_HOURS (12: libFuzzer stops there whatever
# the count), FUZZ_MAX_LOAD (1.0: the 1-minute load average above which it refuses to start;
# FUZZ_FORCE=1 starts anyway), FUZZ_NICE (0).
#
# The build is ci/fuzz-smoke's own (`ci/fuzz-smoke pipeline 1`: stable toolchain, libFuzzer
# through libfuzzer-sys, a one-second run from the committed corpus). The run grows a corpus of
# its own in perf/out/fuzz-long/pipeline (seeded from fuzz/corpus/pipeline, kept between runs: a
# second start carries on from what the first found; the committed corpus is never written), logs
# to perf/out/fuzz-long/pipeline-DATE.log, and a finding lands in fuzz/artifacts/pipeline-long-*
# (libFuzzer then stops, and this script exits non-zero naming it).
set -euo pipefail
cd "$(dirname "$0")/.."

record=0
case "${1:-}" in
--record) record=1 ;;
"") ;;
*)
	echo "usage: perf/fuzz-long.sh [--record]" >&2
	exit 2
	;;
esac
runs=${FUZZ_RUNS:-100000000}
hours=${FUZZ_MAX_HOURS:-12}
max_load=${FUZZ_MAX_LOAD:-1.0}

load=$(cut -d' ' -f1 /proc/loadavg)
if [[ ${FUZZ_FORCE:-0} != 1 ]] && awk -v l="$load" -v m="$max_load" 'BEGIN { exit !(l > m) }'; then
	echo "fuzz-long: load average $load is above $max_load: this run wants a quiet core for hours" >&2
	echo "fuzz-long: wait for a quiet machine, or FUZZ_FORCE=1 (then say so when recording)" >&2
	exit 1
fi

ci/fuzz-smoke pipeline 1
triple=$(rustc -vV | sed -n 's/^host: //p')
bin=fuzz/target/$triple/release/pipeline
out=perf/out/fuzz-long
work=$out/pipeline
mkdir -p "$work" fuzz/artifacts
if [[ -z $(ls -A "$work") ]]; then cp -r fuzz/corpus/pipeline/. "$work/"; fi
start_units=$(find "$work" -type f | wc -l)
log=$out/pipeline-$(date -u +%Y%m%dT%H%M%SZ).log
started=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git rev-parse --short HEAD)
echo "fuzz-long: pipeline to $runs executions (at most $hours h) from $start_units inputs; log $log"

t0=$SECONDS
status=0
nice -n "${FUZZ_NICE:-0}" "$bin" "$work" -runs="$runs" -max_total_time=$((hours * 3600)) \
	-max_len=4096 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -print_pcs=0 \
	-artifact_prefix=fuzz/artifacts/pipeline-long- >"$log" 2>&1 || status=$?
took=$((SECONDS - t0))

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
rss=$(stat peak_rss_mb)
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | awk '{ print $2 }')
ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | awk '{ print $2 }')
corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" | sed 's/corp: //')
finding=$(grep -oE 'fuzz/artifacts/pipeline-long-[^ ]+' "$log" | head -n 1 || true)
if ((status == 0)); then
	verdict="**No crash, no panic, no table over its capacity.**"
else
	verdict="**Finding** (libFuzzer status $status): \`${finding:-see $log}\`; reproduce with \`$bin ${finding:-ARTIFACT}\`."
fi
load_end=$(cut -d' ' -f1 /proc/loadavg)
stanza="Long run of \`pipeline\` by \`perf/fuzz-long.sh\` ($started, commit $commit, $(nproc) CPUs, load
average $load at the start and $load_end at the end$([[ ${FUZZ_FORCE:-0} == 1 ]] && echo ", started with FUZZ_FORCE=1")): ${execs:-?} executions in
$((took / 3600)) h $((took % 3600 / 60)) min (${rate:-?}/s), coverage ${cov:-?} edges and ${ft:-?} features, a corpus
of ${corp:-?} inputs (from $start_units), peak RSS ${rss:-?} MB. $verdict"
echo
echo "$stanza"
if ((record)); then
	printf '\n%s\n' "$stanza" >>docs/fuzzing.md
	echo
	echo "fuzz-long: appended to docs/fuzzing.md"
fi
exit "$status"
