#!/bin/bash
# Every C source and header is formatted as .clang-format says (one test).
. "$SLATE_SRCDIR/tests/lib.sh"
cd "$SLATE_SRCDIR" || exit 1
if ! command -v clang-format >/dev/null; then
	skip "clang-format" "clang-format is not installed"
	tap_done
	exit
fi
bad=()
while IFS= read -r f; do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find include lib cmd init tests bench -name '*.[ch]')
if [ ${#bad[@]} -eq 0 ]; then
	ok "all C sources match .clang-format"
else
	fail "C sources not formatted (run: clang-format -i ${bad[*]})"
fi
tap_done
