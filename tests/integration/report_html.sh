#!/bin/sh
# report_html.sh - ddbsim run --html: the report of one run and the table of
# --runs, written by a run of data/report.lua (a region down, a slow center,
# rejections, and a failing Lua check whose name and detail hold markup);
# then opened from file:// in headless Chromium (tests/browser/
# report_html_test.py): charts drawn, checks table, markup shown as text, no
# network request, no console error.  Screenshots and console logs go to
# tests/integration/report_html.d/ in the build tree; with
# DDBSIM_UPDATE_SCREENSHOTS=1 the screenshots also replace doc/report.png and
# doc/report-runs.png in the source tree.  No browser: skipped (77), or a
# failure with DDBSIM_REQUIRE_BACKENDS=1.
. "$top_srcdir/tests/integration/lib.sh"

SCENARIO="$top_srcdir/tests/integration/data/report.lua"

# Usage errors and an unwritable path fail before anything runs.
ddbsim drain -c "$CONF" --html "$TMP/x.html"
expect_rc 2 "--html with drain"
expect_err "--html goes with run" "--html with drain"
ddbsim run -c "$CONF" "$SCENARIO" --html "$TMP/no/such/dir/r.html"
expect_rc 2 "--html into a missing directory"
expect_err "--html $TMP/no/such/dir/r.html" "--html into a missing directory"
[ ! -e "$TMP/data" ] || fail "--html into a missing directory: the run started"
pass "--html: usage errors and an unwritable path, before the run"

# One run: its failing check makes it exit 1; the page is written anyway.
ddbsim run -c "$CONF" "$SCENARIO" --seed 3 --html "$TMP/run.html"
expect_rc 1 "the run with a failing check"
[ -s "$TMP/run.html" ] && [ ! -e "$TMP/run.html.tmp" ] || fail "no report at $TMP/run.html"
# Self-contained: no src= or href= to load, the library inlined, and the
# markup of the check never appears as markup in the file.
LOADS='<(script|link|img|iframe)[^>]*(src|href)='
if grep -Eiq "$LOADS" "$TMP/run.html"; then
	fail "the report loads something: $(grep -Eio "$LOADS[^>]*" "$TMP/run.html" | head -3)"
fi
grep -q 'Dygraph' "$TMP/run.html" || fail "dygraphs is not inlined"
! grep -qF '<script>window.__xss' "$TMP/run.html" || fail "the check's name is markup in the file"
! grep -qF '<img src=x' "$TMP/run.html" || fail "the check's detail is markup in the file"
AS_JSON='\u003cscript\u003ewindow.__xss=1\u003c/script\u003e'
grep -qF "$AS_JSON" "$TMP/run.html" || fail "the check's name is not in the data block"
pass "--html: one self-contained file, values escaped"

# --runs: seeds 1, 2 and 5 fail (see report.lua).
ddbsim run -c "$CONF" "$SCENARIO" --param fail=some --runs 6 --seed 1 -q --html "$TMP/runs.html"
expect_rc 1 "--runs with failing seeds"
expect_out "6 runs from seed 1: 3 passed, 3 failed" "--runs"
[ -s "$TMP/runs.html" ] || fail "no --runs report"
pass "--runs --html: written"

LOGS="${top_builddir:?}/tests/integration/report_html.d"
rm -rf "$LOGS"
mkdir -p "$LOGS"
SHOTS=
[ "${DDBSIM_UPDATE_SCREENSHOTS:-0}" != 1 ] || SHOTS="$top_srcdir/doc"
status=0
export PYTHONDONTWRITEBYTECODE=1
timeout 300 /usr/bin/python3 "$top_srcdir/tests/browser/report_html_test.py" \
	"$TMP/run.html" "$TMP/runs.html" 6,3 "$LOGS" $SHOTS || status=$?
[ "$status" -ne 77 ] || exit 77
[ "$status" -eq 0 ] || fail "the report in Chromium (exit $status; logs and screenshots in $LOGS)"
pass "the reports in Chromium (screenshots in $LOGS)"
