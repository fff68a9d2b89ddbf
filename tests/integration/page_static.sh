#!/bin/sh
# page_static.sh - the page's files as `ddbsim serve` serves them (no browser
# needed): each of the fixed list with its type and the security headers,
# the same bytes as the files; HEAD too; other methods 405; any other path,
# however it is spelled, 404 and never a file's content; a file that cannot
# be read answered 503 with its path.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

export DDBSIM_WWWDIR="$top_srcdir/www"
DYG=${DDBSIM_DYGRAPHSDIR:-/usr/share/javascript/dygraphs}
[ -r "$DYG/dygraph.min.js" ] || fail "no $DYG/dygraph.min.js: configure requires libjs-dygraphs"

start_serve static -c "$CONF" -d "$TMP/data" --param background=no

# get PATH: status in $code, body in $TMP/got, headers in $TMP/headers.
get() {
	how=
	case "${2:-GET}" in GET) ;; HEAD) how=-I ;; *) how="-X $2" ;; esac
	# shellcheck disable=SC2086
	code=$(curl -s --path-as-is -o "$TMP/got" -D "$TMP/headers" -w '%{http_code}' --max-time 10 \
	       $how "$SERVE_URL$1") || code=000
}

for pair in "/:$top_srcdir/www/index.html:text/html" \
            "/index.html:$top_srcdir/www/index.html:text/html" \
            "/app.js:$top_srcdir/www/app.js:text/javascript" \
            "/app.css:$top_srcdir/www/app.css:text/css" \
            "/dygraph.min.js:$DYG/dygraph.min.js:text/javascript" \
            "/dygraph.min.css:$DYG/dygraph.min.css:text/css"; do
	path=${pair%%:*}; rest=${pair#*:}; file=${rest%%:*}; type=${rest#*:}
	get "$path"
	[ "$code" = 200 ] || fail "GET $path: $code"
	cmp -s "$TMP/got" "$file" || fail "GET $path: not the bytes of $file"
	grep -qi "^content-type: $type" "$TMP/headers" || fail "GET $path: $(grep -i content-type "$TMP/headers")"
	grep -qi "^content-security-policy: default-src 'self'" "$TMP/headers" || fail "GET $path: no CSP"
	grep -qi "^x-content-type-options: nosniff" "$TMP/headers" || fail "GET $path: no nosniff"
done
get /LICENSE-dygraphs
[ "$code" = 200 ] && grep -q "MIT" "$TMP/got" || fail "GET /LICENSE-dygraphs: $code"
pass "the fixed list: each file's bytes, type and headers"

get / HEAD
[ "$code" = 200 ] || fail "HEAD /: $code"
grep -qi "^content-length: $(wc -c < "$top_srcdir/www/index.html")" "$TMP/headers" ||
	fail "HEAD /: $(grep -i content-length "$TMP/headers")"
for m in POST PUT DELETE; do
	get /app.js "$m"
	[ "$code" = 405 ] || fail "$m /app.js: $code, expected 405"
done
for path in /app.js/ //app.js /www/app.js /index.htm /APP.JS /..%2fetc%2fpasswd \
            /../../../../etc/passwd /app.js/../../../etc/passwd /local.mk /favicon.ico \
            /%2e%2e/%2e%2e/etc/passwd /dygraph.js /dygraph.min.js.map /app.js%00 \
            /app.js%00.png /index.html%00x; do
	get "$path"
	[ "$code" = 404 ] || fail "GET $path: $code, expected 404"
	! grep -q "root:" "$TMP/got" || fail "GET $path: a file's content"
done
pass "HEAD; other methods 405; other paths 404"

# A NUL in a path does not cut it short: an order id with %00 is not
# another order's.
api POST /api/v1/orders '{"region":"east","sku":"MOUSE","quantity":1,"id":"o1"}'
expect_status 200 "an order"
api GET /api/v1/orders/o1%00x
expect_status 404 "GET /api/v1/orders/o1%00x"
api GET /api/v1/orders/o%31
expect_status 200 "GET /api/v1/orders/o%31 (an escaped byte still decodes)"
pass "%00 in a path matches nothing; other escapes decode"
stop_serve TERM

DDBSIM_DYGRAPHSDIR="$TMP/nowhere" start_serve missing -c "$CONF" -d "$TMP/data" --param background=no
get /dygraph.min.js
[ "$code" = 503 ] || fail "a missing dygraph.min.js: $code, expected 503"
grep -q "$TMP/nowhere/dygraph.min.js" "$TMP/got" || fail "the 503 does not name the file: $(cat "$TMP/got")"
get /
[ "$code" = 200 ] || fail "GET / with dygraphs missing: $code"
stop_serve TERM
pass "a file that cannot be read: 503 naming it"
