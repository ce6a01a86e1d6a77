// eventTracker: sends a web page's user events to the event tracker (see docs/CLIENT.md).
//
// The one source of both scripts the server serves: /tracker.mjs, this ES module, and
// /tracker.js, the classic script cmake/tracker_js.cmake makes of it (the "export"
// keywords dropped, the whole inside a function that sets the global eventTracker). So
// keep "export" at the start of its lines, no imports and no import.meta. Whole-line
// comments and indentation are stripped from what is served.

const BATCH_PATH = "/api/events/batch";
const MAX_BATCH = 1000; // the server's limit of events per batch
const FIRST_RETRY_MS = 500;
const SESSION_KEY = "eventTracker.sessionId";
// The components the original front end sends the built-in types from.
const DEFAULT_COMPONENT = { PAGE_VIEW: 1000, SEARCH: 1001, CLICK: 1002, LIKE: 1003, UNLIKE: 1003 };

// Worth another try: the network failed (0), or the server or a proxy was busy or down.
// Any other 4xx would be refused again.
const retryable = (status) => status === 0 || status === 408 || status === 429 || status >= 500;

// Retry-After holds seconds or an HTTP date.
function retryAfterMs(value) {
  if (!value) return 0;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? seconds * 1000 : Math.max(0, Date.parse(value) - Date.now()) || 0;
}

