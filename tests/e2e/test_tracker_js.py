"""The JavaScript client (/tracker.js, /tracker.mjs; source web/tracker.mjs) in a real
headless Chromium against the real server, and the headers the scripts are served with.

The server reaches Redis through a fault proxy (redis_fault_proxy.py), so a test can make
ingestion answer 503 for a while. Each test then checks the exact counts through the
statistics API: every event tracked is counted, none twice.

- A page of the server's own origin (its /health/live document, the tracker added by a
  script element) needs nothing beyond what ingestion has always had. Its fetch is
  wrapped so that two answers to a batch the server stored are lost on the way back, as
  when a connection drops: the client sends it again with the same eventIds, and the
  server must count it once.
- A page from another origin (a small http.server on another loopback port) needs CORS
  preflights on ingestion, and events sent when a page goes away (sendBeacon, text/plain,
  the key in the query) need text/plain bodies. A probe of each skips a test on a server
  without them.
- When the server asks for API keys (401 without one), the page uses the suite's write key.
"""

import functools
import http.server
import threading
import time

import pytest
import requests

from redis_fault_proxy import error_reply
from support import api, HTTP_TIMEOUT, KEYS, LOOPBACK, SERVER_BIN, assert_error

LOADING = "LOADING Redis is loading the dataset in memory"
SCRIPT_COMMANDS = ["EVALSHA", "EVAL"]
PAGE_VIEW_COMPONENT = 1000  # the client's default for PAGE_VIEW


# ---------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------

@pytest.fixture
def server(start_server, proxy):
    return start_server(f"--redis-port={proxy.port}", "--redis-timeout-ms=2000")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


class Site:
    """Pages served from another origin than the tracker's: http://localhost:PORT/ (the
    tracker is at http://127.0.0.1:ITS_PORT/, so another site too)."""

    def __init__(self, folder):
        self.folder = folder
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
        self.origin = f"http://localhost:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def page(self, name, html):
        (self.folder / name).write_text(html)
        return f"{self.origin}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path):
    other = Site(tmp_path)
    yield other
    other.close()


def write_key(server):
    """The write key a page needs: none while the server asks for none, else the suite's
    (which every server has loaded before it answers)."""
    probe = requests.post(server.url("/api/events/batch"), data="{}", timeout=HTTP_TIMEOUT,
                          headers={"Content-Type": "application/json"})
    if probe.status_code != 401:
        return ""
    return KEYS["write"]


def require_beacons(server, key):
    """Skips unless the server takes a batch as sendBeacon sends it: text/plain, the key
    in the query."""
    query = f"?apiKey={key}" if key else ""
    probe = requests.post(server.url("/api/events/batch" + query), data='{"events": []}', timeout=HTTP_TIMEOUT,
                          headers={"Content-Type": "text/plain;charset=UTF-8"})
    if probe.status_code == 415:
        pytest.skip("the server does not take text/plain batches (sendBeacon) yet")


