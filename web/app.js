// The dashboard: reads the statistics API and the event explorer of this server.
"use strict";

const TYPES = ["PAGE_VIEW", "SEARCH", "CLICK", "LIKE", "UNLIKE", "SCROLL", "COMMENT", "SHARE"];
const COLORS = ["#2f6fde", "#e8590c", "#2b8a3e", "#c2255c", "#868e96", "#7048e8", "#0c8599", "#e0a800"];
const KEY_STORE = "eventTracker.readKey";
const LIVE_REFRESH_MS = 5000;
const SLOW_REFRESH_MS = 30000;
const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat("en-US");

// --- API -------------------------------------------------------------------------------

function readKey() { return localStorage.getItem(KEY_STORE) || ""; }

async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(name, value);
  }
  // No request while the page asks for the key: it would only be refused.
  if ($("key-dialog").open) throw new Error("waiting for the read key");
  const headers = { Accept: "application/json" };
  const key = readKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const url = query.toString() ? `${path}?${query}` : path;
  const response = await fetch(url, { headers });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401 || response.status === 403) askKey();
  if (!response.ok) {
    const message = body.error ? body.error.message : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return body;
}

function status(text) { $("status").textContent = text; }

// --- the read key -------------------------------------------------------------------------

function askKey() {
  const dialog = $("key-dialog");
  if (dialog.open) return;
  $("key-input").value = readKey();
  dialog.showModal();
}

// A link may carry the read key in its fragment (/#key=etr_..., as tools/dev.sh prints it):
// fragments never reach a server or its logs. It is kept and taken out of the address bar.
function keyFromFragment() {
  const key = new URLSearchParams(location.hash.slice(1)).get("key");
  if (!key) return false;
  localStorage.setItem(KEY_STORE, key.trim());
  history.replaceState(null, "", location.pathname + location.search);
  if ($("key-dialog").open) $("key-dialog").close();
  return true;
}
window.addEventListener("hashchange", () => { if (keyFromFragment()) refreshAll(); });

$("key-form").addEventListener("submit", () => {
  localStorage.setItem(KEY_STORE, $("key-input").value.trim());
  $("key-dialog").close();  // before refreshAll: requests wait while it is open
  refreshAll();
});
$("key-button").addEventListener("click", askKey);

// --- charts -------------------------------------------------------------------------------

function chartWidth(element) { return Math.max(element.clientWidth, 260); }

function makeChart(element, series, yLabel) {
  const options = {
    width: chartWidth(element),
    height: 240,
    scales: { x: { time: true } },
    axes: [{}, { label: yLabel, size: 60 }],
    legend: { live: true },
    series: [{}, ...series],
  };
  const chart = new uPlot(options, [[], ...series.map(() => [])], element);
  new ResizeObserver(() => chart.setSize({ width: chartWidth(element), height: 240 })).observe(element);
  return chart;
}

let liveChart = null;
let seriesChart = null;

// Minute buckets of every type over the last hour, as events per second.
async function refreshLive() {
  const to = new Date();
  const from = new Date(to.getTime() - 3600 * 1000);
  const answers = await Promise.all(TYPES.map((eventType) =>
    api("/api/statistics/series", { eventType, interval: "minute", from: from.toISOString(), to: to.toISOString() })));
  const times = answers[0].buckets.map((b) => Date.parse(b.start) / 1000);
  const data = [times, ...answers.map((a) => a.buckets.map((b) => b.count / 60))];
  if (!liveChart) {
    liveChart = makeChart($("live-chart"),
      TYPES.map((type, i) => ({ label: type, stroke: COLORS[i], width: 1.5, value: (u, v) => v == null ? "–" : v.toFixed(2) })),
      "events/s");
  }
  liveChart.setData(data);
  $("live-chart").dataset.loaded = "true";
}

async function refreshSeries() {
  const form = new FormData($("series-form"));
  const to = new Date();
  const from = new Date(to.getTime() - Number(form.get("range")) * 1000);
  $("series-error").textContent = "";
  try {
    const answer = await api("/api/statistics/series", {
      eventType: form.get("eventType"), componentId: form.get("componentId").trim(), postId: form.get("postId").trim(),
      keyword: form.get("keyword").trim(), interval: form.get("interval"), from: from.toISOString(), to: to.toISOString(),
    });
    const data = [answer.buckets.map((b) => Date.parse(b.start) / 1000), answer.buckets.map((b) => b.count)];
    if (!seriesChart) {
      seriesChart = makeChart($("series-chart"), [{ label: "events", stroke: COLORS[0], fill: "rgba(47,111,222,0.12)", width: 1.5 }], "events");
    }
    seriesChart.setData(data);
    setNumber($("series-total"), answer.total);
    $("series-chart").dataset.loaded = "true";
  } catch (error) {
    $("series-error").textContent = error.message;
  }
}

// --- numbers and lists -----------------------------------------------------------------

function setNumber(element, value) {
  element.dataset.value = String(value);
  element.textContent = number.format(value);
}

function card(label, value, extraClass) {
  const element = document.createElement("div");
  element.className = `card ${extraClass || ""}`;
  const name = document.createElement("div");
  name.className = "label";
  name.textContent = label;
  const shown = document.createElement("div");
  shown.className = "value";
  shown.dataset.total = label;
  setNumber(shown, value);
  element.append(name, shown);
  return element;
}

