#!/bin/sh
# page.sh - the web page of `ddbsim serve` in headless Chromium
# (tests/browser/page_test.py) against a real server on a free port, with
# the page's files from the source tree.  Screenshots and the browser's
# console go to tests/integration/page.d/ in the build tree (page-*.png,
# console.log); DDBSIM_UPDATE_SCREENSHOTS=1 also writes doc/page.png and
# doc/page-mobile.png for the README.  No browser: skip (77), or a failure
# with DDBSIM_REQUIRE_BACKENDS=1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

# No browser (browser.py says what is missing): skip (77), or fails under DDBSIM_REQUIRE_BACKENDS=1,
# before the server is started.
missing=$(cd "$top_srcdir/tests/browser" && "$PY" -c 'import browser; print(browser.missing_browser() or "")')
if [ -n "$missing" ]; then
	rc=0
	"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import browser; browser.skip_or_fail(sys.argv[2])' \
		"$top_srcdir/tests/browser" "$missing" || rc=$?
	exit "$rc"
fi

export DDBSIM_WWWDIR="$top_srcdir/www"
OUT="$top_builddir/tests/integration/page.d"
rm -rf "$OUT"
mkdir -p "$OUT"
doc=
[ "${DDBSIM_UPDATE_SCREENSHOTS:-0}" = 1 ] && doc="--doc $top_srcdir/doc"

start_serve page -c "$CONF" -d "$TMP/data"
rc=0
# shellcheck disable=SC2086
timeout 300 "$PY" "$top_srcdir/tests/browser/page_test.py" "$SERVE_URL" "$OUT" $doc || rc=$?
echo "screenshots and the browser console: $OUT/page-*.png, $OUT/console.log"
api POST /api/v1/shutdown
stop_serve TERM
if [ "$rc" -ne 0 ]; then
	tail -n 20 "$TMP/page.err" >&2
	exit "$rc"
fi
[ "$serve_rc" -eq 0 ] || { tail -n 30 "$TMP/page.out" "$TMP/page.err" >&2; fail "serve exited $serve_rc after the page's session"; }
grep -q "all checks hold" "$TMP/page.out" || fail "no 'all checks hold' at shutdown"
pass "the page in Chromium; the session's checks hold at shutdown"

# With a token: the page's files need none, the page asks for it.
echo "page-token-$$" > "$TMP/token"
start_serve page-token -c "$CONF" -d "$TMP/data2" --param background=no --token-file "$TMP/token"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$SERVE_URL/")
[ "$code" = 200 ] || fail "GET / with a token set: $code, expected 200 (the page holds no data)"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$SERVE_URL/api/v1/nodes")
[ "$code" = 401 ] || fail "GET /api/v1/nodes without the token: $code, expected 401"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --max-time 10 "$SERVE_URL/app.js")
[ "$code" = 401 ] || fail "POST /app.js without the token: $code, expected 401"
rc=0
timeout 120 "$PY" "$top_srcdir/tests/browser/page_test.py" "$SERVE_URL" "$OUT/token" --token "page-token-$$" || rc=$?
stop_serve TERM
[ "$rc" -eq 0 ] || { tail -n 20 "$TMP/page-token.err" >&2; exit "$rc"; }
[ "$serve_rc" -eq 0 ] || fail "serve with a token exited $serve_rc"
pass "with a token: the page without it, the API with it"