// A tracker working on `g`, the page's window (a fake one in tests).
export function createTracker(g = globalThis) {
  const options = {
    host: "", apiKey: "", autoPageViews: true, flushIntervalMs: 1000, batchSize: 50,
    maxQueue: 1000, maxRetryDelayMs: 30000,
  };
  const counts = { sent: 0, duplicates: 0, rejected: 0, dropped: 0, retries: 0, beaconed: 0 };
  // Events tracked and not yet handed to a request, oldest first.
  let queue = [];
  // The events of the request in flight or waiting for its retry; always sent again as
  // they are, with the same eventIds, so that the server counts a repeat once.
  let batch = null;
  let flushTimer = null, retryTimer = null, failures = 0;
  let started = false, withSentAt = true, warned = false;
  let userId, sessionId, lastUrl;
  // Resolvers of the promises flush() returned.
  const waiters = [];

  function uuid() {
    const bytes = g.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
    const hex = Array.from(bytes, (b) => (b + 256).toString(16).slice(1)).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // One session per tab: sessionStorage outlives reloads and navigations, not the tab.
  function currentSession() {
    if (sessionId) return sessionId;
    try {
      sessionId = g.sessionStorage.getItem(SESSION_KEY);
    } catch {}
    if (!sessionId) {
      sessionId = uuid();
      try {
        g.sessionStorage.setItem(SESSION_KEY, sessionId);
      } catch {}
    }
    return sessionId;
  }

  function warn(error) {
    if (warned || !error) return;
    warned = true;
    g.console?.warn("eventTracker: the server refused events:", error.message || error.code || error);
  }

  function settle(done) {
    if (done && (batch || queue.length)) return;
    for (const resolve of waiters.splice(0)) resolve(done);
  }

  function arm() {
    if (started && !flushTimer && !batch && queue.length) flushTimer = g.setTimeout(send, options.flushIntervalMs);
  }

  function payload(events) {
    return JSON.stringify(withSentAt ? { sentAt: new Date().toISOString(), events } : { events });
  }

  // Starts the next request, unless one is in flight or waits for its retry.
  function send() {
    g.clearTimeout(flushTimer);
    flushTimer = null;
    if (!started || batch) return;
    if (!queue.length) return settle(true);
    batch = queue.splice(0, options.batchSize);
    post(batch);
  }

  async function post(events) {
    let status = 0, retryAfter = null, answer = null;
    try {
      const headers = { "Content-Type": "application/json" };
      if (options.apiKey) headers["X-Api-Key"] = options.apiKey;
      const response = await g.fetch(options.host + BATCH_PATH, {
        method: "POST", headers, body: payload(events), credentials: "omit",
      });
      status = response.status;
      retryAfter = response.headers.get("Retry-After");
      answer = await response.json().catch(() => null);
    } catch {}
    // A beacon took these events while the request was out.
    if (events !== batch) return;
    const error = answer?.error;
    if (status === 400 && withSentAt && error?.field === "sentAt") {
      // A server from before clock-skew correction: it takes the events without sentAt.
      withSentAt = false;
      return post(events);
    }
    if (status === 413 && events.length > 1) {
      // Larger than the server takes: send half now, the rest next, and smaller from now on.
      options.batchSize = Math.ceil(events.length / 2);
      queue.unshift(...events.splice(options.batchSize));
      return post(events);
    }
    if (retryable(status)) {
      counts.retries++;
      // Exponential backoff, never sooner than the server asked, plus up to a quarter more
      // so that the clients a failure stopped together do not come back together.
      const backoff = Math.min(options.maxRetryDelayMs, FIRST_RETRY_MS * 2 ** failures++);
      const delay = Math.max(retryAfterMs(retryAfter), backoff) * (1 + Math.random() / 4);
      retryTimer = g.setTimeout(() => {
        retryTimer = null;
        post(events);
      }, delay);
      return settle(false);
    }
    failures = 0;
    batch = null;
    const refused = status < 300 ? answer?.rejected?.length || 0 : events.length;
    counts.sent += events.length - refused;
    counts.rejected += refused;
    counts.duplicates += (status < 300 && answer?.duplicates) || 0;
    if (refused) warn(answer?.rejected?.[0]?.error || error || `HTTP ${status}`);
    if (queue.length >= options.batchSize || waiters.length) send();
    else arm();
  }

  // The page may be gone in a moment: hand everything to the browser, which sends it even
  // after the page has closed. A beacon cannot set headers, so the key goes in the query,
  // and its body is text/plain (no CORS preflight). What it carries may have reached the
  // server by fetch already: the eventIds make the server count it once.
  function sendBeacons() {
    if (!started) return;
    const events = (batch || []).concat(queue);
    g.clearTimeout(retryTimer);
    g.clearTimeout(flushTimer);
    batch = retryTimer = flushTimer = null;
    queue = [];
    failures = 0;
    const url = options.host + BATCH_PATH + (options.apiKey ? "?apiKey=" + encodeURIComponent(options.apiKey) : "");
    for (let i = 0; i < events.length; i += options.batchSize) {
      const chunk = events.slice(i, i + options.batchSize);
      const body = payload(chunk);
      counts.beaconed += chunk.length;
      if (g.navigator?.sendBeacon?.(url, body)) continue;
      g.fetch(url, {
        method: "POST", body, keepalive: true, credentials: "omit",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
      }).catch(() => {
        // The page lived on (the tab was only hidden): send them the usual way.
        queue.unshift(...chunk);
        arm();
      });
    }
    settle(true);
  }

  function pageView() {
    const location = g.location;
    if (!options.autoPageViews || !location || location.href === lastUrl) return;
    const referrer = lastUrl || g.document?.referrer || undefined;
    lastUrl = location.href;
    track("PAGE_VIEW", { path: location.pathname, url: location.href, referrer, title: g.document?.title || undefined });
  }

  function listen() {
    const history = g.history;
    for (const name of ["pushState", "replaceState"]) {
      const original = history?.[name];
      if (typeof original !== "function") continue;
      history[name] = function (...args) {
        const result = original.apply(this, args);
        pageView();
        return result;
      };
    }
    g.addEventListener?.("popstate", () => pageView());
    g.addEventListener?.("pagehide", sendBeacons);
    g.document?.addEventListener("visibilitychange", () => {
      if (g.document.visibilityState === "hidden") sendBeacons();
    });
  }

  // init({host, apiKey, userId?, sessionId?, autoPageViews?, flushIntervalMs?, batchSize?,
  // maxQueue?, maxRetryDelayMs?}); a second call changes settings.
  function init(settings = {}) {
    const { userId: user, sessionId: session, ...rest } = settings;
    for (const [name, value] of Object.entries(rest)) if (value !== undefined) options[name] = value;
    options.host = String(options.host || "").replace(/\/+$/, "");
    options.batchSize = Math.min(Math.max(1, Math.floor(options.batchSize) || 1), MAX_BATCH);
    options.maxQueue = Math.max(1, Math.floor(options.maxQueue) || 1);
    if (user != null) userId = user;
    if (session) sessionId = String(session);
    if (!started) {
      started = true;
      listen();
      pageView();
    }
    if (queue.length >= options.batchSize) send();
    else arm();
    return tracker;
  }

  // Who the following events are from; identify(null) forgets the user (log out).
  function identify(user, session) {
    userId = user ?? undefined;
    if (session) sessionId = String(session);
  }

  // track("CLICK", {componentId: 1002, elementId: "buy", ...}): userId and sessionId, when
  // given, replace the identified ones for this event; every other field (and those of a
  // nested `metadata` object) goes into the event's metadata. Answers the eventId.
  function track(eventType, fields) {
    const { userId: user = userId, sessionId: session, metadata, ...rest } = fields || {};
    const type = String(eventType).toUpperCase();
    const event = {
      eventId: uuid(),
      eventType: type,
      sessionId: session || currentSession(),
      timestamp: Date.now(),
      metadata: { componentId: DEFAULT_COMPONENT[type], ...metadata, ...rest },
    };
    if (user != null) event.userId = user;
    queue.push(event);
    const over = queue.length - options.maxQueue;
    if (over > 0) {
      queue.splice(0, over);
      counts.dropped += over;
    }
    if (queue.length >= options.batchSize) send();
    else arm();
    return event.eventId;
  }

  // Sends what is queued now. Resolves true once nothing is left to send, false when a
  // request failed and waits for its retry (the events stay queued), or before init().
  function flush() {
    if (!started) return Promise.resolve(false);
    return new Promise((resolve) => {
      waiters.push(resolve);
      if (retryTimer) settle(false);
      else send();
    });
  }

  const stats = () => ({ ...counts, queued: queue.length + (batch ? batch.length : 0) });

  const tracker = { init, identify, track, flush, stats };
  return tracker;
}

export const eventTracker = createTracker();
export default eventTracker;
