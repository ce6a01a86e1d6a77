// Unit tests of the JavaScript client (web/tracker.mjs) against a fake window: its timers
// run only when a test advances the clock, its fetch answers what the test says, and its
// navigator, document, location and history record what the tracker does with them.
//   node --test tests/js/    (ctest: tracker_js; TRACKER_JS names the built classic script)

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";
import zlib from "node:zlib";

import defaultTracker, { createTracker, eventTracker } from "../../web/tracker.mjs";

const HOST = "https://events.example";
const KEY = "wk_test key/+";

function accepted(request) {
  const events = request.body.events;
  return { status: 202, body: { accepted: events.length, duplicates: 0, rejected: [], eventIds: [] } };
}

// A window whose fetch answers with `respond(request)` ({status, headers?, body?}, or a
// thrown error for a network failure); by default every batch is accepted.
function fakeWindow() {
  let now = 0;
  let nextTimer = 1;
  const timers = new Map();
  const listeners = {};
  const on = (target) => (type, listener) => (target[type] ||= []).push(listener);
  const storage = new Map();
  const w = {
    crypto: globalThis.crypto,
    requests: [],
    beacons: [],
    warnings: [],
    respond: accepted,
    console: { warn: (...args) => w.warnings.push(args.join(" ")) },
    setTimeout(callback, ms) {
      const id = nextTimer++;
      timers.set(id, { callback, at: now + ms, ms });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id);
    },
    async fetch(url, init) {
      const request = { url, init, body: JSON.parse(init.body) };
      w.requests.push(request);
      const answer = await w.respond(request);
      const headers = answer.headers || {};
      return {
        status: answer.status,
        headers: { get: (name) => headers[name] ?? null },
        json: async () => answer.body ?? null,
      };
    },
    navigator: {
      beaconAccepted: true,
      sendBeacon(url, body) {
        assert.equal(typeof body, "string"); // a string is sent as text/plain;charset=UTF-8
        if (!w.navigator.beaconAccepted) return false;
        w.beacons.push({ url, body: JSON.parse(body) });
        return true;
      },
    },
    sessionStorage: {
      getItem: (key) => storage.get(key) ?? null,
      setItem: (key, value) => storage.set(key, String(value)),
    },
    location: { href: "https://shop.example/a?x=1", pathname: "/a" },
    history: {
      pushState(state, title, url) {
        w.navigate(url);
      },
      replaceState(state, title, url) {
        if (url !== undefined) w.navigate(url);
      },
    },
    document: {
      title: "Shop",
      referrer: "https://search.example/",
      visibilityState: "visible",
      listeners: {},
      addEventListener: null,
    },
    listeners,
    addEventListener: on(listeners),
    navigate(url) {
      const next = new URL(url, w.location.href);
      w.location = { href: next.href, pathname: next.pathname };
    },
    fire(type, target = listeners) {
      for (const listener of target[type] || []) listener({ type });
    },
    hide() {
      w.document.visibilityState = "hidden";
      w.fire("visibilitychange", w.document.listeners);
    },
    // The delays of the timers now pending, shortest first.
    pending: () => [...timers.values()].map((t) => t.ms).sort((a, b) => a - b),
    // Moves the clock on by `ms`, running each timer that comes due and letting the
    // promises it starts settle.
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        await settle();
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].callback();
      }
      now = end;
      await settle();
    },
  };
  w.document.addEventListener = on(w.document.listeners);
  return w;
}

// Lets every promise chain that is ready run to its end.
async function settle() {
  for (let i = 0; i < 5; ++i) await new Promise((resolve) => setImmediate(resolve));
}

function start(w, settings = {}) {
  const tracker = createTracker(w);
  tracker.init({ host: HOST + "/", apiKey: KEY, autoPageViews: false, ...settings });
  return tracker;
}

const clicks = (tracker, n, from = 0) =>
  Array.from({ length: n }, (_, i) => tracker.track("click", { elementId: `e-${from + i}`, n: from + i }));

test("the module's exports: one default tracker, and the factory", () => {
  assert.equal(defaultTracker, eventTracker);
  for (const name of ["init", "identify", "track", "flush", "stats"]) assert.equal(typeof eventTracker[name], "function");
  assert.equal(typeof createTracker, "function");
});

