#!/bin/sh
# Same seed, config and scenario: same state_hash.  Another seed: another.
. "$top_srcdir/tests/integration/lib.sh"

hash_of() {
	ddbsim run -c "$CONF" "$SCRIPTS/$1" --seed "$2" --report "$TMP/h.json" -q
	expect_rc 0 "run $1 seed $2"
	json "$TMP/h.json" .state_hash
}

for s in ecommerce.lua flash_sale.lua; do
	a=$(hash_of $s 7)
	b=$(hash_of $s 7)
	c=$(hash_of $s 8)
	[ "$a" = "$b" ] || fail "$s: seed 7 gave $a, then $b"
	[ "$a" != "$c" ] || fail "$s: seeds 7 and 8 both gave $a"
	pass "$s: seed 7 -> $a twice, seed 8 -> $c"
done