def require_cors(server, origin):
    """Skips unless a preflight for the client's batch from `origin` is allowed."""
    probe = requests.options(server.url("/api/events/batch"), timeout=HTTP_TIMEOUT, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key"})
    if probe.status_code >= 300 or "Access-Control-Allow-Origin" not in probe.headers:
        pytest.skip(f"the server has no CORS preflights on ingestion yet ({probe.status_code})")


def count(server, event_type, component):
    response = api.get(server.url("/api/statistics"), params={"eventType": event_type, "componentId": component},
                       timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["count"]


def wait_for(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.2)


def assert_counts_stay(server, expected, settle=1.5):
    """Waits until the counts are the expected ones, then a moment more: a late repeat
    would show."""
    wait_for(lambda: {k: count(server, *k) for k in expected} == expected,
             f"the counts {expected} (now {({k: count(server, *k) for k in expected})})")
    time.sleep(settle)
    assert {k: count(server, *k) for k in expected} == expected


def tracker_stats(driver):
    return driver.execute_script("return eventTracker.stats()")


def wait_delivered(driver, timeout=60):
    wait_for(lambda: tracker_stats(driver)["queued"] == 0, "the page to deliver its queue", timeout)


def browser_errors(driver):
    """What the page logged as errors, but the failed requests a test made fail."""
    return [entry for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]]


# What a page does, in its own words.
LOAD_SCRIPT = """
const [src, done] = arguments;
const script = document.createElement("script");
script.src = src;
script.onload = () => done("loaded");
script.onerror = () => done("failed");
document.head.appendChild(script);
"""
# The answers to the next `n` successful requests are lost on the way back (the server
# stored the events; the page sees a network error), as when a connection drops.
LOSE_ANSWERS = """
window.answersToLose = arguments[0];
const realFetch = window.fetch.bind(window);
window.fetch = async (...args) => {
  const response = await realFetch(...args);
  if (response.ok && window.answersToLose > 0) {
    window.answersToLose--;
    throw new TypeError("the answer was lost");
  }
  return response;
};
"""
INIT = "eventTracker.init(arguments[0])"
CLICKS = """
const [component, from, to] = arguments;
for (let n = from; n < to; ++n) eventTracker.track("CLICK", {componentId: component, elementId: "e-" + n, n});
"""


def settings(server, key, **more):
    return {"host": server.base, "apiKey": key, "flushIntervalMs": 300, "batchSize": 20,
            "maxRetryDelayMs": 2000, **more}


# ---------------------------------------------------------------------------------------
# How the scripts are served
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/tracker.js", "/tracker.mjs"])
def test_scripts_are_served_for_other_sites_with_caching(start_server, path):
    server = start_server()
    first = api.get(server.url(path), timeout=HTTP_TIMEOUT)
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert first.headers["Cache-Control"] == "public, max-age=3600"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "Content-Security-Policy" not in first.headers
    assert "eventTracker" in first.text and "\n//" not in first.text, "comment lines are stripped"
    again = api.get(server.url(path), headers={"If-None-Match": first.headers["ETag"]}, timeout=HTTP_TIMEOUT)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "public, max-age=3600"
    other = api.get(server.url(path), headers={"If-None-Match": '"something-else"'}, timeout=HTTP_TIMEOUT)
    assert other.status_code == 200 and other.content == first.content
    assert api.head(server.url(path), timeout=HTTP_TIMEOUT).headers["ETag"] == first.headers["ETag"]
    assert_error(api.post(server.url(path), data="x", timeout=HTTP_TIMEOUT), 405)
    # The dashboard's own files stay no-cache.
    assert api.get(server.url("/app.js"), timeout=HTTP_TIMEOUT).headers["Cache-Control"] == "no-cache"


def test_both_scripts_load_in_a_page_of_another_site(server, site, browser):
    url = site.page("load.html", f"""<!doctype html><title>load</title>
<script src="{server.url('/tracker.js')}"></script>
<script type="module">
  import tracker, {{ createTracker }} from "{server.url('/tracker.mjs')}";
  window.moduleLoaded = typeof tracker.track === "function" && typeof createTracker === "function";
</script>""")
    browser.get(url)
    wait_for(lambda: browser.execute_script("return window.moduleLoaded === true"), "the module", 20)
    assert browser.execute_script("return typeof eventTracker.init") == "function"
    assert not browser_errors(browser)


# ---------------------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------------------

def test_same_origin_page_every_event_counted_once_through_lost_answers_and_503s(server, proxy, browser, uniq):
    key = write_key(server)
    component = uniq.comp()
    views_before = count(server, "PAGE_VIEW", PAGE_VIEW_COMPONENT)
    browser.get(server.url("/health/live"))
    assert browser.execute_async_script(LOAD_SCRIPT, server.url("/tracker.js")) == "loaded"
    browser.execute_script(LOSE_ANSWERS, 2)
    # A PAGE_VIEW and 40 clicks, in batches of 20 (one script, so that the first batch is
    # full before its interval passes). The first batch is stored, but the answers to it
    # and to its first retry are lost: the server gets it three times, same eventIds.
    browser.execute_script(INIT + ";" + CLICKS.replace("arguments", "arguments[1]"), settings(server, key),
                           [component, 0, 40])
    wait_delivered(browser)
    assert browser.execute_script("return window.answersToLose") == 0
    stats = tracker_stats(browser)
    assert stats["duplicates"] == 20, stats
    assert stats["retries"] == 2, stats

    # Ingestion answers 503 for a while: the client waits and sends again.
    proxy.inject(error_reply(LOADING), SCRIPT_COMMANDS)
    browser.execute_script(CLICKS, component, 40, 100)
    browser.execute_script("history.pushState({}, '', '/health/live?page=2')")
    browser.execute_script("history.pushState({}, '', '/health/live?page=3')")
    wait_for(lambda: tracker_stats(browser)["retries"] >= 5, "the client to retry the failed batches")
    proxy.clear()
    wait_delivered(browser)

    assert_counts_stay(server, {("CLICK", component): 100,
                                ("PAGE_VIEW", PAGE_VIEW_COMPONENT): views_before + 3})
    stats = tracker_stats(browser)
    assert stats["sent"] == 103 and stats["rejected"] == 0 and stats["dropped"] == 0, stats
    assert not browser_errors(browser)


def test_events_tracked_as_the_page_goes_away_arrive_by_beacon(server, browser, uniq):
    key = write_key(server)
    require_beacons(server, key)
    component = uniq.comp()
    quiet = settings(server, key, flushIntervalMs=600_000, batchSize=1000, autoPageViews=False)

    browser.get(server.url("/health/live"))
    assert browser.execute_async_script(LOAD_SCRIPT, server.url("/tracker.js")) == "loaded"
    browser.execute_script(INIT, quiet)
    browser.execute_script(CLICKS, component, 0, 30)
    browser.get("about:blank")  # navigating away: pagehide

    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.get(server.url("/health/live"))
    assert browser.execute_async_script(LOAD_SCRIPT, server.url("/tracker.js")) == "loaded"
    browser.execute_script(INIT, quiet)
    browser.execute_script(CLICKS, component, 30, 45)
    browser.close()  # closing the tab
    browser.switch_to.window(first)

    assert_counts_stay(server, {("CLICK", component): 45})


def test_cross_origin_page_every_event_counted_once_through_503s_and_page_hide(server, proxy, site, browser, uniq):
    key = write_key(server)
    require_cors(server, site.origin)
    require_beacons(server, key)
    component = uniq.comp()
    views_before = count(server, "PAGE_VIEW", PAGE_VIEW_COMPONENT)
    shop = site.page("shop.html", f"""<!doctype html><title>shop</title>
<script src="{server.url('/tracker.js')}"></script>""")
    site.page("elsewhere.html", "<!doctype html><title>elsewhere</title>")

    browser.get(shop)
    browser.execute_script(INIT, settings(server, key))  # a PAGE_VIEW
    browser.execute_script(CLICKS, component, 0, 30)
    wait_delivered(browser)

    proxy.inject(error_reply(LOADING), SCRIPT_COMMANDS)
    browser.execute_script(CLICKS, component, 30, 80)
    browser.execute_script("history.pushState({}, '', '/shop.html?step=2')")
    wait_for(lambda: tracker_stats(browser)["retries"] >= 3, "the client to retry the failed batches")
    # Leave while batches wait for their retry: the queue goes by beacon, the one whose
    # retry was due included.
    browser.execute_script(CLICKS, component, 80, 95)
    proxy.clear()
    browser.get(f"{site.origin}/elsewhere.html")

    assert_counts_stay(server, {("CLICK", component): 95,
                                ("PAGE_VIEW", PAGE_VIEW_COMPONENT): views_before + 2})