test("a full batch goes at once, with the key, sentAt and an eventId on every event", async () => {
  const w = fakeWindow();
  const tracker = start(w, { batchSize: 50 });
  const ids = clicks(tracker, 49);
  await w.advance(0);
  assert.equal(w.requests.length, 0);
  ids.push(...clicks(tracker, 1, 49));
  await w.advance(0);
  assert.equal(w.requests.length, 1);
  const [request] = w.requests;
  assert.equal(request.url, HOST + "/api/events/batch");
  assert.equal(request.init.method, "POST");
  assert.equal(request.init.headers["X-Api-Key"], KEY);
  assert.equal(request.init.headers["Content-Type"], "application/json");
  assert.ok(!Number.isNaN(Date.parse(request.body.sentAt)) && request.body.sentAt.endsWith("Z"));
  assert.deepEqual(request.body.events.map((e) => e.eventId), ids);
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, 50);
  const event = request.body.events[3];
  assert.equal(event.eventType, "CLICK");
  assert.deepEqual(event.metadata, { componentId: 1002, elementId: "e-3", n: 3 });
  assert.equal(typeof event.timestamp, "number");
  assert.equal(typeof event.sessionId, "string");
  assert.deepEqual(tracker.stats(), { sent: 50, duplicates: 0, rejected: 0, dropped: 0, retries: 0, beaconed: 0, queued: 0 });
});

test("fewer events go when the flush interval has passed", async () => {
  const w = fakeWindow();
  const tracker = start(w, { flushIntervalMs: 1500 });
  clicks(tracker, 3);
  await w.advance(1499);
  assert.equal(w.requests.length, 0);
  await w.advance(1);
  assert.equal(w.requests.length, 1);
  assert.equal(w.requests[0].body.events.length, 3);
  assert.deepEqual(w.pending(), []);
  clicks(tracker, 1);
  await w.advance(1500);
  assert.equal(w.requests.length, 2);
});

test("events tracked while a batch is out go in the next one", async () => {
  const w = fakeWindow();
  let answer;
  w.respond = (request) => new Promise((resolve) => (answer = () => resolve(accepted(request))));
  const tracker = start(w, { batchSize: 2 });
  clicks(tracker, 2);
  await w.advance(0);
  clicks(tracker, 3, 2);
  await w.advance(5000);
  assert.equal(w.requests.length, 1, "one request at a time");
  answer();
  await w.advance(0);
  assert.deepEqual(w.requests[1].body.events.map((e) => e.metadata.n), [2, 3]);
  answer();
  await w.advance(0);
  assert.equal(w.requests.length, 2, "the last one waits for the interval");
  await w.advance(1000);
  assert.deepEqual(w.requests[2].body.events.map((e) => e.metadata.n), [4]);
});

test("a retry sends the same events with the same eventIds, after Retry-After", async () => {
  const w = fakeWindow();
  const statuses = [503, 503, 202];
  w.respond = (request) =>
    statuses.length > 1 && statuses[0] !== 202
      ? { status: statuses.shift(), headers: { "Retry-After": "2" }, body: { error: { code: "STORE_UNAVAILABLE", message: "busy" } } }
      : accepted(request);
  const tracker = start(w);
  clicks(tracker, 5);
  assert.equal(await tracker.flush(), false, "the first attempt failed");
  assert.equal(w.requests.length, 1);
  const [delay] = w.pending();
  assert.ok(delay >= 2000 && delay <= 2500, `retry after ${delay} ms`);
  await w.advance(delay - 1);
  assert.equal(w.requests.length, 1, "not before Retry-After");
  await w.advance(1);
  assert.equal(w.requests.length, 2);
  await w.advance(5000);
  assert.equal(w.requests.length, 3);
  const ids = w.requests.map((r) => r.body.events.map((e) => e.eventId).join());
  assert.equal(new Set(ids).size, 1, "every attempt carries the same eventIds");
  assert.equal(tracker.stats().sent, 5);
  assert.equal(tracker.stats().retries, 2);
  assert.equal(tracker.stats().queued, 0);
});

test("backoff doubles from 500 ms up to the cap, never sooner than Retry-After", async () => {
  const w = fakeWindow();
  let retryAfter = null;
  w.respond = () => ({ status: 503, headers: retryAfter ? { "Retry-After": retryAfter } : {} });
  const tracker = start(w, { maxRetryDelayMs: 4000 });
  clicks(tracker, 1);
  await tracker.flush();
  const delays = [];
  for (let i = 0; i < 5; ++i) {
    const [delay] = w.pending();
    delays.push(delay);
    await w.advance(delay);
  }
  const floors = [500, 1000, 2000, 4000, 4000];
  delays.forEach((delay, i) => assert.ok(delay >= floors[i] && delay <= floors[i] * 1.25, `${delays}`));

  retryAfter = "7"; // seconds
  await w.advance(w.pending()[0]);
  const [delay] = w.pending();
  assert.ok(delay >= 7000 && delay <= 8750, `${delay}`);
  retryAfter = new Date(Date.now() + 20_000).toUTCString(); // an HTTP date
  await w.advance(delay);
  const [byDate] = w.pending();
  assert.ok(byDate >= 18_000 && byDate <= 25_000, `${byDate}`);
});

