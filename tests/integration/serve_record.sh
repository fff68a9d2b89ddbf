#!/bin/sh
# serve_record.sh - `ddbsim serve --record FILE` writes the session as a
# scenario, and `ddbsim run FILE` replays it on the virtual clock to the
# same state hash, every check holding: orders (accepted, and rejected for
# stock, for an unknown sku, for a region that is down), a product added
# and ordered, customers created while a region is down, reads of a slow
# copy, a node down and up, timed slow steps, GET /checks in the middle.  A write error stops the recording, not the session.
#
# With DDBSIM_SERVE_CONFIG=full (serve_full.sh) the sessions run on
# etc/full.conf and every `ddbsim run` (the replays, the hand-written
# actions) on the embedded default: the replay to the same state hash is
# promised only for the embedded backends (two replays of one recording on
# full.conf were seen to end at different hashes, and neither at the
# session's).  There the replay must reach the session's outcome instead:
# the same orders accepted and rejected, every check holding.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
RUN_CONF=$CONF
[ "$SERVE_CONFIG" != full ] || RUN_CONF=$EMBEDDED_CONF

REC="$TMP/session.lua"
start_serve r1 -c "$CONF" -d "$TMP/data" --param background=no --record "$REC"

order() { # order REGION SKU QUANTITY ID EXPECTED_STATUS
	api POST /api/v1/orders "{\"region\":\"$1\",\"sku\":\"$2\",\"quantity\":$3,\"id\":\"$4\",\"customer\":\"c-$4\"}"
	expect_status 200 "order $4"
	[ "$(json_get 'd["status"]')" = "$5" ] || fail "order $4 should be $5: $body"
}
order east MOUSE 2 o1 accepted
order middle LAPTOP 1 o2 accepted
order west KEYBOARD 2000000 o3 rejected
order east NOPE 1 o4 rejected
api POST /api/v1/orders '{"region":"west","sku":"WEBCAM","quantity":1}'
[ "$(json_get 'd["status"]')" = accepted ] || fail "an order without an id: $body"
api POST /api/v1/products '{"sku":"DOCK","name":"Dock","price":129.5,"stock":{"east":5,"middle":1},"components":{"KEYBOARD":1,"MOUSE":2}}'
expect_status 200 "a product"
order east DOCK 3 o5 accepted
order middle DOCK 2 o6 rejected
api GET /api/v1/checks
expect_status 200 "checks in the middle"
api PUT /api/v1/nodes/middle '{"state":"down"}'
expect_status 200 "middle down"
order middle MOUSE 1 o7 rejected
order east MOUSE 1 o8 accepted
# Customers: one whose home (middle) is down (queued for it, written to its
# replica), one written everywhere; reads, even of a slow copy, change
# nothing that a replay would miss.
api POST /api/v1/customers '{"id":"cu1","unique_id":"u1","zip_prefix":45000,"city":"Chicago","state":"IL"}'
expect_status 201 "a customer whose home is down"
api POST /api/v1/customers '{"id":"cu2","unique_id":"u2","zip_prefix":2000,"city":"Boston","state":"MA"}'
expect_status 201 "a customer"
api PUT /api/v1/nodes/east '{"state":"slow","latency_ms":30,"jitter_ms":20,"for_s":0.4}'
expect_status 200 "east slow"
api GET /api/v1/customers/cu2
expect_status 200 "a read of a slow copy"
api GET '/api/v1/customers?zip_min=1000&zip_max=99999'
expect_status 200 "a search"
api PUT /api/v1/nodes/central '{"state":"slow","latency_ms":20,"for_s":0.5}'
expect_status 200 "central slow for 0.5 s"
api POST /api/v1/faults '{"kind":"duplicate","probability":0.5,"for_s":0.4}'
expect_status 201 "duplicates for 0.4 s"
api POST /api/v1/partitions '{"from":["west"],"to":["broker"]}'
expect_status 201 "west cut from the broker"
cut=$(json_get 'd["id"]')
order west MOUSE 1 w1 accepted
api DELETE "/api/v1/partitions/$cut"
expect_status 200 "the partition undone"
sleep 0.3
api PUT /api/v1/nodes/middle '{"state":"up"}'
expect_status 200 "middle up"
api POST /api/v1/products '{"sku":"DOCK","price_cents":9900,"stock":{"middle":4}}'
expect_status 200 "a new version"
order middle DOCK 4 o9 accepted
for i in 1 2 3 4 5 6; do order west MOUSE 1 "m$i" accepted; done
sleep 0.6
end_session r1
live_hash=$session_hash
n_orders=$(grep -c '^act { at = [0-9.]*, order = ' "$REC" || true)
[ "$n_orders" -eq 17 ] || { cat "$REC" >&2; fail "the recording holds $n_orders orders, not 17"; }
grep -q 'product = { sku = "DOCK"' "$REC" || fail "the product is not recorded"
grep -q 'step = { action = "down", target = "middle"' "$REC" || fail "middle down is not recorded"
grep -q 'checks = true' "$REC" || fail "GET /checks is not recorded"
grep -q 'customer = { op = "create", id = "cu1"' "$REC" || fail "the customers are not recorded"
grep -q "customers_converged: 2 customers" "$TMP/r1.out" || { cat "$TMP/r1.out" >&2; fail "the session's customers"; }
pass "serve --record writes the session's calls (live state hash $live_hash)"

