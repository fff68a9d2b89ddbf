#!/bin/sh
# page.sh - the web page of `ddbsim serve` in headless Chromium
# (tests/browser/page_test.py) against a real server on a free port, with
# the page's files from the source tree.  Screenshots and the browser's
# console go to tests/browser/page-*.png and page-console.log in the build
# tree; DDBSIM_UPDATE_SCREENSHOTS=1 also writes doc/page.png and
# doc/page-mobile.png for the README.  No browser: skip (77), or a failure
# with DDBSIM_REQUIRE_BACKENDS=1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

missing=
[ -x "${CHROMEDRIVER:-/usr/bin/chromedriver}" ] || missing="chromedriver (chromium-driver)"
"$PY" -c 'import selenium' 2>/dev/null || missing="${missing:+$missing, }python3-selenium"
if [ -n "$missing" ]; then
	if [ "${DDBSIM_REQUIRE_BACKENDS:-0}" = 1 ]; then
		fail "no browser: $missing missing (DDBSIM_REQUIRE_BACKENDS=1: a failure; tools/deps.sh --test installs it)"
	fi
	echo "skip: no browser: $missing missing (tools/deps.sh --test installs it)"
	exit 77
fi

export DDBSIM_WWWDIR="$top_srcdir/www"
OUT="$top_builddir/tests/browser"
mkdir -p "$OUT"
rm -f "$OUT"/page-*.png "$OUT"/page-console.log
doc=
[ "${DDBSIM_UPDATE_SCREENSHOTS:-0}" = 1 ] && doc="--doc $top_srcdir/doc"

start_serve page -c "$CONF" -d "$TMP/data"
rc=0
# shellcheck disable=SC2086
timeout 300 "$PY" "$top_srcdir/tests/browser/page_test.py" "$SERVE_URL" "$OUT" $doc || rc=$?
if [ "$rc" -eq 77 ] && [ "${DDBSIM_REQUIRE_BACKENDS:-0}" = 1 ]; then
	rc=1
	echo "FAIL: the browser did not start (DDBSIM_REQUIRE_BACKENDS=1)" >&2
fi
echo "screenshots and the browser console: $OUT/page-*.png, $OUT/page-console.log"
api POST /api/v1/shutdown
stop_serve TERM
if [ "$rc" -ne 0 ]; then
	tail -n 20 "$TMP/page.err" >&2
	exit "$rc"
fi
[ "$serve_rc" -eq 0 ] || { tail -n 30 "$TMP/page.out" "$TMP/page.err" >&2; fail "serve exited $serve_rc after the page's session"; }
grep -q "all checks hold" "$TMP/page.out" || fail "no 'all checks hold' at shutdown"
pass "the page in Chromium; the session's checks hold at shutdown"
