#!/bin/sh
# serve_faults.sh - /api/v1/partitions and /api/v1/faults of `ddbsim serve`:
# a partition cuts the links it names (GET /nodes shows them) until DELETE
# or its for_s; a message fault is listed until DELETE or its for_s; a node
# taken down for_s comes back by itself; bad bodies answer 400 naming the
# field, unknown or ended ids 404; the session ends with every check holding.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

start_serve f1 -c "$CONF" -d "$TMP/data" --param background=no

# wait_until PATH EXPR WHAT: GET PATH until the Python expression EXPR on
# its body d holds, for at most 10 s.
wait_until() {
	for _ in $(seq 1 100); do
		api GET "$1"
		[ "$(json_get "$2")" = True ] && return 0
		sleep 0.1
	done
	fail "$3: $body"
}

# expect_field FIELD WHAT: the last answer was a 400 naming FIELD.
expect_field() {
	expect_status 400 "$2"
	[ "$(json_get 'd.get("field")')" = "$1" ] || fail "$2: the error does not name $1: $body"
}

# ---- partitions ----------------------------------------------------------------
api POST /api/v1/partitions '{"from":["east"],"to":["central","documents"]}'
expect_status 201 "a partition"
p1=$(json_get 'd["id"]')
[ "$(json_get 'd["from"] == ["east"] and d["to"] == ["central","documents"] and d["oneway"] is False and d["until_s"] is None')" = True ] ||
	fail "the partition as answered: $body"
api GET /api/v1/nodes
[ "$(json_get '[n["cut_from"] for n in d["nodes"] if n["name"] == "east"][0] == ["central","documents"]')" = True ] ||
	fail "east is not cut from central and documents: $body"
[ "$(json_get '[n["cut_from"] for n in d["nodes"] if n["name"] == "central"][0] == ["east"]')" = True ] ||
	fail "a two-way partition does not cut central from east: $body"
api POST /api/v1/partitions '{"from":"west","to":["middle"],"oneway":true,"for_s":1}'
expect_status 201 "a one-way partition for 1 s"
p2=$(json_get 'd["id"]')
[ "$(json_get 'round(d["until_s"] - d["since_s"], 3)')" = 1.0 ] || fail "until_s is not since_s + 1: $body"
api GET /api/v1/nodes
[ "$(json_get '[n["cut_from"] for n in d["nodes"] if n["name"] == "middle"][0] == []')" = True ] ||
	fail "a one-way partition cut middle from west too: $body"
api GET /api/v1/partitions
[ "$(json_get 'sorted(p["id"] for p in d["partitions"]) == sorted(['"$p1,$p2"'])')" = True ] ||
	fail "GET /partitions does not list both: $body"
wait_until /api/v1/partitions '[p["id"] for p in d["partitions"]] == ['"$p1"']' \
	"the partition with for_s 1 did not heal by itself"
api GET /api/v1/nodes
[ "$(json_get '[n["cut_from"] for n in d["nodes"] if n["name"] == "west"][0] == []')" = True ] ||
	fail "west is still cut after its partition healed: $body"
api DELETE "/api/v1/partitions/$p2"
expect_status 404 "DELETE of a partition that healed by itself"
api DELETE "/api/v1/partitions/$p1"
expect_status 200 "DELETE of a partition"
[ "$(json_get 'd["ended"]')" = True ] || fail "DELETE does not say it ended: $body"
api DELETE "/api/v1/partitions/$p1"
expect_status 404 "DELETE of an ended partition"
api GET /api/v1/partitions
[ "$(json_get 'd["partitions"]')" = "[]" ] || fail "partitions left in force: $body"
api GET /api/v1/nodes
[ "$(json_get 'all(n["cut_from"] == [] for n in d["nodes"])')" = True ] ||
	fail "links still cut after every partition ended: $body"
api DELETE /api/v1/partitions/999
expect_status 404 "DELETE of an unknown partition"
api DELETE /api/v1/partitions/abc
expect_status 404 "DELETE of a partition that is not a number"
pass "partitions: cut links, heal with for_s and DELETE, 404 for unknown or ended ids"

api POST /api/v1/partitions '{"from":["east"],"to":["nowhere"]}'
expect_field to "an unknown node"
api POST /api/v1/partitions '{"from":[],"to":["east"]}'
expect_field from "an empty set"
api POST /api/v1/partitions '{"to":["east"]}'
expect_field from "no from"
api POST /api/v1/partitions '{"from":["east","east"],"to":["west"]}'
expect_field from "a node twice"
api POST /api/v1/partitions '{"from":["east"],"to":["east"]}'
expect_field to "a node cut from itself"
api POST /api/v1/partitions '{"from":["east"],"to":["west"],"oneway":"yes"}'
expect_field oneway "oneway not a boolean"
api POST /api/v1/partitions '{"from":["east"],"to":["west"],"for_s":-1}'
expect_field for_s "a negative for_s"
api POST /api/v1/partitions '{"from":["east"],"to":["west"],"until":3}'
expect_field until "an unknown field"
api POST /api/v1/partitions '{"from":["a","b","c","d","e","f","g","h","i"],"to":["west"]}'
expect_field from "nine nodes"
api POST /api/v1/partitions '[1]'
expect_status 400 "a body that is not an object"
api PUT /api/v1/partitions/1
expect_status 405 "PUT on a partition"
api GET /api/v1/partitions
[ "$(json_get 'd["partitions"]')" = "[]" ] || fail "a refused partition is in force: $body"
pass "partitions: bad bodies answer 400 naming the field"

