#!/bin/sh
# serve_compat.sh - the customer-records system's own endpoints on `ddbsim
# serve --param naming=regions`, with its payloads: GET /node-statuses, POST
# /node-status, /create-customer and /filter-records through each row of
# its decision table (home and replica up or down), then the regions back:
# each queued write replayed once, reads from the homes, every check holding.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

start_serve m1 -c "$CONF" -d "$TMP/data" --param background=no --param naming=regions

create() { # ID ZIP
	api POST /create-customer "$(printf '{"customer_id":"%s","customer_unique_id":"u-%s","customer_zip_code_prefix":"%s","customer_city":"sao paulo","customer_state":"SP"}' "$1" "$1" "$2")"
}
node() { # NODE_ID STATUS
	api POST /node-status "{\"node_id\":$1,\"status\":\"$2\"}"
	expect_status 200 "node-status $1 $2"
}
statuses() { api GET /node-statuses; json_get '",".join(n["node_id"]+"="+n["status"] for n in d)'; }
filter() { # MIN MAX: the records as ID@REGION, and the unreadable regions
	api POST /filter-records "{\"zipRangeMin\":$1,\"zipRangeMax\":$2,\"city\":\"\",\"state\":\"\"}"
	expect_status 200 "filter-records $1 $2"
	json_get '" ".join(r["customer_id"]+"@"+r["region"] for r in d["records"])+" | "+",".join(d["unavailable_regions"])'
}

[ "$(statuses)" = "region_1=available,region_2=available,region_3=available" ] ||
	fail "node-statuses at the start: $body"

# row 1: home (region_1) and replica (region_3) up: both written
create a1 1500
expect_status 200 "create, both up"
[ "$(json_get 'd["message"]')" = "Record created successfully" ] || fail "a1: $body"
[ "$(json_get '",".join(d["regions_affected"])')" = "region_1,region_1_backup" ] || fail "a1: $body"
[ "$(json_get 'd["fields_processed"]["customer_zip_code_prefix"]')" = 1500 ] || fail "a1 fields: $body"
[ "$(filter 1000 39999)" = "a1@region_1 | " ] || fail "filter, both up: $body"
pass "home and replica up: both copies written, read from the home"

# row 2: home up, replica down: the home written, the replica's copy queued
node '"region_3"' unavailable
[ "$(statuses)" = "region_1=available,region_2=available,region_3=unavailable" ] ||
	fail "node-statuses after region_3 down: $body"
create a2 1600
expect_status 200 "create, replica down"
[ "$(json_get '",".join(d["regions_affected"])')" = region_1 ] || fail "a2: $body"
[ "$(json_get 'd["queued"]')" = "[{'copy': 'region_1_backup', 'node_id': 'region_3'}]" ] ||
	fail "a2 not queued for region_3: $body"
[ "$(filter 1000 39999)" = "a1@region_1 a2@region_1 | " ] || fail "filter, replica down: $body"
node 3 available
pass "home up, replica down: the home written, the replica's copy queued"

# row 3: home down, replica up: the replica written, the home's copy queued
node 1 unavailable
create a3 1700
expect_status 200 "create, home down"
[ "$(json_get '",".join(d["regions_affected"])')" = region_1_backup ] || fail "a3: $body"
[ "$(json_get 'd["queued"]')" = "[{'copy': 'region_1', 'node_id': 'region_1'}]" ] ||
	fail "a3 not queued for region_1: $body"
[ "$(filter 1000 39999)" = "a1@region_1_backup a2@region_1_backup a3@region_1_backup | " ] ||
	fail "filter, home down: $body"
pass "home down, replica up: the replica written and read, the home's copy queued"

# row 4: home and replica down: 503, nothing lost, the region named unreadable
node '"3"' unavailable
create a4 1800
expect_status 503 "create, both down"
[ "$(json_get 'len(d["queued"])')" = 2 ] || fail "a4 should be queued for both: $body"
[ "$(json_get 'd["regions_affected"]')" = "[]" ] || fail "a4: $body"
[ "$(filter 1000 99999)" = " | region_1" ] || fail "filter, both down: $body"
pass "home and replica down: 503, queued for both, region_1 reported unreadable"

# the system's errors
create z1 500
expect_status 400 "a zip in no range"
[ "$(json_get 'd["field"]')" = customer_zip_code_prefix ] || fail "zip error: $body"
create a1 1500
expect_status 200 "the same record again"
create a1 1501
expect_status 409 "the same id, other content"
api POST /create-customer '{"customer_id":"x"}'
expect_status 400 "a create without fields"
api POST /node-status '{"node_id":"region_7","status":"unavailable"}'
expect_status 400 "an unknown node"
[ "$(json_get 'd["field"]')" = node_id ] || fail "unknown node: $body"
api POST /node-status '{"node_id":"region_2","status":"down"}'
expect_status 400 "an unknown status"
api POST /filter-records '{"zipRangeMax":5}'
expect_status 400 "filter without zipRangeMin"
api GET /filter-records
expect_status 405 "GET /filter-records"
pass "errors: 400 for a zip in no range and bad input, 409 for other content"

# back: every queued write replayed once, reads from the homes
node '"region_1"' available
node '"region_3"' available
[ "$(statuses)" = "region_1=available,region_2=available,region_3=available" ] ||
	fail "node-statuses at the end: $body"
for _ in $(seq 1 100); do
	api GET /api/v1/status
	[ "$(json_get 'd["counters"]["customer_writes_replayed"]')" -ge 4 ] && break
	sleep 0.1
done
sleep 1
api GET /api/v1/status
[ "$(json_get 'd["counters"]["customer_writes_queued"]')" = 4 ] || fail "4 writes queued: $body"
[ "$(json_get 'd["counters"]["customer_writes_replayed"]')" = 4 ] || fail "4 replays, once each: $body"
[ "$(filter 1000 39999)" = "a1@region_1 a2@region_1 a3@region_1 a4@region_1 | " ] ||
	fail "filter after the return: $body"
api POST /filter-records '{"zipRangeMin":1000,"zipRangeMax":99999,"city":"SAO PAULO","state":"sp"}'
[ "$(json_get 'd["count"]')" = 4 ] || fail "city and state ignore case: $body"
pass "regions back: 4 queued writes replayed once each, read from the home"

end_session m1
grep -q "ok   no_lost_queued_write" "$TMP/m1.out" || fail "no_lost_queued_write does not hold"
grep -q "replays *4 records (0 older" "$TMP/m1.out" ||
	{ cat "$TMP/m1.out" >&2; fail "the report does not say 4 records were replayed"; }
grep -q "ok   customers_converged: 4 customers" "$TMP/m1.out" ||
	{ cat "$TMP/m1.out" >&2; fail "customers_converged does not count the 4 customers"; }
pass "shutdown: every check holds"
