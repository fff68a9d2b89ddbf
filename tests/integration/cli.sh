#!/bin/sh
# The command line: help, version, usage errors (exit 2), plugins listing.
. "$top_srcdir/tests/integration/lib.sh"

ddbsim --help
expect_rc 0 "--help"
expect_out "Usage: ddbsim COMMAND" "--help"
expect_out "drain" "--help lists drain"
ddbsim run --help
expect_rc 0 "run --help"
ddbsim --version
expect_rc 0 "--version"
expect_out "plugin ABI 3" "--version"

ddbsim
expect_rc 2 "no command"
expect_err "no command given" "no command"
ddbsim fly
expect_rc 2 "unknown command"
expect_err "unknown command 'fly'" "unknown command"
ddbsim run --bogus
expect_rc 2 "unknown option"
expect_err "unknown option '--bogus'" "unknown option"
ddbsim run --seed
expect_rc 2 "missing value"
expect_err "needs a value" "missing value"
ddbsim run --seed -4
expect_rc 2 "negative seed"
expect_err "--seed needs a whole number" "negative seed"
ddbsim run --seed 99999999999999999999999
expect_rc 2 "seed overflow"
ddbsim run --batch 0
expect_rc 2 "batch 0"
ddbsim run a.lua b.lua
expect_rc 2 "two scenarios"
expect_err "unexpected argument 'b.lua'" "two scenarios"
pass "usage errors exit 2 with a message"

ddbsim plugins -c "$CONF"
expect_rc 0 "plugins"
grep -E '^sqlite +[^ ]+ +3 +storage +regional,central,documents ' "$TMP/out" >/dev/null ||
	{ cat "$TMP/out"; fail "plugins: sqlite line"; }
grep -A1 -E '^sqlite ' "$TMP/out" | grep -qx '  settings: path, synchronous, busy_timeout_ms' ||
	{ cat "$TMP/out"; fail "plugins: sqlite's settings"; }
grep -E '^memory +[^ ]+ +3 +transport ' "$TMP/out" >/dev/null || { cat "$TMP/out"; fail "plugins: memory line"; }
pass "plugins lists sqlite and memory with version, ABI, kind and roles"

# check on a data directory no run has used: a clear error.
ddbsim check -c "$CONF" -d "$TMP/nothing-here"
expect_rc 2 "check on empty dir"
expect_err "nothing-here/nodes" "check names the missing file"
pass "check on an unused data directory names what is missing"
