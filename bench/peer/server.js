'use strict';
// The peer of bench/compare.sh: what a small Node service does for the same single-event
// request, to compare the tracker's rate with. It does less than the tracker: fastify
// with ioredis auto-pipelining, node:cluster workers, the tracker's validation of
// POST /api/events (docs/API.md, src/domain/event_validation.cpp), then one small Lua
// script per event that appends it to a stream and bumps a few counters in the peer's own
// Redis (run with AOF everysec by compare.sh). Nothing goes to PostgreSQL, there is no
// deduplication, no rate limit, no memory budget.
//
//   PEER_PORT=60101 PEER_REDIS_PORT=60100 PEER_WORKERS=2 node server.js
const cluster = require('node:cluster');
const crypto = require('node:crypto');

const PORT = Number(process.env.PEER_PORT || 60101);
const HOST = process.env.PEER_HOST || '127.0.0.1';
const REDIS_PORT = Number(process.env.PEER_REDIS_PORT || 60100);
const WORKERS = Number(process.env.PEER_WORKERS || 2);
// The stream is never drained (there is no flusher), so it is trimmed to stay bounded.
const STREAM_MAX = Number(process.env.PEER_STREAM_MAX || 500000);

if (cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (signal !== 'SIGTERM' && code !== 0) console.error(`peer worker ${worker.process.pid} exited: ${signal || code}`);
  });
  const stop = () => { for (const id in cluster.workers) cluster.workers[id].kill('SIGTERM'); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return;
}

const Fastify = require('fastify');
const Redis = require('ioredis');

// KEYS: stream, totals hash, the event's count key, its minute hash. ARGV: stream cap,
// the event as JSON, its type, its minute.
const INGEST_LUA = `
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('INCR', KEYS[3])
redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
return 1`;

const TYPES = new Set(['PAGE_VIEW', 'SEARCH', 'CLICK', 'LIKE', 'UNLIKE', 'SCROLL', 'COMMENT', 'SHARE']);
const ALLOWED = new Set(['eventType', 'userId', 'sessionId', 'metadata', 'eventId', 'timestamp', 'sentAt']);
const MAX_TEXT = 256;
const MAX_METADATA_FIELDS = 64;
const MAX_FUTURE_MS = 5 * 60000;
const MAX_PAST_MS = 24 * 3600000;
const EARLIEST_MS = -62135596800000; // 0001-01-01
const LATEST_MS = 253402300799999;   // 9999-12-31T23:59:59.999
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

class FieldError extends Error {
  constructor(code, message, field) { super(message); this.code = code; this.field = field; }
}
const missing = (f) => new FieldError('MISSING_FIELD', `${f} is required`, f);
const wrongType = (f, expected) => new FieldError('INVALID_TYPE', `${f} must be ${expected}`, f);
const invalid = (f, message) => new FieldError('INVALID_VALUE', message, f);
const present = (o, k) => (o[k] === undefined || o[k] === null ? undefined : o[k]);