# matches_session NAME HASH WHAT: the replay just run ($TMP/out) ends as
# session NAME did: at its state hash HASH on the embedded default, with
# the same orders on full.conf (see the top).
matches_session() {
	if [ "$SERVE_CONFIG" = full ]; then
		live_orders=$(grep '^  orders ' "$TMP/$1.out")
		replay_orders=$(grep '^  orders ' "$TMP/out")
		[ -n "$live_orders" ] && [ "$replay_orders" = "$live_orders" ] ||
			{ cat "$TMP/out" "$TMP/err" >&2; fail "$3: the replay's '$replay_orders', the session's '$live_orders'"; }
		matched="on the embedded default to the same orders ($(echo $live_orders))"
	else
		replay_hash=$(sed -n 's/.*state_hash[^0-9a-f]*\([0-9a-f]\{16\}\).*/\1/p' "$TMP/out" | head -n 1)
		[ "$replay_hash" = "$2" ] ||
			{ cat "$TMP/out" "$TMP/err" >&2; fail "$3: the replay ends at $replay_hash, the session at $2"; }
		matched="to the same state hash $2"
	fi
}

ddbsim run "$REC" -c "$RUN_CONF" -d "$TMP/replay"
expect_rc 0 "the replay"
expect_out "all checks hold" "the replay's checks"
matches_session r1 "$live_hash" "the recording"
pass "ddbsim run replays the recording $matched, every check holding"

# The recording served again, with calls of its own and --record: the new
# recording holds the old session's calls (run by the engine at their
# times) and the new ones, in the order they happened, and replays to the
# new session's hash.
REC2="$TMP/session2.lua"
last_at=$(sed -n 's/^act { at = \([0-9.]*\),.*/\1/p' "$REC" | tail -n 1)
start_serve r2 -c "$CONF" -d "$TMP/data2" "$REC" --record "$REC2"
order east MOUSE 1 s2-1 accepted
api PUT /api/v1/nodes/west '{"state":"slow","latency_ms":10,"for_s":0.2}'
expect_status 200 "west slow in the second session"
order west KEYBOARD 1 s2-2 accepted
sleep "$(echo "$last_at" | awk '{ print $1 + 0.5 }')" # every recorded call has run
order middle MOUSE 1 s2-3 accepted
end_session r2
live2=$session_hash
n2=$(grep -c '^act { at = [0-9.]*, order = ' "$REC2" || true)
[ "$n2" -eq 20 ] || { cat "$REC2" >&2; fail "the second recording holds $n2 orders, not 17 + 3"; }
grep -q 'order = { region = "east", sku = "MOUSE", quantity = 1, customer = "c-s2-1", id = "s2-1" }' "$REC2" ||
	{ cat "$REC2" >&2; fail "the second session's own order is not recorded"; }