async function refreshSummary() {
  const summary = await api("/api/statistics/summary");
  const cards = [card("ALL", summary.total)];
  for (const type of TYPES) cards.push(card(type, summary.totals[type] || 0));
  cards.push(card("NOT YET IN POSTGRESQL", summary.pendingPersistence, "pending"));
  cards[cards.length - 1].querySelector(".value").dataset.total = "pendingPersistence";
  $("totals").replaceChildren(...cards);
}

const windows = { posts: "1h", keywords: "1h" };

function rankingList(list, items, nameOf) {
  const rows = items.map((item) => {
    const row = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = nameOf(item);
    const count = document.createElement("span");
    count.className = "count";
    setNumber(count, item.count);
    row.append(name, count);
    return row;
  });
  if (!rows.length) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "nothing in this window";
    rows.push(empty);
  }
  list.replaceChildren(...rows);
  list.dataset.loaded = "true";
}

async function refreshTop() {
  const [posts, keywords] = await Promise.all([
    api("/api/statistics/top-posts", { eventType: $("top-type").value, window: windows.posts }),
    api("/api/statistics/keywords", { window: windows.keywords }),
  ]);
  rankingList($("top-posts"), posts.posts, (item) => `post ${item.postId}`);
  rankingList($("top-keywords"), keywords.keywords, (item) => item.keyword);
}

function windowButtons() {
  for (const holder of document.querySelectorAll(".windows")) {
    const target = holder.dataset.target;
    for (const window of ["1h", "24h", "7d"]) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = window;
      button.dataset.window = window;
      button.className = window === windows[target] ? "" : "off";
      button.addEventListener("click", () => {
        windows[target] = window;
        for (const other of holder.children) other.className = other === button ? "" : "off";
        refreshTop().catch(report);
      });
      holder.append(button);
    }
  }
}

async function refreshUnique() {
  const date = $("unique-date").value;
  const answers = await Promise.all(TYPES.map((eventType) => api("/api/statistics/unique-users", { eventType, date })));
  const rows = answers.map((answer) => {
    const row = document.createElement("tr");
    const type = document.createElement("td");
    type.textContent = answer.eventType;
    const users = document.createElement("td");
    users.className = "num";
    users.dataset.uniqueUsers = answer.eventType;
    setNumber(users, answer.uniqueUsers);
    row.append(type, users);
    return row;
  });
  $("unique-users").tBodies[0].replaceChildren(...rows);
}

// --- the event explorer -------------------------------------------------------------------

let explorerCursor = null;

function explorerParams() {
  const params = {};
  for (const [name, value] of new FormData($("explorer-form"))) {
    const text = String(value).trim();
    if (!text) continue;
    // datetime-local is the browser's local time; the API takes RFC 3339.
    params[name] = name === "from" || name === "to" ? new Date(text).toISOString() : text;
  }
  return params;
}

function cell(text, className) {
  const element = document.createElement("td");
  if (className) element.className = className;
  element.textContent = text === null || text === undefined ? "" : String(text);
  return element;
}

async function loadEvents(append) {
  $("explorer-error").textContent = "";
  const params = explorerParams();
  if (append && explorerCursor) params.cursor = explorerCursor;
  try {
    const page = await api("/api/events", params);
    const rows = page.events.map((event) => {
      const row = document.createElement("tr");
      row.dataset.eventId = event.eventId;
      row.append(cell(event.serverTime), cell(event.eventType), cell(event.userId), cell(event.sessionId),
        cell(event.componentId), cell(event.postId), cell(event.keyword), cell(JSON.stringify(event.metadata), "meta"));
      return row;
    });
    const body = $("explorer").tBodies[0];
    if (append) body.append(...rows); else body.replaceChildren(...rows);
    explorerCursor = page.nextCursor;
    $("explorer-more").hidden = !explorerCursor;
    $("explorer").dataset.loaded = "true";
  } catch (error) {
    $("explorer-error").textContent = error.message;
  }
}

// --- refreshing -----------------------------------------------------------------------------

function report(error) { status(`last refresh failed: ${error.message}`); }

async function refreshFast() {
  if (document.hidden) return;
  await Promise.all([refreshSummary(), refreshLive()]);
  status(`updated ${new Date().toLocaleTimeString()}`);
}

async function refreshSlow() {
  if (document.hidden) return;
  await Promise.all([refreshTop(), refreshUnique(), refreshSeries()]);
}

function refreshAll() {
  refreshFast().catch(report);
  refreshSlow().catch(report);
  loadEvents(false);
}

function start() {
  for (const select of [$("series-type"), $("explorer-type")]) {
    for (const type of TYPES) select.append(new Option(type, type));
  }
  $("unique-date").value = new Date().toISOString().slice(0, 10);
  windowButtons();
  $("series-form").addEventListener("submit", (event) => { event.preventDefault(); refreshSeries(); });
  $("explorer-form").addEventListener("submit", (event) => { event.preventDefault(); loadEvents(false); });
  $("explorer-more").addEventListener("click", () => loadEvents(true));
  $("top-type").addEventListener("change", () => refreshTop().catch(report));
  $("unique-date").addEventListener("change", () => refreshUnique().catch(report));
  setInterval(() => refreshFast().catch(report), LIVE_REFRESH_MS);
  setInterval(() => refreshSlow().catch(report), SLOW_REFRESH_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshFast().catch(report); });
  keyFromFragment();
  if (localStorage.getItem(KEY_STORE) === null) askKey();
  refreshAll();
}

start();