test("429 and network failures are retried too", async () => {
  const w = fakeWindow();
  const failures = [{ status: 429, headers: { "Retry-After": "1" } }, "network"];
  w.respond = (request) => {
    const next = failures.shift();
    if (next === "network") throw new TypeError("Failed to fetch");
    return next || accepted(request);
  };
  const tracker = start(w);
  clicks(tracker, 2);
  await tracker.flush();
  await w.advance(60_000);
  assert.equal(w.requests.length, 3);
  assert.equal(tracker.stats().sent, 2);
  assert.equal(tracker.stats().retries, 2);
});

for (const status of [400, 401, 403, 404, 415]) {
  test(`a ${status} is not retried: the events are counted as rejected`, async () => {
    const w = fakeWindow();
    w.respond = () => ({ status, body: { error: { code: "NOPE", message: "refused" } } });
    const tracker = start(w);
    clicks(tracker, 3);
    assert.equal(await tracker.flush(), true);
    await w.advance(60_000);
    assert.equal(w.requests.length, 1);
    assert.deepEqual(w.pending(), []);
    assert.equal(tracker.stats().rejected, 3);
    assert.equal(tracker.stats().queued, 0);
    assert.equal(w.warnings.length, 1);
  });
}

test("events the server refuses one by one are counted, the rest sent", async () => {
  const w = fakeWindow();
  w.respond = () => ({
    status: 202,
    body: { accepted: 2, duplicates: 1, rejected: [{ index: 1, error: { code: "MISSING_FIELD", message: "componentId" } }] },
  });
  const tracker = start(w);
  clicks(tracker, 3);
  await tracker.flush();
  assert.deepEqual(tracker.stats(), { sent: 2, duplicates: 1, rejected: 1, dropped: 0, retries: 0, beaconed: 0, queued: 0 });
  assert.match(w.warnings[0], /componentId/);
});

test("a server that does not know sentAt gets the batch again without it", async () => {
  const w = fakeWindow();
  w.respond = (request) =>
    "sentAt" in request.body
      ? { status: 400, body: { error: { code: "UNKNOWN_FIELD", message: "unknown field 'sentAt'", field: "sentAt" } } }
      : accepted(request);
  const tracker = start(w);
  clicks(tracker, 2);
  assert.equal(await tracker.flush(), true);
  assert.equal(w.requests.length, 2);
  assert.deepEqual(w.requests[1].body.events, w.requests[0].body.events);
  clicks(tracker, 1);
  await tracker.flush();
  assert.equal(w.requests.length, 3, "and leaves it out from then on");
  assert.equal(tracker.stats().sent, 3);
});

test("a batch too large for the server (413) is halved", async () => {
  const w = fakeWindow();
  w.respond = (request) => (request.body.events.length > 10 ? { status: 413 } : accepted(request));
  const tracker = start(w, { batchSize: 40 });
  clicks(tracker, 40);
  await w.advance(0);
  await tracker.flush();
  const sizes = w.requests.map((r) => r.body.events.length);
  assert.deepEqual(sizes, [40, 20, 10, 10, 10, 10]);
  const sent = w.requests.slice(2).flatMap((r) => r.body.events.map((e) => e.metadata.n));
  assert.deepEqual(sent, Array.from({ length: 40 }, (_, i) => i), "all of them, in order");
});

test("past maxQueue the oldest events are dropped and counted", async () => {
  const w = fakeWindow();
  w.respond = () => ({ status: 503 });
  const tracker = start(w, { maxQueue: 10, batchSize: 4 });
  clicks(tracker, 4); // goes out, fails, waits for its retry
  await w.advance(0);
  clicks(tracker, 15, 4);
  assert.equal(tracker.stats().dropped, 5);
  assert.equal(tracker.stats().queued, 14, "10 queued and 4 waiting for their retry");
  w.respond = accepted;
  await w.advance(700); // the first retry comes 500 ms plus up to a quarter of jitter later
  await tracker.flush();
  const sent = w.requests.slice(1).flatMap((r) => r.body.events.map((e) => e.metadata.n));
  assert.deepEqual(sent, [0, 1, 2, 3, ...Array.from({ length: 10 }, (_, i) => 9 + i)]);
});