# ---- message faults ---------------------------------------------------------------
api POST /api/v1/faults '{"kind":"drop","probability":0.25}'
expect_status 201 "a drop fault"
f1=$(json_get 'd["id"]')
[ "$(json_get 'd["kind"] == "drop" and d["probability"] == 0.25 and d["until_s"] is None')" = True ] ||
	fail "the fault as answered: $body"
api POST /api/v1/faults '{"kind":"delay","probability":0.5,"delay_ms":250,"for_s":1}'
expect_status 201 "a delay fault for 1 s"
f2=$(json_get 'd["id"]')
[ "$(json_get 'd["delay_ms"]')" = 250 ] || fail "delay_ms as answered: $body"
api GET /api/v1/faults
[ "$(json_get 'sorted(f["id"] for f in d["faults"]) == sorted(['"$f1,$f2"'])')" = True ] ||
	fail "GET /faults does not list both: $body"
wait_until /api/v1/faults '[f["id"] for f in d["faults"]] == ['"$f1"']' \
	"the delay fault with for_s 1 did not heal by itself"
api DELETE "/api/v1/faults/$f2"
expect_status 404 "DELETE of a fault that healed by itself"
api DELETE "/api/v1/partitions/$f1"
expect_status 404 "DELETE /partitions of a fault's id"
api DELETE "/api/v1/faults/$f1"
expect_status 200 "DELETE of a fault"
api DELETE "/api/v1/faults/$f1"
expect_status 404 "DELETE of an ended fault"
api GET /api/v1/faults
[ "$(json_get 'd["faults"]')" = "[]" ] || fail "faults left in force: $body"
for kind in duplicate reorder; do
	api POST /api/v1/faults '{"kind":"'$kind'","probability":1,"for_s":0.2}'
	expect_status 201 "a $kind fault"
done
wait_until /api/v1/faults 'd["faults"] == []' "the duplicate and reorder faults did not end"
pass "faults: listed, heal with for_s and DELETE, 404 for unknown or ended ids"

api POST /api/v1/faults '{"kind":"drop","probability":1.5}'
expect_field probability "a probability above 1"
api POST /api/v1/faults '{"kind":"drop","probability":-0.1}'
expect_field probability "a negative probability"
api POST /api/v1/faults '{"kind":"drop"}'
expect_field probability "no probability"
api POST /api/v1/faults '{"kind":"explode","probability":0.1}'
expect_field kind "an unknown kind"
api POST /api/v1/faults '{"probability":0.1}'
expect_field kind "no kind"
api POST /api/v1/faults '{"kind":"delay","probability":0.1}'
expect_field delay_ms "a delay without delay_ms"
api POST /api/v1/faults '{"kind":"drop","probability":0.1,"delay_ms":5}'
expect_field delay_ms "delay_ms on a drop"
api POST /api/v1/faults '{"kind":"delay","probability":0.1,"delay_ms":0}'
expect_field delay_ms "delay_ms 0"
api POST /api/v1/faults '{"kind":"drop","probability":0.1,"for_s":"soon"}'
expect_field for_s "for_s not a number"
api POST /api/v1/faults '{"kind":"drop","probability":0.1,"target":"east"}'
expect_field target "an unknown field"
api POST /api/v1/faults '{"kind":'
expect_status 400 "broken JSON"
api GET /api/v1/faults
[ "$(json_get 'd["faults"]')" = "[]" ] || fail "a refused fault is in force: $body"
pass "faults: bad bodies answer 400 naming the field"

# ---- a node change with for_s ----------------------------------------------------
api PUT /api/v1/nodes/middle '{"state":"down","for_s":1}'
expect_status 200 "middle down for 1 s"
api GET /api/v1/nodes
[ "$(json_get '[n["state"] for n in d["nodes"] if n["name"] == "middle"][0]')" = down ] ||
	fail "middle is not down: $body"
wait_until /api/v1/nodes '[n["state"] for n in d["nodes"] if n["name"] == "middle"][0] == "up"' \
	"middle did not come back by itself"
pass "a node taken down for 1 s comes back by itself"

# Orders go through while a fault ends on its own.
api POST /api/v1/faults '{"kind":"duplicate","probability":0.5,"for_s":0.5}'
expect_status 201 "a duplicate fault under orders"
for i in 1 2 3 4 5; do
	api POST /api/v1/orders '{"region":"west","sku":"MOUSE","quantity":1,"id":"fo-'$i'"}'
	expect_status 200 "order fo-$i"
done
wait_until /api/v1/faults 'd["faults"] == []' "the duplicate fault did not end"

end_session f1
grep -q "heal one-way west" "$TMP/f1.out" || { cat "$TMP/f1.out" >&2; fail "the report's timeline lacks the partition's heal"; }
pass "shutdown: every check holds"
