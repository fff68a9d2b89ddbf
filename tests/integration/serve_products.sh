#!/bin/sh
# serve_products.sh - POST /api/v1/products on the embedded default (or
# full.conf, see serve_lib.sh): a new product with components and stock
# reaches every region and can be ordered
# at once; a new version replaces it; a region that is down is skipped and
# named; bad input (price, stock, components, sku, unknown fields) is
# refused with 400 naming the field; at shutdown every check holds (the
# product is at the center and in the components store).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

start_serve p1 -c "$CONF" -d "$TMP/data" --param background=no

api POST /api/v1/products '{"sku":"DOCK","name":"Dock","price":129.5,"stock":{"east":5,"west":2},"components":{"KEYBOARD":1,"MOUSE":2}}'
expect_status 200 "a new product"
[ "$(json_get 'd["version"]')" = 1 ] || fail "a new product is not version 1: $body"
[ "$(json_get 'd["price_cents"]')" = 12950 ] || fail "price 129.5 is not 12950 cents: $body"
[ "$(json_get 'd["regions"]')" = 3 ] || fail "not every region took the product: $body"
[ "$(json_get 'sorted(d["components"].items())')" = "[('KEYBOARD', 1), ('MOUSE', 2)]" ] ||
	fail "components: $body"
api POST /api/v1/orders '{"region":"east","sku":"DOCK","quantity":5,"id":"d-1"}'
[ "$(json_get 'd["status"]')" = accepted ] || fail "the new product cannot be ordered: $body"
[ "$(json_get 'd["unit_price_cents"]')" = 12950 ] || fail "the order's price: $body"
api POST /api/v1/orders '{"region":"east","sku":"DOCK","quantity":1,"id":"d-2"}'
[ "$(json_get 'd["reason"]')" = stock ] || fail "east had 5 DOCK only: $body"
api POST /api/v1/orders '{"region":"middle","sku":"DOCK","quantity":1,"id":"d-3"}'
[ "$(json_get 'd["reason"]')" = stock ] || fail "middle had no DOCK stock: $body"
pass "a new product reaches the regions with its stock and sells at once"

api POST /api/v1/products '{"sku":"DOCK","name":"Dock 2","price_cents":9900,"stock":{"middle":3}}'
expect_status 200 "a new version"
[ "$(json_get 'd["version"]')" = 2 ] || fail "a second post is not version 2: $body"
api POST /api/v1/orders '{"region":"middle","sku":"DOCK","quantity":3,"id":"d-4"}'
[ "$(json_get 'd["status"]')" = accepted ] || fail "middle's restock of DOCK: $body"
[ "$(json_get 'd["unit_price_cents"]')" = 9900 ] || fail "the new version's price: $body"
pass "a new version replaces the product (price, stock)"

api PUT /api/v1/nodes/west '{"state":"down"}'
expect_status 200 "west down"
api POST /api/v1/products '{"sku":"CABLE","price":5,"stock":{"east":10,"west":10}}'
expect_status 200 "a product while west is down"
[ "$(json_get 'd["regions"]')" = 2 ] || fail "two regions should take CABLE: $body"
[ "$(json_get 'd["skipped"]')" = 'west (down)' ] || fail "west is not named as skipped: $body"
api PUT /api/v1/nodes/west '{"state":"up"}'
expect_status 200 "west up"
pass "a region that is down is skipped and named"

bad() { # bad BODY FIELD WHAT
	api POST /api/v1/products "$1"
	expect_status 400 "$3"
	[ "$(json_get 'd.get("field")')" = "$2" ] || fail "$3: field should be $2: $body"
}
bad '{"sku":"X1","price":1000000.01}' price "a price above 10^6"
bad '{"sku":"X1","price":-1}' price "a negative price"
bad '{"sku":"X1","price_cents":100000001}' price_cents "price_cents above 10^8"
bad '{"sku":"X1","price":1,"price_cents":100}' price_cents "price and price_cents"
bad '{"sku":"X1"}' price "no price"
bad '{"price":1}' sku "no sku"
bad '{"sku":"a b","price":1}' sku "a sku with a space"
bad '{"sku":"X1","price":1,"stock":{"east":10000000001}}' stock.east "stock above 10^10"
bad '{"sku":"X1","price":1,"stock":{"east":-1}}' stock.east "negative stock"
bad '{"sku":"X1","price":1,"stock":{"mars":1}}' stock.mars "stock of an unknown region"
bad '{"sku":"X1","price":1,"stock":{"east":9000000000,"west":1000000000}}' stock \
	"stock past the units a run may sell"
bad '{"sku":"X1","price":1,"components":{"NOPE":1}}' components.NOPE "an unknown component"
bad '{"sku":"X1","price":1,"components":{"X1":1}}' components.X1 "its own component"
bad '{"sku":"X1","price":1,"components":{"MOUSE":0}}' components.MOUSE "component quantity 0"
bad '{"sku":"X1","price":1,"colour":"red"}' colour "an unknown field"
api POST /api/v1/orders '{"region":"east","sku":"X1","quantity":1}'
[ "$(json_get 'd["reason"]')" = invalid ] || fail "a refused product became orderable: $body"
pass "bad products are refused with 400 naming the field, and change nothing"

end_session p1
pass "shutdown: the products are at the center and in the components store, every check holds"