test("on pagehide everything queued goes by sendBeacon, the key in the query", async () => {
  const w = fakeWindow();
  const tracker = start(w, { batchSize: 3 });
  w.respond = () => new Promise(() => {}); // the request in flight never answers
  const ids = clicks(tracker, 3);
  await w.advance(0);
  ids.push(...clicks(tracker, 4, 3));
  w.fire("pagehide");
  assert.equal(w.requests.length, 1);
  assert.equal(w.beacons.length, 3, "in chunks of batchSize");
  for (const beacon of w.beacons) {
    assert.equal(beacon.url, `${HOST}/api/events/batch?apiKey=${encodeURIComponent(KEY)}`);
    assert.ok(beacon.body.sentAt);
  }
  assert.deepEqual(w.beacons.flatMap((b) => b.body.events.map((e) => e.eventId)), ids,
                   "the batch in flight too, with its eventIds: the server counts it once");
  assert.deepEqual(tracker.stats(), { sent: 0, duplicates: 0, rejected: 0, dropped: 0, retries: 0, beaconed: 7, queued: 0 });
  assert.deepEqual(w.pending(), []);
  w.fire("pagehide");
  assert.equal(w.beacons.length, 3, "nothing left to send");
});

test("a failed request's retry is cancelled by the beacon that takes its events", async () => {
  const w = fakeWindow();
  w.respond = () => ({ status: 503, headers: { "Retry-After": "1" } });
  const tracker = start(w);
  clicks(tracker, 2);
  await tracker.flush();
  assert.equal(w.pending().length, 1);
  w.hide();
  assert.equal(w.beacons.length, 1);
  assert.deepEqual(w.pending(), []);
  await w.advance(60_000);
  assert.equal(w.requests.length, 1);
});

test("a request answered after a beacon took its events is left alone", async () => {
  const w = fakeWindow();
  let answer;
  w.respond = () => new Promise((resolve) => (answer = resolve));
  const tracker = start(w);
  clicks(tracker, 2);
  tracker.flush();
  await w.advance(0);
  w.fire("pagehide");
  answer({ status: 503, headers: { "Retry-After": "1" } });
  await w.advance(60_000);
  assert.equal(w.requests.length, 1);
  assert.deepEqual(w.pending(), [], "no retry");
  assert.deepEqual(tracker.stats(), { sent: 0, duplicates: 0, rejected: 0, dropped: 0, retries: 0, beaconed: 2, queued: 0 });
});

test("a hidden page sends its queue; a page shown again does not", async () => {
  const w = fakeWindow();
  const tracker = start(w);
  clicks(tracker, 2);
  w.document.visibilityState = "visible";
  w.fire("visibilitychange", w.document.listeners);
  assert.equal(w.beacons.length, 0);
  w.hide();
  assert.equal(w.beacons.length, 1);
  assert.equal(w.beacons[0].body.events.length, 2);
});

test("when sendBeacon refuses, fetch with keepalive sends text/plain instead", async () => {
  const w = fakeWindow();
  const tracker = start(w);
  w.navigator.beaconAccepted = false;
  clicks(tracker, 2);
  w.fire("pagehide");
  assert.equal(w.requests.length, 1);
  const [request] = w.requests;
  assert.equal(request.url, `${HOST}/api/events/batch?apiKey=${encodeURIComponent(KEY)}`);
  assert.equal(request.init.keepalive, true);
  assert.equal(request.init.headers["Content-Type"], "text/plain;charset=UTF-8");
  assert.equal(request.body.events.length, 2);
});

test("PAGE_VIEW on load and on each history change to another URL", async () => {
  const w = fakeWindow();
  const tracker = start(w, { autoPageViews: true, userId: 42 });
  w.history.pushState({}, "", "/b");
  w.history.replaceState({}, ""); // same URL: no page view
  w.history.replaceState({}, "", "/b#top");
  w.navigate("/a?x=1");
  w.fire("popstate");
  w.fire("popstate"); // nothing changed
  await tracker.flush();
  const views = w.requests.flatMap((r) => r.body.events);
  assert.deepEqual(views.map((e) => [e.eventType, e.userId, e.metadata.componentId, e.metadata.path]), [
    ["PAGE_VIEW", 42, 1000, "/a"], ["PAGE_VIEW", 42, 1000, "/b"], ["PAGE_VIEW", 42, 1000, "/b"], ["PAGE_VIEW", 42, 1000, "/a"],
  ]);
  assert.equal(views[0].metadata.url, "https://shop.example/a?x=1");
  assert.equal(views[0].metadata.referrer, "https://search.example/");
  assert.equal(views[0].metadata.title, "Shop");
  assert.equal(views[1].metadata.referrer, "https://shop.example/a?x=1", "the previous page");
  assert.equal(views[2].metadata.url, "https://shop.example/b#top");
});

