"""browser.py - the shared harness of ddbsim's browser tests: headless
Chromium through chromedriver (Debian: chromium, chromium-driver,
python3-selenium), run by Debian's /usr/bin/python3.

    from browser import Browser, missing_browser, SKIP
    why = missing_browser()
    if why: ... exit SKIP (77), or fail with DDBSIM_REQUIRE_BACKENDS=1
    with Browser(log_dir, width=1280, height=800) as b:
        b.open(url)
        b.wait_for("return document.querySelector('table') !== null")
        b.canvas_pixels(css_selector)   # drawn (non-transparent) pixels
        b.console_errors()              # SEVERE entries of the console
        b.network_requests()            # URLs the page asked for
        b.screenshot("name", also_to="doc/x.png")

Every test saves its screenshots and its console log into log_dir."""

import json
import os
import shutil
import sys
import tempfile
import time

SKIP = 77


def missing_browser():
    """None when Chromium, chromedriver and Selenium are here; otherwise
    what is missing, for the skip (or failure) message."""
    for prog in ("chromium", "chromedriver"):
        if not shutil.which(prog):
            return "%s not found (tools/deps.sh --test installs chromium chromium-driver)" % prog
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "python3-selenium not installed (tools/deps.sh --test)"
    return None


def skip_or_fail(why):
    """Exits 77 (skipped), or 1 under DDBSIM_REQUIRE_BACKENDS=1 (CI)."""
    if os.environ.get("DDBSIM_REQUIRE_BACKENDS", "0") == "1":
        print("FAIL: %s (DDBSIM_REQUIRE_BACKENDS=1: a missing browser is a failure)" % why)
        sys.exit(1)
    print("SKIP: %s" % why)
    sys.exit(SKIP)


class Browser:
    """A headless Chromium with its console and network logs kept."""

    def __init__(self, log_dir, width=1280, height=800, timeout=20):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.log_dir = log_dir
        self.timeout = timeout
        os.makedirs(log_dir, exist_ok=True)
        self.profile = tempfile.mkdtemp(prefix="ddbsim-chrome.")
        self.driver = None
        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium")
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                    "--window-size=%d,%d" % (width, height), "--hide-scrollbars",
                    "--force-device-scale-factor=1", "--disable-extensions",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--user-data-dir=" + self.profile):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        service = Service(shutil.which("chromedriver"),
                          log_path=os.path.join(log_dir, "chromedriver.log"))
        try:
            self.driver = webdriver.Chrome(service=service, options=opts)
        except Exception:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        # The window cannot be narrower than 500 px: the viewport is set
        # through DevTools (a phone's, below 600 px), so 390x844 is 390x844.
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        self.driver.set_page_load_timeout(timeout)
        self.driver.set_script_timeout(timeout)
        # Both logs are drained on each read: keep what was read.
        self._console = []
        self._performance = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.driver is not None:
            try:
                self._write_console_log()
            finally:
                self.driver.quit()
                self.driver = None
                shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, url):
        """Loads url; the network log starts afresh (the browser's own start
        page before it does not count)."""
        self.driver.get("about:blank")
        self.driver.get_log("performance")
        self._performance = []
        self.driver.get(url)

    def run(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait_for(self, script, what=None, timeout=None):
        """Waits until the JavaScript `script` returns a true value; raises
        AssertionError naming `what` when it does not in time."""
        end = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.run(script)
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError("timed out waiting for %s" % (what or script))
            time.sleep(0.1)

    def canvas_pixels(self, selector):
        """For each canvas matching the CSS selector, how many of its pixels
        are drawn (alpha > 0), read back with getImageData."""
        return self.run("""
            return Array.from(document.querySelectorAll(arguments[0])).map(function (c) {
                if (!c.width || !c.height) return 0;
                var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;
                for (var i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                return n;
            });""", selector)

    def console(self):
        """Every console entry so far: dicts with level, message, source."""
        self._console.extend(self.driver.get_log("browser"))
        return list(self._console)

    def console_errors(self):
        return [e for e in self.console() if e.get("level") == "SEVERE"]

    def network_requests(self):
        """The URLs of every request the page made so far (the DevTools
        Network.requestWillBeSent events of the performance log)."""
        for entry in self.driver.get_log("performance"):
            self._performance.append(json.loads(entry["message"])["message"])
        return [m["params"]["request"]["url"] for m in self._performance
                if m.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, name, also_to=None):
        """Saves a PNG of the viewport as log_dir/name.png, and at also_to
        when given (doc/ screenshots).  Returns the log_dir path."""
        path = os.path.join(self.log_dir, name + ".png")
        if not self.driver.save_screenshot(path):
            raise AssertionError("screenshot %s failed" % path)
        if also_to:
            shutil.copyfile(path, also_to)
        return path

    def _write_console_log(self):
        with open(os.path.join(self.log_dir, "console.log"), "w") as f:
            for e in self.console():
                f.write("%s %s %s\n" % (e.get("level"), e.get("source", ""), e.get("message")))
