#!/bin/sh
# kill -9 of `ddbsim run` at random moments; after each, `ddbsim drain`
# must bring the center to exactly the orders the regions accepted: nothing
# lost, nothing twice (the drain's checks compare them row by row).
# KILL_ROUNDS (default 20) sets how many times.
. "$top_srcdir/tests/integration/lib.sh"

rounds=${KILL_ROUNDS:-20}
scenario="$top_srcdir/tests/integration/data/kill.lua"

# How long a whole run takes here, to spread the kill points over it.
start=$(date +%s%N)
ddbsim run -c "$CONF" "$scenario" -q
expect_rc 0 "uninterrupted run"
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "a whole run takes ${full_ms} ms"

i=1
mid_run=0
in_setup=0
while [ "$i" -le "$rounds" ]; do
	r16=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	delay_ms=$((20 + r16 * full_ms / 65536))
	kill_run "$CONF" "$scenario" "$i" "$delay_ms"
	if ! drain_killed "$CONF" "$i" "$delay_ms"; then
		in_setup=$((in_setup + 1))
		i=$((i + 1))
		continue
	fi
	at_center=$(json "$TMP/drain.json" '.checks[] | select(.name == "center_has_each_order_once") | .ok')
	[ "$at_center" = true ] || fail "round $i: center check did not hold"
	regions_match_center "$i"
	echo "round $i: killed after $delay_ms ms; drain: $regional orders in the regions, $central at the center"
	i=$((i + 1))
done
[ "$mid_run" -gt 0 ] || fail "no kill landed while a run was going"
[ "$in_setup" -lt "$rounds" ] || fail "every kill landed during the setup"
pass "$rounds kills, $mid_run of them mid-run ($in_setup during the setup, refused); drain restored every other one"
