#!/bin/sh
# The bundled scenarios with the documents store on MongoDB (the regions and
# the center on SQLite, as etc/mongo.conf has it): every check holds, the
# final state hash is the one of the same run on SQLite alone (the same rows
# in every store), and an independent client finds one order_product
# document per accepted order and one product_component document per
# product, shaped as doc/mongo.md says.  Then a short scenario with every
# store on MongoDB: the same again, and the regional stores hold nothing
# left between two steps.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/mongo/lib.sh"

# section NAME PLUGIN CONF: a store's section; the mongo plugin gets the
# stand-in's URI and a database prefix of the config's own.
section() {
	printf '\n[%s]\nplugin = %s\n' "$1" "$2"
	[ "$2" != mongo ] || printf 'uri = ${MONGO_URI}\ndatabase_prefix = %s%s_\n' "$MONGO_PREFIX" "$3"
}

# conf NAME REGIONS_AND_CENTER DOCUMENTS: a config file $TMP/NAME.conf.
conf() {
	{
		printf '[ddbsim]\nplugin_dir = ${DDBSIM_PLUGIN_DIR}\ndata_dir = %s/data-%s\n' "$TMP" "$1"
		printf '\n[transport]\nplugin = memory\n'
		section regions "$2" "$1"
		section central "$2" "$1"
		section documents "$3" "$1"
	} > "$TMP/$1.conf"
}
conf sqlite sqlite sqlite
conf docs sqlite mongo
conf all mongo mongo

# same_run NAME SCENARIO SEED: runs SCENARIO on config NAME and on SQLite
# alone; both hold every check and end in the same state.
same_run() {
	rm -rf "$TMP/data-sqlite" "$TMP/data-$1"
	ddbsim run -c "$CONF_DIR/sqlite.conf" "$2" --seed "$3" --report "$TMP/sqlite.json"
	expect_rc 0 "$(basename "$2") on SQLite"
	ddbsim run -c "$CONF_DIR/$1.conf" "$2" --seed "$3" --report "$TMP/$1.json"
	expect_rc 0 "$(basename "$2") with config $1"
	expect_out "all checks hold" "$(basename "$2") with config $1"
	want=$(json "$TMP/sqlite.json" .state_hash)
	got=$(json "$TMP/$1.json" .state_hash)
	[ "$got" = "$want" ] || fail "$(basename "$2") seed $3: state hash $got with config $1, $want on SQLite"
	n=$(json "$TMP/$1.json" .orders.accepted)
	pass "$(basename "$2") seed $3, config $1: $n orders, every check holds, state hash $got as on SQLite"
}
CONF_DIR=$TMP

for s in ecommerce:3 flash_sale:5 customers:42 chaos:7; do
	name=${s%%:*}
	seed=${s#*:}
	[ -f "$SCRIPTS/$name.lua" ] || fail "no bundled scenario $name.lua"
	same_run docs "$SCRIPTS/$name.lua" "$seed"
	mongo_py check_stores.py documents "$MONGO_URI" "${MONGO_PREFIX}docs_documents" \
		--sqlite "$TMP/data-docs" || fail "$name.lua: the documents on MongoDB"
	# The documents store through check and drain: nothing to do.
	ddbsim check -c "$TMP/docs.conf"
	expect_rc 0 "check after $name.lua"
done

# Every store on MongoDB.
same_run all "$top_srcdir/tests/integration/data/mongo/small.lua" 2
mongo_py check_stores.py regional "$MONGO_URI" "${MONGO_PREFIX}all_" east middle west ||
	fail "small.lua: the regional stores on MongoDB"
mongo_py check_stores.py documents "$MONGO_URI" "${MONGO_PREFIX}all_documents" \
	--mongo "${MONGO_PREFIX}all_" east middle west || fail "small.lua: the documents on MongoDB"
ddbsim drain -c "$TMP/all.conf"
expect_rc 0 "drain after small.lua on MongoDB"
mongo_drop_prefix
