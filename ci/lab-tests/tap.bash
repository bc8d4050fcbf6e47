# TAP reporting shared by the lab scripts (ci/lab-tests/*.sh, modes/*.sh through common.bash) and
# ci/package-test; sourced, not run. A script prints its plan (`plan N`, TAP's `1..N`), one
# `ok`/`not ok` line per check and `summary` at its end; run-all.sh compares the lines with the plan
# and lists the skips it allows.

PASS=0
FAIL=0

ok() {
	echo "ok - $*"
	PASS=$((PASS + 1))
}
not_ok() {
	echo "not ok - $*"
	FAIL=$((FAIL + 1))
}
# verdict STATUS DESC: ok when STATUS (a command's exit status) is 0, else not ok.
verdict() {
	if (($1 == 0)); then ok "$2"; else not_ok "$2"; fi
}
# note TEXT: a TAP comment (what was measured, why a check is shaped as it is).
note() { echo "# $*"; }
# show FILE: a failed check's evidence, as comments.
show() { sed 's/^/#   /' "$1" | tail -n 20; }
summary() { echo "$PASS passed, $FAIL failed"; }
# plan N: this script prints N ok/not ok lines; printed as TAP's plan line `1..N`, which run-all.sh
# compares with the lines the script printed (a block of checks skipped without a word fails there).
plan() { echo "1..$1"; }
# skip DESC REASON: a check that cannot run here, as a TAP skip `ok - DESC # SKIP REASON`. It counts
# toward the plan; run-all.sh fails on every skip it does not list with a reason.
skip() { echo "ok - $1 # SKIP $2"; }
# bail_out REASON: a prerequisite failed; later checks cannot run.
bail_out() {
	echo "# bail out: $*"
	summary
	exit 1
}