function text(object, key, field) {
  const v = present(object, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw wrongType(field, 'a string');
  if (v.trim() === '') throw invalid(field, `${field} must not be blank`);
  if (Buffer.byteLength(v) > MAX_TEXT) throw invalid(field, `${field} is longer than ${MAX_TEXT} bytes`);
  if (CONTROL.test(v)) throw invalid(field, `${field} must not contain control characters`);
  return v;
}

function id(object, key, field) {
  const v = present(object, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw wrongType(field, 'an integer');
  if (!Number.isInteger(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER * 1024) throw invalid(field, `${field} must be an integer in int64 range`);
  if (v < 1) throw invalid(field, `${field} must be >= 1`);
  return v;
}

function clientTime(v, field) {
  let ms;
  if (typeof v === 'string') {
    if (!RFC3339.test(v) || Number.isNaN(ms = Date.parse(v))) throw invalid(field, `${field} must be RFC 3339 or epoch milliseconds`);
  } else if (typeof v === 'number' && Number.isInteger(v)) {
    ms = v;
  } else {
    throw wrongType(field, 'an RFC 3339 string or an integer of epoch milliseconds');
  }
  if (ms < EARLIEST_MS || ms > LATEST_MS) throw invalid(field, `${field} is out of range`);
  return ms;
}

function hasNul(value) {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(hasNul);
  if (value && typeof value === 'object') return Object.keys(value).some((k) => k.includes('\u0000') || hasNul(value[k]));
  return false;
}

// The tracker's rules for one event (API.md "Event ingestion"), in the same order, with
// the same codes; returns what the Lua stores.
function validate(body, nowMs) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new FieldError('INVALID_BODY', 'the event must be a JSON object', undefined);
  for (const key of Object.keys(body)) {
    if (!ALLOWED.has(key)) throw new FieldError('UNKNOWN_FIELD', `unknown field '${key.slice(0, 64)}'`, key.slice(0, 64));
  }
  const rawType = present(body, 'eventType');
  if (rawType === undefined) throw missing('eventType');
  if (typeof rawType !== 'string') throw wrongType('eventType', 'a string');
  const type = rawType.toUpperCase();
  if (!TYPES.has(type)) throw invalid('eventType', 'eventType must be one of PAGE_VIEW, SEARCH, CLICK, LIKE, UNLIKE, SCROLL, COMMENT, SHARE');
  const likeLike = type === 'LIKE' || type === 'UNLIKE';

  const userId = id(body, 'userId', 'userId');
  if (userId === undefined && likeLike) throw missing('userId');
  if (present(body, 'sessionId') === undefined) throw missing('sessionId');
  const sessionId = text(body, 'sessionId', 'sessionId');

  const metadata = present(body, 'metadata');
  if (metadata === undefined) throw missing('metadata');
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw wrongType('metadata', 'an object');
  if (Object.keys(metadata).length > MAX_METADATA_FIELDS) throw invalid('metadata', `metadata has more than ${MAX_METADATA_FIELDS} fields`);
  if (present(metadata, 'componentId') === undefined) throw missing('metadata.componentId');
  const componentId = id(metadata, 'componentId', 'metadata.componentId');
  text(metadata, 'elementId', 'metadata.elementId');
  const postId = id(metadata, 'postId', 'metadata.postId');
  if (postId === undefined && likeLike) throw missing('metadata.postId');

  let keyword;
  const rawKeyword = present(metadata, 'keyword');
  if (rawKeyword !== undefined) {
    if (typeof rawKeyword !== 'string') throw wrongType('metadata.keyword', 'a string');
    let k = rawKeyword.trim();
    if (k.startsWith('#')) k = k.slice(1).trim();
    let rejection;
    if (k === '') rejection = 'must not be blank';
    else if (CONTROL.test(k)) rejection = 'must not contain control characters';
    else if (Buffer.byteLength(k) > MAX_TEXT) rejection = `is longer than ${MAX_TEXT} bytes`;
    if (rejection) {
      if (type === 'SEARCH' || k !== '') throw invalid('metadata.keyword', `metadata.keyword ${rejection}`);
    } else {
      keyword = k.replace(/[A-Z]+/g, (s) => s.toLowerCase());
    }
  }
  if (keyword === undefined && type === 'SEARCH') throw missing('metadata.keyword');
  if (hasNul(metadata)) throw invalid('metadata', 'metadata must not contain the character U+0000');

  const eventId = present(body, 'eventId');
  if (eventId !== undefined) {
    if (typeof eventId !== 'string') throw wrongType('eventId', 'a UUID string');
    if (!UUID.test(eventId)) throw invalid('eventId', 'eventId must be a UUID');
  }
  const sentAt = present(body, 'sentAt');
  const skew = sentAt === undefined ? 0 : nowMs - clientTime(sentAt, 'sentAt');
  let eventTime = nowMs;
  const timestamp = present(body, 'timestamp');
  if (timestamp !== undefined) {
    const corrected = clientTime(timestamp, 'timestamp') + skew;
    if (corrected < EARLIEST_MS || corrected > LATEST_MS) throw invalid('timestamp', 'timestamp corrected by sentAt falls outside the years 1 to 9999');
    if (corrected <= nowMs + MAX_FUTURE_MS && corrected >= nowMs - MAX_PAST_MS) eventTime = corrected;
  }
  let countKey = `peer:count:${type}:${componentId}`;
  if (postId !== undefined) countKey += `:p${postId}`;
  if (keyword !== undefined) countKey += `:k${keyword}`;
  return { type, userId, sessionId, metadata, eventTime, countKey };
}

const redis = new Redis({ host: '127.0.0.1', port: REDIS_PORT, enableAutoPipelining: true, maxRetriesPerRequest: 1, commandTimeout: 2000 });
redis.defineCommand('ingest', { numberOfKeys: 4, lua: INGEST_LUA });

const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
// navigator.sendBeacon sends the JSON as text/plain; the tracker takes both.
app.addContentTypeParser('text/plain', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
app.setErrorHandler((error, request, reply) => {
  const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
  const code = status === 400 ? 'MALFORMED_JSON' : status === 413 ? 'BODY_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INTERNAL';
  reply.code(status).send({ error: { code, message: error.message } });
});

async function ingest(request, reply) {
  const now = Date.now();
  let event;
  try {
    event = validate(request.body, now);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    const body = { error: { code: error.code, message: error.message } };
    if (error.field) body.error.field = error.field;
    return reply.code(400).send(body);
  }
  const eventId = crypto.randomUUID();
  const stored = JSON.stringify({ id: eventId, t: event.type, u: event.userId, s: event.sessionId, m: event.metadata, at: event.eventTime });
  const minute = Math.floor(event.eventTime / 60000) * 60;
  try {
    await redis.ingest('peer:stream', 'peer:totals', event.countKey, `peer:minutes:${event.type}`, STREAM_MAX, stored, event.type, minute);
  } catch (error) {
    return reply.code(503).header('retry-after', '1').send({ error: { code: 'STORE_UNAVAILABLE', message: 'Redis did not take the event' } });
  }
  return reply.code(202).send({ eventId });
}

app.post('/api/events', ingest);
app.post('/api/users/events', ingest);
app.get('/health/ready', async () => ({ status: 'ok' }));

app.listen({ port: PORT, host: HOST }).catch((error) => { console.error(error); process.exit(1); });
process.on('SIGTERM', () => { app.close().then(() => redis.quit()).finally(() => process.exit(0)); });