[ "$SERVE_CONFIG" = full ] || [ "$live2" != "$live_hash" ] ||
	fail "the second session should differ from the first"
ddbsim run "$REC2" -c "$RUN_CONF" -d "$TMP/replay2"
expect_rc 0 "the second replay"
expect_out "all checks hold" "the second replay's checks"
matches_session r2 "$live2" "the second recording"
pass "a recording served again and recorded: both sessions' calls, replayed $matched"

# A recording is a scenario like any other: a bad action is an error naming
# it (exit 2).
bad_actions() { # bad_actions ACTIONS EXPECTED_MESSAGE
	cat > "$TMP/bad.lua" <<LUA
return { regions = { "east" }, catalog = { { sku = "A", price = 1, stock = 5 } },
         workload = { rate = 0, order = function() end }, actions = { $1 } }
LUA
	ddbsim run "$TMP/bad.lua" -c "$RUN_CONF" -d "$TMP/bad"
	expect_rc 2 "actions { $1 }"
	expect_err "$2" "actions { $1 }"
}
bad_actions '{ at = 2, commit = "east" }, { at = 1, commit = "east" }' \
	'actions[2].at: earlier than the action before'
bad_actions '{ at = 1, order = { region = "mars", sku = "A", quantity = 1 } }' \
	'actions[1].order.region: unknown region "mars"'
bad_actions '{ at = 1, commit = "east", checks = true }' 'actions[1]: must hold one of'
bad_actions '{ at = 1, step = { action = "down", target = "east", latency = 1 } }' \
	'actions[1].step.latency: not a field of a "down" step'
bad_actions '{ at = 1, product = { sku = "B", price = 1, stock = { east = 10000000000 } } }' \
	'actions[1].product.stock.east: the stock of every product'
bad_actions '{ at = 1, commit = "east", id = 3 }' 'actions[1].id: only a step has an id'
bad_actions '{ at = 1, step = { action = "down", target = "east" }, id = 2 }, { at = 1, step = { action = "up", target = "east" }, id = 2 }' \
	'actions[2].id: 2 is the id of actions[1] too'
pass "bad actions are errors naming the action and the field"

