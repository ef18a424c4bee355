# SPDX-License-Identifier: MIT
# TAP helpers for the shell tests (compat, vm). Source it, call ok/fail/check,
# end with tap_done. Every test prints exactly one "ok" / "not ok" line.
#
#   . "$SLATE_SRCDIR/tests/lib.sh"
#   check "format matches veritysetup" cmp a b
#   tap_done
set -u

: "${SLATE_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${SLATE:=$SLATE_SRCDIR/build/cmd/slate/slate}"
export SLATE_SRCDIR SLATE

tap_n=0
tap_failed=0

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
fail() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP ${2:-}"; }
diag() { echo "# $*"; }

# check DESCRIPTION COMMAND...: ok when the command succeeds; its output is shown on failure.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		fail "$desc"
		printf '%s\n' "$out" | sed 's/^/# /' | tail -n 20
	fi
}

# refuse DESCRIPTION EXPECTED-EXIT PATTERN COMMAND...: ok when the command exits with
# EXPECTED-EXIT and its stderr matches the extended regex PATTERN.
refuse() {
	local desc=$1 want=$2 pat=$3 err rc
	shift 3
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -eq "$want" ] && printf '%s' "$err" | grep -Eq -- "$pat"; then
		ok "$desc"
	else
		fail "$desc (exit $rc, wanted $want; stderr: ${err:0:300})"
	fi
}

# A scratch directory removed when the script exits: tmp=$(tap_tmpdir). The
# directories live under one root made here, in the script's own shell (a trap
# set inside $(...) would fire as soon as the substitution ends).
tap_root=$(mktemp -d "${TMPDIR:-/tmp}/slate-test.XXXXXX")
# shellcheck disable=SC2064
trap "rm -rf '$tap_root'" EXIT
tap_tmpdir() {
	mktemp -d "$tap_root/tmp.XXXXXX"
}

tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
