"""The built-in dashboard at / in a real headless Chromium, and GET /api/events, the event
explorer it pages through.

The browser test sends known events, waits until the flusher has moved them to PostgreSQL
(so the numbers hold still), opens the page, enters a read key, waits for the charts and
checks that the totals, top lists and explorer rows shown are the API's answers and that
the browser logged no error. Screenshots go to the build folder (e2e-screenshots/ beside
the server binary).
"""

import time
from pathlib import Path

import pytest

from support import api, HTTP_TIMEOUT, KEYS, SERVER_BIN, assert_error, post, wait_persisted

FLUSHER_ON = ("--flusher=true", "--flush-interval-ms=50")
SCREENSHOTS = Path(SERVER_BIN).resolve().parent / "e2e-screenshots"


def get(server, path, **params):
    response = api.get(server.url(path), params=params, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def send(server, events):
    for start in range(0, len(events), 1000):  # a batch holds at most 1,000 events
        part = events[start:start + 1000]
        response = post(server, "/api/events/batch", {"events": part})
        assert response.status_code in (200, 202), response.text
        assert response.json()["accepted"] == len(part), response.text


def walk(server, **params):
    """Every event of a filtered listing, page by page."""
    events, cursor, pages = [], None, 0
    while True:
        answer = get(server, "/api/events", **params, **({"cursor": cursor} if cursor else {}))
        events += answer["events"]
        pages += 1
        cursor = answer["nextCursor"]
        if cursor is None:
            return events, pages


# ---------------------------------------------------------------------------------------
# GET /api/events
# ---------------------------------------------------------------------------------------

def test_explorer_pages_through_every_matching_event_once_newest_first(start_server, uniq):
    server = start_server(*FLUSHER_ON)
    user, post_id, comp = uniq.user(), uniq.post(), uniq.comp()
    events = [uniq.event("CLICK", comp=comp, userId=user) for _ in range(7)]
    events += [uniq.event("LIKE", comp=comp, userId=user, metadata={"postId": post_id}) for _ in range(4)]
    events += [uniq.event("SEARCH", comp=comp, metadata={"keyword": uniq.keyword()}) for _ in range(3)]
    send(server, events)
    wait_persisted(server)

    listed, pages = walk(server, sessionId=uniq.session, limit=3)
    assert len(listed) == 14 and pages == 5
    assert len({e["eventId"] for e in listed}) == 14
    times = [e["serverTime"] for e in listed]
    assert times == sorted(times, reverse=True)
    assert all(e["sessionId"] == uniq.session and e["componentId"] == comp for e in listed)

    assert len(walk(server, sessionId=uniq.session, eventType="click", limit=2)[0]) == 7
    assert len(walk(server, userId=user)[0]) == 11
    likes = walk(server, postId=post_id)[0]
    assert len(likes) == 4 and {e["eventType"] for e in likes} == {"LIKE"}
    assert len(walk(server, keyword=uniq.keyword(), componentId=comp)[0]) == 3
    newest = listed[0]["serverTime"]
    assert walk(server, sessionId=uniq.session, to=newest)[0] == [e for e in listed if e["serverTime"] < newest]
    assert walk(server, sessionId=uniq.session, **{"from": newest})[0] == [e for e in listed if e["serverTime"] >= newest]


@pytest.mark.parametrize("params, field", [
    ({"limit": "501"}, "limit"), ({"limit": "0"}, "limit"), ({"eventType": "NOPE"}, "eventType"),
    ({"userId": "x"}, "userId"), ({"postId": "-1"}, "postId"), ({"componentId": "1.5"}, "componentId"),
    ({"sessionId": " "}, "sessionId"), ({"from": "yesterday"}, "from"),
    ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
    ({"cursor": "12_not-a-uuid"}, "cursor"), ({"color": "red"}, "color"),
])
def test_explorer_rejects_bad_parameters(start_server, params, field):
    server = start_server()
    response = api.get(server.url("/api/events"), params=params, timeout=HTTP_TIMEOUT)
    assert_error(response, 400, field=field)


# ---------------------------------------------------------------------------------------
# The page's files
# ---------------------------------------------------------------------------------------

def test_dashboard_files_are_built_in_with_etags(start_server):
    server = start_server()
    page = api.get(server.url("/"), timeout=HTTP_TIMEOUT)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "/app.js" in page.text and "cdn" not in page.text.lower()
    assert page.headers["Cache-Control"] == "no-cache"
    for path, kind in [("/app.js", "text/javascript"), ("/style.css", "text/css"),
                       ("/vendor/uplot/uPlot.iife.min.js", "text/javascript"), ("/vendor/uplot/LICENSE", "text/plain")]:
        first = api.get(server.url(path), timeout=HTTP_TIMEOUT)
        assert first.status_code == 200 and first.headers["Content-Type"].startswith(kind)
        again = api.get(server.url(path), headers={"If-None-Match": first.headers["ETag"]}, timeout=HTTP_TIMEOUT)
        assert again.status_code == 304 and again.content == b""
    assert api.get(server.url("/nothing.js"), timeout=HTTP_TIMEOUT).status_code == 404


# ---------------------------------------------------------------------------------------
# The page in Chromium
# ---------------------------------------------------------------------------------------

@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def shown(driver, selector, attribute="data-value"):
    """The attribute (or textContent) of every matching element, read in one script: the
    page re-renders on its timers, and elements found first and read afterwards can be
    gone by then (a StaleElementReferenceException)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]),"
        " e => arguments[1] === 'textContent' ? e.textContent : e.getAttribute(arguments[1]))",
        selector, attribute)


def eventually(read_page, read_api, poke=None, timeout=40):
    """The page's value once it equals the API's (the page refreshes on its own timers)."""
    deadline = time.monotonic() + timeout
    while True:
        expected, actual = read_api(), read_page()
        if actual == expected or time.monotonic() > deadline:
            assert actual == expected
            return actual
        if poke:
            poke()
        time.sleep(0.5)


def test_dashboard_shows_the_apis_numbers(start_server, uniq, browser):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    server = start_server(*FLUSHER_ON, "--ranking-refresh-ms=200")
    posts = [uniq.post() for _ in range(3)]
    events = []
    for rank, post_id in enumerate(posts):
        events += [uniq.event("LIKE", userId=uniq.user(), metadata={"postId": post_id}) for _ in range(30 - 5 * rank)]
    # Searched often enough to stay in the hour's top 10 whatever other tests searched.
    for i in range(3):
        events += [uniq.event("SEARCH", metadata={"keyword": uniq.keyword(i)}) for _ in range(600 - 100 * i)]
    events += [uniq.event(kind, userId=uniq.user()) for kind in ("PAGE_VIEW", "CLICK", "SCROLL", "SHARE") for _ in range(5)]
    send(server, events)
    wait_persisted(server)

    browser.get(server.url("/"))
    wait = WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException])
    wait.until(ready.visibility_of_element_located((By.ID, "key-dialog")))
    browser.find_element(By.ID, "key-input").send_keys(KEYS["read"])
    browser.find_element(By.ID, "key-save").click()
    assert browser.execute_script("return localStorage.getItem('eventTracker.readKey')") == KEYS["read"]
    for chart in ("live-chart", "series-chart"):
        wait.until(lambda d, chart=chart: d.find_element(By.ID, chart).get_attribute("data-loaded") == "true")
        assert browser.find_elements(By.CSS_SELECTOR, f"#{chart} canvas")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#explorer tbody tr"))

    def api_totals():
        summary = get(server, "/api/statistics/summary")
        return {"ALL": summary["total"], "pendingPersistence": summary["pendingPersistence"],
                **{t: summary["totals"].get(t, 0) for t in ("PAGE_VIEW", "SEARCH", "CLICK", "LIKE", "UNLIKE",
                                                            "SCROLL", "COMMENT", "SHARE")}}

    def page_totals():
        names = shown(browser, "#totals [data-total]", "data-total")
        return dict(zip(names, map(int, shown(browser, "#totals [data-total]"))))

    totals = eventually(page_totals, api_totals)
    assert totals["LIKE"] >= 75 and totals["pendingPersistence"] == 0

    refresh_top = lambda: browser.find_element(By.CSS_SELECTOR, ".windows[data-target=posts] button[data-window='1h']").click()
    eventually(lambda: [(n, int(c)) for n, c in zip(shown(browser, "#top-posts .name", "textContent"),
                                                     shown(browser, "#top-posts .count"))],
               lambda: [(f"post {p['postId']}", p["count"]) for p in get(server, "/api/statistics/top-posts",
                                                                         eventType="LIKE", window="1h")["posts"]],
               poke=refresh_top)
    keywords = eventually(lambda: [(n, int(c)) for n, c in zip(shown(browser, "#top-keywords .name", "textContent"),
                                                                shown(browser, "#top-keywords .count"))],
                          lambda: [(k["keyword"], k["count"]) for k in get(server, "/api/statistics/keywords",
                                                                           window="1h")["keywords"]],
                          poke=refresh_top)
    assert (uniq.keyword(0), 600) in keywords
    eventually(lambda: [int(v) for v in shown(browser, "#unique-users [data-unique-users]")],
               lambda: [get(server, "/api/statistics/unique-users", eventType=t)["uniqueUsers"]
                        for t in ("PAGE_VIEW", "SEARCH", "CLICK", "LIKE", "UNLIKE", "SCROLL", "COMMENT", "SHARE")])

    # The explorer, narrowed to this test's session: the API's first page, row by row.
    form = browser.find_element(By.ID, "explorer-form")
    form.find_element(By.NAME, "sessionId").send_keys(uniq.session)
    form.find_element(By.NAME, "eventType").send_keys("LIKE")
    form.find_element(By.TAG_NAME, "button").click()
    expected = [e["eventId"] for e in get(server, "/api/events", sessionId=uniq.session, eventType="LIKE")["events"]]
    wait.until(lambda d: shown(d, "#explorer tbody tr", "data-event-id") == expected)
    browser.find_element(By.ID, "explorer-more").click()
    wait.until(lambda d: len(shown(d, "#explorer tbody tr", "data-event-id")) == 75)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(SCREENSHOTS / "dashboard-desktop.png"))
    browser.set_window_size(390, 2400)
    time.sleep(1)  # the charts follow the new width
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    browser.save_screenshot(str(SCREENSHOTS / "dashboard-phone.png"))

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_dashboard_takes_the_read_key_from_the_link(start_server, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    server = start_server()
    browser.get(server.url("/"))
    browser.execute_script("localStorage.clear()")
    browser.get(server.url(f"/#key={KEYS['read']}"))
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return localStorage.getItem('eventTracker.readKey')") == KEYS["read"])
    assert "#" not in browser.current_url, "the key is taken out of the address bar"
    assert not browser.execute_script("return document.getElementById('key-dialog').open")
