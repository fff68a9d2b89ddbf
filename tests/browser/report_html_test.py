"""report_html_test.py - opens the HTML reports of `ddbsim run --html` in
headless Chromium from file:// and checks what a reader sees: every chart
drawn (canvas pixels read back), the checks table with the failing check
first, markup from the scenario shown as text and never run, no network
request, no console error.  Run by tests/integration/report_html.sh:

    report_html_test.py RUN_HTML RUNS_HTML RUNS_EXPECTED LOG_DIR [SCREENSHOT_DIR]

RUNS_EXPECTED: "N,FAILED" (the runs and failures of the --runs page).
With SCREENSHOT_DIR, the screenshots are also written there as report.png
and report-runs.png (DDBSIM_UPDATE_SCREENSHOTS=1 makes the wrapper pass
doc/)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import Browser, missing_browser, skip_or_fail  # noqa: E402

MARKUP = "<script>window.__xss=1</script>"
DETAIL_MARKUP = '<img src=x onerror="window.__xss=1">'
LICENSE_FILE = os.environ.get("DYGRAPHS_LICENSE", "/usr/share/doc/libjs-dygraphs/copyright")


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok: %s" % what)


def file_url(path):
    return "file://" + os.path.abspath(path)


def no_network(b, url):
    others = [u for u in b.network_requests() if u != url]
    check(not others, "no network request besides the file itself (%s)" % (others or "none"))


def no_console_errors(b):
    errors = b.console_errors()
    check(not errors, "no console error (%s)" % ([e["message"] for e in errors] or "none"))


def run_page(b, path, shots):
    url = file_url(path)
    b.open(url)
    b.wait_for("return window.ddbsimGraphs && window.ddbsimGraphs.length >= 5",
               "the five charts of the run")
    # Each chart's canvases: the largest count of drawn pixels among them.
    drawn = b.run("""
        return Array.from(document.querySelectorAll('.chart')).map(function (div) {
            var best = 0;
            div.querySelectorAll('canvas').forEach(function (c) {
                if (!c.width || !c.height) return;
                var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;
                for (var i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                best = Math.max(best, n);
            });
            return [div.parentNode.querySelector('h3').textContent, best];
        });""")
    check(len(drawn) == 5, "five charts: %s" % [t for t, _ in drawn])
    for title, pixels in drawn:
        check(pixels > 500, "chart '%s' has drawn pixels (%d)" % (title, pixels))
    band = b.canvas_pixels("canvas.band")
    check(len(band) == 1 and band[0] > 500, "the node state band is drawn (%s pixels)" % band)
    # The outage of south: a red segment in the band, a shaded window.
    red = b.run("""
        var c = document.querySelector('canvas.band'), ctx = c.getContext('2d');
        var d = ctx.getImageData(0, 0, c.width, c.height).data, n = 0;
        for (var i = 0; i < d.length; i += 4)
            if (d[i] === 0xf8 && d[i + 1] === 0x71 && d[i + 2] === 0x71) n++;
        return n;""")
    check(red > 50, "the band shows a node down (%d red pixels)" % red)

    rows = b.run("""
        return Array.from(document.querySelectorAll('table.checks tbody tr')).map(function (tr) {
            return Array.from(tr.cells).map(function (td) { return td.textContent; });
        });""")
    check(len(rows) >= 10, "the checks table has %d rows" % len(rows))
    check(rows[0][1] == "FAIL" and rows[0][0] == "lua:" + MARKUP,
          "the failing check comes first, its name shown as text: %r" % rows[0][0])
    check(DETAIL_MARKUP in rows[0][2], "its detail (the first offending rows) shown as text")
    check(all(r[1] == "ok" for r in rows[1:]), "the other checks hold")
    check(b.run("return window.__xss === undefined"), "no markup from the scenario ran")
    check(b.run("return document.querySelectorAll('img').length === 0 && "
                "document.querySelectorAll('script').length === 3"),
          "no element made from a value (no img; 3 scripts: data, dygraphs, report)")
    legend = b.run("return document.querySelector('.chart-box .legend').textContent")
    check("rejected: rule:<i>over_limit</i>" in legend and
          b.run("return document.querySelectorAll('i').length === 0"),
          "a rule's reason with markup in the chart legend, as text: %r" % legend)
    title = b.run("return document.title")
    check("report.lua" in title, "the title names the scenario: %r" % title)
    command = b.run("return document.querySelector('code.command').textContent")
    check(command.startswith("ddbsim run ") and "--seed 3" in command,
          "the reproduce command: %s" % command)
    notice = b.run("return document.getElementById('dygraphs-license').textContent")
    check("LICENSE.txt" in notice, "the dygraphs license link is there")
    if os.path.exists(LICENSE_FILE):
        check("Permission is hereby granted" in notice, "the license notice (%s) is there"
              % LICENSE_FILE)
    no_network(b, url)
    no_console_errors(b)
    b.screenshot("report", os.path.join(shots, "report.png") if shots else None)


def runs_page(b, path, expected, shots):
    url = file_url(path)
    runs, failed = (int(x) for x in expected.split(","))
    b.open(url)
    b.wait_for("return document.querySelector('table.runs tbody tr') !== null", "the seeds table")
    rows = b.run("""
        return Array.from(document.querySelectorAll('table.runs tbody tr')).map(function (tr) {
            return Array.from(tr.cells).map(function (td) { return td.textContent; });
        });""")
    check(len(rows) == runs, "one row per seed (%d)" % len(rows))
    results = [r[1] for r in rows]
    check(results == ["FAIL"] * failed + ["ok"] * (runs - failed),
          "failures first: %s" % results)
    for r in rows[:failed]:
        check(MARKUP in r[2] and DETAIL_MARKUP in r[2],
              "seed %s: its failed check and detail, as text" % r[0])
        check(r[3].startswith("ddbsim run ") and ("--seed %s" % r[0]) in r[3],
              "seed %s: its reproduce command" % r[0])
    check(b.run("return window.__xss === undefined && "
                "document.querySelectorAll('img').length === 0"), "no markup from the scenario ran")
    no_network(b, url)
    no_console_errors(b)
    b.screenshot("report-runs", os.path.join(shots, "report-runs.png") if shots else None)


def main():
    if len(sys.argv) not in (5, 6):
        print(__doc__)
        return 2
    run_html, runs_html, expected, log_dir = sys.argv[1:5]
    shots = sys.argv[5] if len(sys.argv) == 6 else None
    why = missing_browser()
    if why:
        skip_or_fail(why)
    with Browser(os.path.join(log_dir, "run"), 1280, 800) as b:
        run_page(b, run_html, shots)
    with Browser(os.path.join(log_dir, "runs"), 1280, 800) as b:
        runs_page(b, runs_html, expected, shots)
    with Browser(os.path.join(log_dir, "phone"), 390, 844) as b:
        b.open(file_url(run_html))
        b.wait_for("return window.ddbsimGraphs && window.ddbsimGraphs.length >= 5", "the charts")
        width = b.run("return document.documentElement.scrollWidth")
        check(width <= 390, "no horizontal scrolling at 390 px wide (%d)" % width)
        no_console_errors(b)
        b.screenshot("report-phone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
