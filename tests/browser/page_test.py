#!/usr/bin/python3
"""page_test.py - the web page of `ddbsim serve` in headless Chromium,
against a real server (tests/integration/page.sh starts it): the page
loads without console errors; a region taken down with its control queues
a customer's write and the record is read from its replica; brought up,
the queue drains and the record is read from home; a change made through
the API shows within 2 s; every chart has drawn pixels; a value holding
<script> shows as text; an API error shows on the page; the page fits
1280x800 and 390x844.  Each step saves a screenshot beside the logs.

usage: page_test.py URL OUTDIR [--doc DOCDIR] [--token TOKEN]
(the screenshots and the console log go to OUTDIR; with --doc, page.png and
page-mobile.png to DOCDIR too; with --token, only the steps of a server
started with that token)
Exit 0 all passed, 1 a step failed, 77 no browser (skip).
"""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import Browser, missing_browser, skip_or_fail  # noqa: E402

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
except ImportError:  # missing_browser() says so, in main
    By = Keys = None

WAIT_S = 15


class StepFailed(Exception):
    pass


class Page:
    """The page in a Browser (browser.py), with what its steps ask of it."""

    def __init__(self, browser, url, outdir, token=None):
        self.token = token
        self.b = browser
        self.d = browser.driver
        self.url = url.rstrip("/")
        self.outdir = outdir
        self.seen = 0  # console entries already looked at

    # -- browser helpers ---------------------------------------------------
    def viewport(self, w, h, mobile=False):
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": w, "height": h, "deviceScaleFactor": 1,
                                "mobile": mobile})

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def wait(self, what, fn, timeout=WAIT_S):
        """Polls fn until it answers something true; its value, or StepFailed."""
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                last = fn()
                if last:
                    return last
            except Exception as e:  # a script error while the page changes
                last = e
            time.sleep(0.1)
        raise StepFailed("waited %g s for %s (last: %r)" % (timeout, what, last))

    def console(self):
        """Console entries since the last call."""
        every = self.b.console()
        got = every[self.seen:]
        self.seen = len(every)
        return got

    def screenshot(self, name, also_to=None):
        path = self.b.screenshot("page-" + name, also_to=also_to)
        print("  screenshot: %s" % path)
        return path

    def click(self, css):
        e = self.d.find_element(By.CSS_SELECTOR, css)
        self.js("arguments[0].scrollIntoView({block: 'center'})", e)
        e.click()

    def fill(self, css, text):
        e = self.d.find_element(By.CSS_SELECTOR, css)
        e.clear()
        e.send_keys(text)

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]);"
                       "return e ? e.textContent : null;", css)

    def node_state(self, name):
        return self.js("const r = document.querySelector('#nodes tr[data-node=\"' + arguments[0] + '\"]');"
                       "return r ? r.dataset.state : null;", name)

    def tracked(self, cid):
        return self.js("const r = document.querySelector('#tracked tr[data-id=\"' + arguments[0] + '\"]');"
                       "return r ? {copy: r.dataset.copy || null, by: r.dataset.servedBy || null,"
                       " text: r.textContent} : null;", cid)

    def queued(self, node):
        return self.js("const e = document.querySelector('#queued li[data-queue=\"node.' + arguments[0] + '\"]');"
                       "return e ? e.textContent : null;", node)

    # -- the API, directly (not through the page) ------------------------------
    def api(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(self.url + "/api/v1" + path, data=data, method=method,
                                     headers=headers)
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.load(res)


def severe(entries, allowed=()):
    return [e for e in entries
            if e.get("level") == "SEVERE" and not any(a in e.get("message", "") for a in allowed)]


# ---- the steps ---------------------------------------------------------------

REGION = "east"          # the first region: zips 1000-39999 live there
REPLICA = "west"         # its copies live on the third (1 on 3)
OTHER = "middle"
CITY = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">Springfield"
CID = "page-c1"


def step_load(p):
    p.viewport(1280, 800)
    p.d.get(p.url + "/")
    p.wait("the nodes table", lambda: p.node_state(REGION) == "up")
    p.wait("the live stream", lambda: "live" in (p.text("#stream") or ""))
    p.wait("a sample in the charts", lambda: p.js("return document.querySelectorAll('.chart canvas').length >= 3"))
    time.sleep(1.5)
    bad = severe(p.console())
    if bad:
        raise StepFailed("console errors on load: %s" % bad)
    title = p.d.title
    if "ddbsim" not in title:
        raise StepFailed("title: %r" % title)


def step_down_and_create(p):
    # Keyboard: the control is a real button, pressed with Enter.
    b = p.d.find_element(By.CSS_SELECTOR, '#nodes button[data-node="%s"][data-action="down"]' % REGION)
    p.js("arguments[0].scrollIntoView({block: 'center'})", b)
    b.send_keys(Keys.ENTER)
    p.wait("%s shown down" % REGION, lambda: p.node_state(REGION) == "down")
    # The control keeps the focus while samples come (its row is updated,
    # not made again).
    time.sleep(1.5)
    if not p.js("return document.activeElement === arguments[0]", b):
        raise StepFailed("the Down button lost the keyboard focus")
    state = p.api("GET", "/nodes")
    if [n["state"] for n in state["nodes"] if n["name"] == REGION] != ["down"]:
        raise StepFailed("the server does not have %s down: %s" % (REGION, state))
    p.fill("#c-id", CID)
    p.fill("#c-zip", "12345")
    p.fill("#c-city", CITY)
    p.fill("#c-state", "MA")
    route = p.wait("the route preview", lambda: p.js(
        "const h = document.querySelector('#c-route [data-role=home]'),"
        " r = document.querySelector('#c-route [data-role=replica]');"
        "return h && r ? [h.dataset.region, r.dataset.region, h.textContent] : null;"))
    if route[0] != REGION or route[1] != REPLICA or "queued" not in route[2]:
        raise StepFailed("the preview before submit says %r, expected home %s (down: queued), replica %s"
                         % (route, REGION, REPLICA))
    p.click("#c-create")
    fate = p.wait("the create's answer", lambda: p.js(
        "const h = document.querySelector('#c-result [data-role=home]'),"
        " r = document.querySelector('#c-result [data-role=replica]');"
        "return h && r ? [h.dataset.write, r.dataset.write] : null;"))
    if fate != ["queued", "written"]:
        raise StepFailed("home/replica writes shown as %r, expected queued/written" % fate)
    p.wait("the queued write for %s" % REGION, lambda: p.queued(REGION))
    t = p.wait("the record read from its replica",
               lambda: (lambda r: r if r and r["copy"] == "replica" else None)(p.tracked(CID)))
    if t["by"] != REPLICA:
        raise StepFailed("read from %r, expected the replica %s" % (t, REPLICA))
    print("  queued: %s" % p.queued(REGION).strip())


def step_up_and_drain(p):
    p.click('#nodes button[data-node="%s"][data-action="up"]' % REGION)
    p.wait("%s shown up" % REGION, lambda: p.node_state(REGION) == "up")
    p.wait("the queue of %s drained" % REGION, lambda: p.queued(REGION) is None)
    t = p.wait("the record read from home",
               lambda: (lambda r: r if r and r["copy"] == "home" else None)(p.tracked(CID)))
    if t["by"] != REGION:
        raise StepFailed("read from %r, expected home %s" % (t, REGION))


def step_follows_api(p):
    for want in ("down", "up"):
        p.api("PUT", "/nodes/" + OTHER, {"state": want})
        t0 = time.monotonic()
        p.wait("%s %s through the API" % (OTHER, want), lambda: p.node_state(OTHER) == want, timeout=2.0)
        print("  %s %s shown after %.2f s" % (OTHER, want, time.monotonic() - t0))


def step_for_and_partition(p):
    """Slow for 2 s heals by itself (the page follows); a partition until
    undone is listed, and its Undo button ends it; a fault for 3 s is listed
    and goes by itself."""
    p.fill("#node-for", "2")
    p.fill("#node-latency", "150")
    p.click('#nodes button[data-node="broker"][data-action="slow"]')
    p.wait("broker slow", lambda: p.node_state("broker") == "slow")
    t0 = time.monotonic()
    p.wait("broker up again by itself", lambda: p.node_state("broker") == "up", timeout=6)
    print("  slow for 2 s: up again after %.1f s" % (time.monotonic() - t0))
    p.fill("#node-for", "")
    p.click('#nodes button[data-node="documents"][data-action="partition"]')
    parts = p.wait("the partition listed", lambda: p.api("GET", "/partitions")["partitions"])
    if parts[0]["from"] != ["documents"] or "central" not in parts[0]["to"] or parts[0]["until_s"] is not None:
        raise StepFailed("the partition made: %r" % parts)
    p.wait("the partition on the page", lambda: "documents" in (p.text("#cuts") or ""))
    p.click("#cuts button")
    p.wait("the partition ended", lambda: not p.api("GET", "/partitions")["partitions"])
    p.wait("the partition gone from the page", lambda: "none" in (p.text("#cuts") or ""))
    # A message fault for 3 s: listed, then gone by itself.
    p.fill("#node-for", "3")
    p.js("document.getElementById('fault-kind').value = 'duplicate'")
    p.fill("#fault-p", "0.5")
    p.click("#fault-add")
    faults = p.wait("the fault made", lambda: p.api("GET", "/faults")["faults"])
    if faults[0]["kind"] != "duplicate" or faults[0]["probability"] != 0.5 or faults[0]["until_s"] is None:
        raise StepFailed("the fault made: %r" % faults)
    p.wait("the fault on the page", lambda: "duplicate" in (p.text("#cuts") or ""))
    p.wait("the fault gone by itself", lambda: "none" in (p.text("#cuts") or ""), timeout=8)
    p.fill("#node-for", "")


# Per chart: its canvases' drawn pixels (alpha > 0), and among them the
# opaque, coloured ones: the series' lines (axes and grid are grey, the
# fault shading is faint), or the band's states.
PIXELS_JS = """
const out = {};
for (const id of ['chart-orders', 'chart-lag', 'chart-queues', 'node-band']) {
  const root = document.getElementById(id);
  const cs = root.tagName === 'CANVAS' ? [root] : [...root.querySelectorAll('canvas')];
  let drawn = 0, lines = 0;
  for (const c of cs) {
    if (!c.width || !c.height) continue;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      drawn++;
      const hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
      if (d[i + 3] > 200 && hi - lo > 60) lines++;
    }
  }
  out[id] = [drawn, lines];
}
return out;
"""


def step_charts(p):
    # The samples of a few seconds, with east's outage in them.
    p.wait("a few samples", lambda: p.js("return document.querySelectorAll('.chart canvas').length") >= 3)
    time.sleep(2)
    px = p.js(PIXELS_JS)
    print("  pixels drawn, coloured: %s" % px)
    empty = [k for k, (drawn, lines) in px.items() if drawn < 200 or lines < 50]
    if empty:
        raise StepFailed("charts with (almost) nothing drawn: %s" % empty)
    legends = p.js("return ['orders', 'lag', 'queues'].map(k => document.getElementById('legend-' + k).textContent)")
    for want, legend in zip(("accepted", "p99", "node.%s" % REGION), legends):
        if want not in legend:
            raise StepFailed("legend %r lacks %s" % (legend, want))


def step_text_only(p):
    shown = p.js("const r = document.querySelector('#tracked tr[data-id=\"%s\"]');"
                 "return r ? r.cells[5].textContent : null;" % CID)
    if shown != CITY:
        raise StepFailed("the city shows as %r, expected the text %r" % (shown, CITY))
    if p.js("return window.__xss || 0"):
        raise StepFailed("the <script> value ran")
    if p.js("return document.querySelectorAll('main script, main img').length"):
        raise StepFailed("the value became elements")
    # The filter view too.
    p.fill("#f-zip-min", "12345")
    p.fill("#f-zip-max", "12345")
    p.click("#f-search")
    p.wait("the filter's row", lambda: p.js(
        "const r = document.querySelector('#filtered tr[data-id=\"%s\"]');"
        "return r ? r.cells[4].textContent : null;" % CID) == CITY)
    if p.js("return window.__xss || 0") or p.js("return document.querySelectorAll('main script, main img').length"):
        raise StepFailed("the <script> value ran in the filter view")


def step_unavailable_flagged(p):
    # Both copies of REGION's records down: the filter flags the region.
    for n in (REGION, REPLICA):
        p.api("PUT", "/nodes/" + n, {"state": "down"})
    p.wait("both down on the page", lambda: p.node_state(REGION) == "down" and p.node_state(REPLICA) == "down")
    p.click("#f-search")
    msg = p.wait("the unavailable regions flagged", lambda: p.js(
        "const w = document.getElementById('f-unavailable'); return w.hidden ? null : w.textContent;"))
    if REGION not in msg:
        raise StepFailed("flagged %r, expected %s named" % (msg, REGION))
    p.screenshot("unavailable")
    for n in (REGION, REPLICA):
        p.api("PUT", "/nodes/" + n, {"state": "up"})
    p.wait("both up again", lambda: p.node_state(REGION) == "up" and p.node_state(REPLICA) == "up")


def step_error_shown(p):
    p.console()
    p.fill("#c-id", "page-bad-zip")
    p.fill("#c-zip", "500")
    p.fill("#c-city", "Nowhere")
    p.fill("#c-state", "XX")
    p.click("#c-create")
    msg = p.wait("the error area", lambda: p.js(
        "const e = document.getElementById('errors'); return e.hidden ? null : e.textContent;"))
    if "400" not in msg:
        raise StepFailed("the error area says %r, expected the 400" % msg)
    # It stays until closed: the page's polls (the filter of step 8 among
    # them) do not dismiss it.
    time.sleep(2.5)
    if p.js("return document.getElementById('errors').hidden"):
        raise StepFailed("the error went away by itself before it was closed")
    p.screenshot("error")
    p.click("#error-close")
    p.wait("the error dismissed", lambda: p.js("return document.getElementById('errors').hidden"))
    # The only console entry allowed: the 400 itself.
    bad = severe(p.console(), allowed=("status of 400",))
    if bad:
        raise StepFailed("console errors: %s" % bad)


def step_orders_and_checks(p):
    p.js("document.getElementById('o-region').value = arguments[0]", OTHER)
    p.fill("#o-quantity", "2")
    p.click("#o-place")
    p.wait("the order's answer", lambda: "accepted" in (p.text("#o-result") or ""))
    p.wait("sales by region", lambda: p.js("return document.querySelectorAll('#sales-regions tbody tr').length") >= 3)
    p.click("#checks-run")
    s = p.wait("the checks", lambda: p.js("return document.querySelectorAll('#checks li').length")
               and p.text("#checks-summary"))
    if "all hold" not in s:
        raise StepFailed("the checks: %r" % s)


def fits(p, w):
    return p.js("return document.documentElement.scrollWidth") <= w


def step_layouts(p, doc):
    """Both sizes fit, every control reachable; the screenshots (for the
    README too) while a region is down with a write queued for it."""
    p.api("PUT", "/nodes/" + REGION, {"state": "down"})
    p.wait("%s down" % REGION, lambda: p.node_state(REGION) == "down")
    p.fill("#c-id", "cambridge-1")
    p.fill("#c-zip", "2139")
    p.fill("#c-city", "Cambridge")
    p.fill("#c-state", "MA")
    p.click("#c-create")
    p.wait("the new record read from its replica",
           lambda: (lambda r: r and r["copy"] == "replica")(p.tracked("cambridge-1")))
    p.fill("#f-zip-min", "1000")
    p.fill("#f-zip-max", "39999")
    p.fill("#f-city", "")
    p.click("#f-search")
    p.wait("the filter's rows", lambda: p.js("return document.querySelectorAll('#filtered tr[data-id]').length"))
    p.wait("the queue shown", lambda: p.queued(REGION))
    # The controls as a person finds them (the steps before changed them).
    p.fill("#node-latency", "200")
    p.js("const k = document.getElementById('fault-kind'); k.value = 'delay';"
         "k.dispatchEvent(new Event('change'))")
    p.fill("#fault-p", "0.2")
    p.js("document.activeElement.blur()")
    p.viewport(1280, 800)
    p.js("window.scrollTo(0, 0)")
    time.sleep(2.5)
    if not fits(p, 1280):
        raise StepFailed("wider than 1280: %s" % p.js("return document.documentElement.scrollWidth"))
    p.screenshot("desktop", also_to=os.path.join(doc, "page.png") if doc else None)
    p.viewport(390, 844, mobile=True)
    time.sleep(1.5)
    if not fits(p, 390):
        raise StepFailed("wider than 390: %s" % p.js("return document.documentElement.scrollWidth"))
    # Every control is reachable: none is cut off at the right edge.
    cut = p.js("return [...document.querySelectorAll('button, input, select')]"
               ".filter(e => e.getBoundingClientRect().right > 390 + 1 && !e.closest('.scroll'))"
               ".map(e => e.id || e.textContent)")
    if cut:
        raise StepFailed("controls past the right edge at 390 px: %s" % cut)
    p.js("window.scrollTo(0, 0)")
    time.sleep(0.5)
    p.screenshot("mobile", also_to=os.path.join(doc, "page-mobile.png") if doc else None)
    p.viewport(1280, 800)
    p.api("PUT", "/nodes/" + REGION, {"state": "up"})
    p.wait("the queue of %s drained again" % REGION, lambda: p.queued(REGION) is None)


def step_token(p):
    """A server with a token: the page loads without it, asks for it, a
    wrong one is refused, the right one opens the API and the stream."""
    p.viewport(1280, 800)
    p.d.get(p.url + "/")
    p.wait("the token asked for", lambda: p.js("return !document.getElementById('token-form').hidden"))
    if p.node_state(REGION) is not None:
        raise StepFailed("nodes shown without the token")
    p.screenshot("token-asked")
    p.fill("#token", "not-the-token")
    p.click("#token-use")
    p.wait("a wrong token refused", lambda: p.js(
        "return !document.getElementById('token-form').hidden && !document.getElementById('errors').hidden"))
    p.fill("#token", p.token)
    p.click("#token-use")
    p.wait("the nodes with the token", lambda: p.node_state(REGION) == "up")
    p.wait("the stream with the token", lambda: "live" in (p.text("#stream") or ""))
    p.api("PUT", "/nodes/" + OTHER, {"state": "down"})
    t0 = time.monotonic()
    p.wait("%s down through the API" % OTHER, lambda: p.node_state(OTHER) == "down", timeout=2.0)
    print("  %s down shown after %.2f s" % (OTHER, time.monotonic() - t0))
    p.api("PUT", "/nodes/" + OTHER, {"state": "up"})
    p.wait("%s up" % OTHER, lambda: p.node_state(OTHER) == "up")
    bad = severe(p.console(), allowed=("status of 401",))
    if bad:
        raise StepFailed("console errors: %s" % bad)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    url, outdir = sys.argv[1], sys.argv[2]
    opts = dict(zip(sys.argv[3::2], sys.argv[4::2]))
    doc, token = opts.get("--doc"), opts.get("--token")
    why = missing_browser()
    if why:
        skip_or_fail(why)
    os.makedirs(outdir, exist_ok=True)
    try:
        browser = Browser(outdir, width=1280, height=800)
    except Exception as e:
        skip_or_fail("Chromium did not start: %s" % str(e).splitlines()[0])
    p = Page(browser, url, outdir, token)
    steps = [("the token asked for, then used", step_token)] if token else [
        ("load: no console errors", step_load),
        ("a region down with its control: the write queued, read from the replica", step_down_and_create),
        ("the region up: the queue drains, read from home", step_up_and_drain),
        ("a change through the API shows within 2 s", step_follows_api),
        ("slow for a time, a partition until undone, a fault for a time", step_for_and_partition),
        ("each chart has drawn pixels", step_charts),
        ("a value with <script> shows as text", step_text_only),
        ("regions that cannot be read are flagged", step_unavailable_flagged),
        ("an API error shows on the page", step_error_shown),
        ("an order, the sales, the checks", step_orders_and_checks),
        ("1280x800 and 390x844", lambda p: step_layouts(p, doc)),
    ]
    failed = 0
    try:
        for i, (name, fn) in enumerate(steps, 1):
            t0 = time.monotonic()
            try:
                fn(p)
                print("ok %d - %s (%.1f s)" % (i, name, time.monotonic() - t0))
            except Exception as e:  # StepFailed, or the browser's
                failed += 1
                print("not ok %d - %s: %s" % (i, name, str(e).splitlines()[0] if str(e) else e))
            p.screenshot("%02d" % i)
            if failed:
                break  # the steps build on each other
    finally:
        browser.close()  # writes OUTDIR/console.log
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