test("no page views unless asked; history still works", async () => {
  const w = fakeWindow();
  const tracker = start(w);
  w.history.pushState({}, "", "/c");
  assert.equal(w.location.pathname, "/c");
  assert.equal(await tracker.flush(), true);
  assert.equal(w.requests.length, 0);
});

test("fields: userId and sessionId on the event, everything else in metadata", async () => {
  const w = fakeWindow();
  const tracker = start(w, { sessionId: "s-1" });
  tracker.track("SEARCH", { keyword: "shoes" });
  tracker.identify(7);
  tracker.track("like", { postId: 3, metadata: { componentId: 100, color: "red" } });
  tracker.track("share", { componentId: 5, userId: 8, sessionId: "s-2" });
  tracker.identify(null, "s-3");
  tracker.track("SCROLL", { componentId: 6, depth: 0.5 });
  await tracker.flush();
  const events = w.requests[0].body.events;
  assert.deepEqual(events.map(({ eventType, userId, sessionId, metadata }) => ({ eventType, userId, sessionId, metadata })), [
    { eventType: "SEARCH", userId: undefined, sessionId: "s-1", metadata: { componentId: 1001, keyword: "shoes" } },
    { eventType: "LIKE", userId: 7, sessionId: "s-1", metadata: { componentId: 100, color: "red", postId: 3 } },
    { eventType: "SHARE", userId: 8, sessionId: "s-2", metadata: { componentId: 5 } },
    { eventType: "SCROLL", userId: undefined, sessionId: "s-3", metadata: { componentId: 6, depth: 0.5 } },
  ]);
});

test("one session id per tab, kept in sessionStorage", async () => {
  const w = fakeWindow();
  const first = start(w);
  first.track("CLICK");
  await first.flush();
  const again = start(w); // the page reloaded in the same tab
  again.track("CLICK");
  await again.flush();
  const [a, b] = w.requests.map((r) => r.body.events[0].sessionId);
  assert.match(a, /^[0-9a-f-]{36}$/);
  assert.equal(a, b);
});

test("options left undefined keep their defaults", async () => {
  const w = fakeWindow();
  const tracker = start(w, { batchSize: undefined, flushIntervalMs: undefined, maxQueue: undefined });
  clicks(tracker, 49);
  tracker.track("CLICK", null);
  await w.advance(999);
  assert.equal(w.requests.length, 1);
  assert.equal(w.requests[0].body.events.length, 50);
  clicks(tracker, 1);
  await w.advance(999);
  assert.equal(w.requests.length, 1);
  await w.advance(1);
  assert.equal(w.requests.length, 2);
});

test("events tracked before init wait for it", async () => {
  const w = fakeWindow();
  const tracker = createTracker(w);
  tracker.track("CLICK");
  assert.equal(await tracker.flush(), false);
  await w.advance(10_000);
  assert.equal(w.requests.length, 0);
  tracker.init({ host: HOST, autoPageViews: false });
  await tracker.flush();
  assert.equal(w.requests.length, 1);
  assert.equal(w.requests[0].init.headers["X-Api-Key"], undefined, "no key, no header");
});

// The classic script the server serves at /tracker.js, made from the module at build time.
const classic = process.env.TRACKER_JS;

test("the classic script sets the global eventTracker, which works", { skip: !classic && "TRACKER_JS not set" }, async () => {
  const w = fakeWindow();
  const context = vm.createContext(w);
  w.globalThis = context;
  vm.runInContext(readFileSync(classic, "utf8"), context, { filename: classic });
  assert.equal(typeof context.eventTracker.track, "function");
  context.eventTracker.init({ host: HOST, apiKey: KEY });
  context.eventTracker.track("CLICK", { elementId: "x" });
  await context.eventTracker.flush();
  assert.deepEqual(w.requests[0].body.events.map((e) => e.eventType), ["PAGE_VIEW", "CLICK"]);
});

test("both served scripts are at most 5 KB gzipped", { skip: !classic && "TRACKER_JS not set" }, () => {
  for (const file of [classic, classic.replace(/\.js$/, ".mjs")]) {
    const size = zlib.gzipSync(readFileSync(file), { level: 9 }).length;
    assert.ok(size <= 5 * 1024, `${file}: ${size} bytes gzipped`);
  }
});
