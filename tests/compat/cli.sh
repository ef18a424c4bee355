#!/bin/bash
# The command-line conventions every slate command keeps (issue 2): --help at every
# level with exit 0 and a usage line that names the command once, --version, exit 2
# with a pointer to --help on bad usage.
. "$SLATE_SRCDIR/tests/lib.sh"

commands_of() { # the commands listed by "slate [GROUP] --help"
	"$SLATE" "$@" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'
}

check "slate --version prints the version" bash -c '"$SLATE" --version | grep -Eq "^slate [0-9]+\.[0-9]+\.[0-9]+"'
refuse "slate without a command is a usage error" 2 "missing command" "$SLATE"
refuse "an unknown command is a usage error" 2 "unknown command 'frobnicate'.*" "$SLATE" frobnicate

leaves=()
for top in $(commands_of); do
	if "$SLATE" "$top" --help | grep -q '^Commands:'; then
		check "slate $top --help lists its commands" "$SLATE" "$top" --help
		refuse "slate $top with an unknown command is a usage error" 2 "Try 'slate $top --help'" \
			"$SLATE" "$top" frobnicate
		for sub in $(commands_of "$top"); do
			leaves+=("$top $sub")
		done
	else
		leaves+=("$top")
	fi
done

for leaf in "${leaves[@]}"; do
	# shellcheck disable=SC2086
	usage=$("$SLATE" $leaf --help 2>&1 | head -n 1)
	last=${leaf##* }
	# shellcheck disable=SC2086
	if "$SLATE" $leaf --help >/dev/null 2>&1 && [[ $usage == "Usage: slate $leaf "* ]] &&
		[[ $usage != "Usage: slate $leaf $last "* ]]; then
		ok "slate $leaf --help: '$usage'"
	else
		fail "slate $leaf --help: usage line '$usage'"
	fi
	# shellcheck disable=SC2086
	refuse "slate $leaf --no-such-option is a usage error" 2 "Try 'slate $leaf --help'" \
		"$SLATE" $leaf --no-such-option
done
tap_done
