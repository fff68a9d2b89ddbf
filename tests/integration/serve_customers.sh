#!/bin/sh
# serve_customers.sh - customer records over `ddbsim serve`: POST
# /api/v1/customers says where a record went (home, replica, what was
# queued for which down node), a repeated id answers the same and other
# content 409; GET /api/v1/customers/{id} names the copy that answered; the
# search pages by id and names a region none of whose copies is up.  A
# node down while customers are created and up again: reads come from the
# replica meanwhile and from the home after, each queued write is replayed
# exactly once, and the session ends with every check holding.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

start_serve c1 -c "$CONF" -d "$TMP/data" --param background=no

customer() { # ID ZIP [UNIQUE]
	printf '{"id":"%s","unique_id":"%s","zip_prefix":%s,"city":"Boston","state":"MA"}' \
		"$1" "${3:-u-$1}" "$2"
}
counter() { api GET /api/v1/status; json_get "d['counters']['$1']"; }

# ---- create: both copies up ----------------------------------------------------
api POST /api/v1/customers "$(customer k1 1500)"
expect_status 201 "a customer"
[ "$(json_get 'd["result"]')" = ok ] || fail "k1 not ok: $body"
[ "$(json_get 'd["home"]["region"]+"/"+d["home"]["write"]')" = east/written ] || fail "k1 home: $body"
[ "$(json_get 'd["replicas"][0]["region"]+"/"+d["replicas"][0]["write"]')" = west/written ] ||
	fail "k1 replica: $body"
[ "$(json_get 'len(d["queued"])')" = 0 ] || fail "k1 queued something: $body"
first=$body
api POST /api/v1/customers "$(customer k1 1500)"
expect_status 201 "the same customer again"
[ "$body" = "$first" ] || fail "a repeated id answered differently: $body vs $first"
api POST /api/v1/customers "$(customer k1 1500 other)"
expect_status 409 "the same id with other content"
[ "$(json_get 'd["field"]')" = id ] || fail "409 does not name id: $body"
pass "create: home and replica written; a repeated id answers the same; other content 409"

# ---- bad input ---------------------------------------------------------------------
api POST /api/v1/customers "$(customer k0 5)"
expect_status 400 "a zip in no region"
[ "$(json_get 'd["field"]')" = zip_prefix ] || fail "zip error does not name zip_prefix: $body"
api POST /api/v1/customers '{"id":"k9","unique_id":"u","zip_prefix":1500,"city":"Boston"}'
expect_status 400 "no state"
[ "$(json_get 'd["field"]')" = state ] || fail "missing state not named: $body"
api POST /api/v1/customers '{"id":"k 9","unique_id":"u","zip_prefix":1500,"city":"B","state":"MA"}'
expect_status 400 "a bad id"
[ "$(json_get 'd["field"]')" = id ] || fail "bad id not named: $body"
api POST /api/v1/customers '{"id":"k9","unique_id":"u","zip_prefix":1500,"city":"B","state":"MA","x":1}'
expect_status 400 "an unknown field"
api POST /api/v1/customers '{"id":'
expect_status 400 "broken JSON"
api GET /api/v1/customers/nobody
expect_status 404 "an unknown customer"
api GET '/api/v1/customers?zip=1'
expect_status 400 "an unknown query argument"
[ "$(json_get 'd["field"]')" = zip ] || fail "unknown argument not named: $body"
api GET '/api/v1/customers?limit=0'
expect_status 400 "limit 0"
api GET '/api/v1/customers?limit=1001'
expect_status 400 "limit 1001"
api GET '/api/v1/customers?zip_min=9&zip_max=1'
expect_status 400 "zip_min above zip_max"
api DELETE /api/v1/customers/k1
expect_status 405 "a wrong method"
pass "bad input: 400 naming the field, 404 unknown, 405 wrong method"

# ---- east down: writes queue for it, reads come from the replica -------------------
api PUT /api/v1/nodes/east '{"state":"down"}'
expect_status 200 "east down"
for i in 1 2 3 4 5; do
	api POST /api/v1/customers "$(customer d$i 2${i}000)"
	expect_status 201 "d$i with east down"
	[ "$(json_get 'd["result"]')" = home_pending ] || fail "d$i: $body"
	[ "$(json_get 'd["queued"][0]["region"]+"/"+d["queued"][0]["copy"]')" = east/home ] ||
		fail "d$i not queued for east: $body"
done
[ "$(counter customer_writes_queued)" = 5 ] || fail "5 writes should be queued: $body"
api GET /api/v1/customers/d3
expect_status 200 "d3 while east is down"
[ "$(json_get 'd["served_by"]["region"]+"/"+d["served_by"]["copy"]')" = west/replica ] ||
	fail "d3 not read from the replica: $body"
