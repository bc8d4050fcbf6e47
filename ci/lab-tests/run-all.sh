#!/usr/bin/env bash
# Runs every lab test (ci/lab-tests/*.sh except this file, then the per-forwarding-mode tests in
# ci/lab-tests/modes/*.sh) one after the other, each with its own lab,
# and sums their `N passed, M failed` lines into one closing line of the same form. A test that exits
# non-zero without reporting a failure, or prints no summary, counts as one failure. Each test is
# bounded by LAB_TEST_TIMEOUT seconds (default 600).
set -uo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$(basename "${BASH_SOURCE[0]}")
TIMEOUT=${LAB_TEST_TIMEOUT:-600}
OUT=$(mktemp /tmp/rvs-lab-tests.XXXXXX)
trap 'rm -f "$OUT"' EXIT

passed=0
failed=0
for test in "$DIR"/*.sh "$DIR"/modes/*.sh; do
	name=$(basename "$test")
	[[ $name == "$SELF" ]] && continue
	echo "# === $name"
	rc=0
	timeout --kill-after=10 "$TIMEOUT" bash "$test" 2>&1 | tee "$OUT" || rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$OUT" | tail -n 1)
	if [[ -z $line ]]; then
		echo "not ok - $name printed no summary (exit status $rc)"
		failed=$((failed + 1))
		continue
	fi
	read -r p _ f _ <<<"$line"
	passed=$((passed + p))
	failed=$((failed + f))
	if ((rc != 0 && f == 0)); then
		echo "not ok - $name exited with status $rc although it reported no failure"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
((failed == 0))