# Actions written by hand: every kind, every step action; the run is
# deterministic and the actions took effect.
cat > "$TMP/hand.lua" <<'LUA'
return {
  regions = { "east", "west" }, duration = 3,
  catalog = { { sku = "A", price = 2.5, stock = 10 }, { sku = "B", price = 1, stock = 10 } },
  workload = { rate = 0, order = function() end },
  actions = {
    { at = 0.1, order = { region = "east", sku = "A", quantity = 4, customer = "c1", id = "h1" } },
    { at = 0.1, order = { region = "east", sku = "A", quantity = 7, id = "h2" } },
    { at = 0.1, commit = "east" },
    { at = 0.2, product = { sku = "K", name = "Kit", price_cents = 350,
                            components = { A = 1, B = 2 }, stock = { west = 3 } } },
    { at = 0.3, order = { region = "west", sku = "K", quantity = 3 } },
    { at = 0.3, commit = "west" },
    { at = 0.4, step = { action = "down", target = "west", ["for"] = 0.25 } },
    { at = 0.5, step = { action = "slow", target = "central", latency = 0.01, jitter = 0.002 } },
    { at = 0.6, step = { action = "up", target = "central" } },
    { at = 0.7, step = { action = "partition", from = { "east" }, to = { "broker" } } },
    { at = 0.9, end_step = 5 },
    { at = 1.0, step = { action = "drop", probability = 0.3, ["for"] = 0.2 } },
    { at = 1.0, step = { action = "duplicate", probability = 0.2 } },
    { at = 1.1, step = { action = "delay", probability = 0.5, delay = 0.05 } },
    { at = 1.1, step = { action = "reorder", probability = 0.5 } },
    { at = 1.2, step = { action = "crash", target = "relay" } },
    { at = 1.25, end_step = 12 },
    { at = 1.3, step = { action = "restart", target = "relay" } },
    { at = 1.4, step = { action = "heal", from = { "east" }, to = { "broker" } } },
    { at = 1.5, end_step = 9 }, { at = 1.5, end_step = 10 }, { at = 1.5, end_step = 11 },
    { at = 1.6, checks = true },
    { at = 2.0, order = { region = "east", sku = "B", quantity = 1, id = "h3" } },
    { at = 2.0, commit = "east" },
  },
}
LUA
ddbsim run "$TMP/hand.lua" -c "$RUN_CONF" -d "$TMP/hand1"
expect_rc 0 "hand-written actions"
expect_out "all checks hold" "hand-written actions: checks"
expect_out "3 accepted, 1 rejected of 4" "hand-written actions: orders h1, K, h3 accepted, h2 rejected"
! grep 'actions\[' "$TMP/err" || fail "an action failed"
hand_hash=$(sed -n 's/.*state_hash[^0-9a-f]*\([0-9a-f]\{16\}\).*/\1/p' "$TMP/out" | head -n 1)
ddbsim run "$TMP/hand.lua" -c "$RUN_CONF" -d "$TMP/hand2"
expect_out "$hand_hash" "hand-written actions: the same state hash again"
pass "actions written by hand: every kind runs, the same state every time"

# Customer actions: routed by the scenario's rules, queued for a region
# that is down, replayed when it is back (live.lua's customers).
cat > "$TMP/cust.lua" <<'LUA'
local param = ddbsim.param
ddbsim.param = function(name, default) if name == "background" then return "no" end return default end
local s = require "live"
ddbsim.param = param
s.duration = 2
s.actions = {
  { at = 0.1, customer = { op = "create", id = "c1", unique_id = "u1", zip = 1234, city = "Boston", state = "MA" } },
  { at = 0.2, step = { action = "down", target = "east" } },
  { at = 0.3, customer = { op = "create", id = "c2", unique_id = "u2", zip = 45000, city = "Chicago", state = "IL" } },
  { at = 0.4, customer = { op = "update", id = "c1", city = "Cambridge", changed = { "city" } } },
  { at = 0.5, step = { action = "up", target = "east" } },
  { at = 0.6, customer = { op = "delete", id = "c2" } },
}
return s
LUA
ddbsim run "$TMP/cust.lua" -c "$RUN_CONF" -d "$TMP/cust"
expect_rc 0 "customer actions"
expect_out "customers_converged: 2 customers (1 live)" "customer actions: c1 and c2 created, c2 deleted"
pass "customer actions create, update (queued while east is down) and delete"

# A session that dies (kill -9) leaves a recording that is complete up to
# its last call: it replays.
start_serve r2 -c "$CONF" -d "$TMP/data3" --param background=no --record "$TMP/crashed.lua"
order east MOUSE 1 k1 accepted
order west MOUSE 1 k2 accepted
stop_serve KILL
ddbsim run "$TMP/crashed.lua" -c "$RUN_CONF" -d "$TMP/replay3"
expect_rc 0 "the replay of a session killed with -9"
expect_out "2 accepted, 0 rejected of 2" "the replay of a killed session has its two orders"
pass "the recording of a session killed with -9 replays up to its last call"

# A recording that cannot be written: an error before serve listens.
ddbsim serve -c "$CONF" -d "$TMP/data2" --listen 127.0.0.1:0 --param background=no \
	--record "$TMP/no/such/dir/x.lua"
expect_rc 2 "--record into a missing directory"
expect_err "--record $TMP/no/such/dir/x.lua" "the error names the file"
pass "--record to a file that cannot be created: exit 2 naming it"