[ "$(json_get 'd["version"]')" = 1 ] || fail "d3 version: $body"
api GET '/api/v1/customers?zip_min=1000&zip_max=39999'
expect_status 200 "a search with east down"
[ "$(json_get 'len(d["customers"])')" = 6 ] || fail "the search should find k1 and d1..d5: $body"
[ "$(json_get 'set(r["served_by"]["copy"] for r in d["customers"])')" = "{'replica'}" ] ||
	fail "east's records not served by the replica: $body"
[ "$(json_get 'd["unavailable_regions"]')" = "[]" ] || fail "no region is unreadable: $body"

# both copies of east's records down: the search says so, a create is pending
api PUT /api/v1/nodes/west '{"state":"down"}'
api POST /api/v1/customers "$(customer p1 3000)"
expect_status 202 "a create with home and replica down"
[ "$(json_get 'd["result"]+" "+str(d["pending"])')" = "unavailable True" ] || fail "p1: $body"
[ "$(json_get 'len(d["queued"])')" = 2 ] || fail "p1 should be queued twice: $body"
api GET /api/v1/customers/p1
expect_status 503 "a customer none of whose copies is up"
api GET '/api/v1/customers?zip_min=1000&zip_max=39999'
expect_status 200 "a search with east and west down"
[ "$(json_get 'd["unavailable_regions"]')" = "['east']" ] || fail "east is not listed unreadable: $body"
[ "$(json_get 'len(d["customers"])')" = 0 ] || fail "east's records cannot be read: $body"
api PUT /api/v1/nodes/west '{"state":"up"}'
pass "east down: writes queued for it, reads and searches from the replica, both down named"

# ---- east back: each queued write replayed once, reads from the home ---------------
api PUT /api/v1/nodes/east '{"state":"up"}'
expect_status 200 "east up"
replayed=
for _ in $(seq 1 100); do
	replayed=$(counter customer_writes_replayed)
	[ "$replayed" -ge 7 ] && break
	sleep 0.1
done
[ "$(counter customer_writes_queued)" = 7 ] || fail "7 writes queued in all: $body"
sleep 1
[ "$(counter customer_writes_replayed)" = 7 ] || fail "each of the 7 queued writes replayed once: $body"
api GET /api/v1/customers/d3
[ "$(json_get 'd["served_by"]["region"]+"/"+d["served_by"]["copy"]')" = east/home ] ||
	fail "d3 not read from its home after the return: $body"
api GET /api/v1/customers/p1
expect_status 200 "p1 after the return"
[ "$(json_get 'd["served_by"]["copy"]+" "+str(d["version"])')" = "home 1" ] || fail "p1: $body"
api GET /api/v1/checks
expect_status 200 "checks"
[ "$(json_get 'd["all_hold"]')" = True ] || fail "a check fails: $body"
[ "$(json_get '[c["ok"] for c in d["checks"] if c["name"] in ("no_lost_queued_write","customers_converged")]')" = "[True, True]" ] ||
	fail "no_lost_queued_write or customers_converged: $body"
pass "east up: 7 queued writes replayed once each, reads from the home again"

# ---- paging ---------------------------------------------------------------------
ids=
cursor=
for _ in $(seq 1 20); do
	api GET "/api/v1/customers?limit=3${cursor:+&cursor=$cursor}"
	expect_status 200 "a page"
	ids="$ids$(json_get '" ".join(r["id"] for r in d["customers"])') "
	cursor=$(json_get 'd["next_cursor"] or ""')
	[ -n "$cursor" ] || break
done
[ "$(echo $ids)" = "d1 d2 d3 d4 d5 k1 p1" ] || fail "pages by id: $ids"
api GET '/api/v1/customers?zip_min=21000&zip_max=23000&city=boston&state=ma'
[ "$(json_get '" ".join(r["id"] for r in d["customers"])')" = "d1 d2 d3" ] || fail "filter: $body"
api GET '/api/v1/customers?city=Chicago'
[ "$(json_get 'd["count"]')" = 0 ] || fail "no one lives in Chicago: $body"
pass "search: pages by id with a cursor, filters by zip, city and state"

end_session c1
grep -q "ok   no_lost_queued_write" "$TMP/c1.out" || fail "no_lost_queued_write does not hold"
grep -q "replays *7 records (0 older" "$TMP/c1.out" ||
	{ cat "$TMP/c1.out" >&2; fail "the report does not say 7 records were replayed"; }
grep -q "ok   customers_converged: 7 customers" "$TMP/c1.out" ||
	{ cat "$TMP/c1.out" >&2; fail "customers_converged does not count the 7 customers"; }
pass "shutdown: every check holds"
