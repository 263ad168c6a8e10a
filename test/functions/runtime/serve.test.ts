import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { MooringError } from '../../../events/errors.ts';
import { silentLogger, systemClock, type FunctionContext, type MooringFunction } from '../../../functions/ports/runtime.ts';
import { decodeHttp, encodeHttpBinary } from '../../../events/bindings/http.ts';
import { serve } from '../../../functions/runtime/serve.ts';
import { loadFunction, main } from '../../../functions/runtime/main.ts';
import { BackendRegistryStore, MemoryBackend } from '../../../connectors/registry/index.ts';
import { createOtlpTracer } from '../../../connectors/tracing/index.ts';
import { newTraceparent, parseTraceparent } from '../../../events/trace.ts';
import { startOtlpReceiver } from '../../helpers/otlp.ts';
import { waitFor } from '../../helpers/http-app.ts';

const emptyRegistry = () => new BackendRegistryStore(new MemoryBackend());

const ctx: FunctionContext = {
  registry: emptyRegistry(), clock: systemClock, logger: silentLogger, instance: 'drogue', newId: () => 'new-id',
};

/** Lets a test hold the `slow` event inside the function. */
let gate: { entered: Promise<void>; enter: () => void; release: () => void; released: Promise<void> };
function newGate() {
  let enter!: () => void;
  let release!: () => void;
  const entered = new Promise<void>((r) => { enter = r; });
  const released = new Promise<void>((r) => { release = r; });
  gate = { entered, enter, release, released };
}

const reply = (e: CloudEvent, n = 1): CloudEvent => ({ ...e, id: `reply-${n}`, type: 'io.example.reply', extensions: { ...e.extensions, seen: 'yes' } });

const testFn: MooringFunction = {
  name: 'test-fn',
  async handle(e) {
    switch (e.subject) {
      case 'reply': return reply(e);
      case 'many': return [reply(e, 1), reply(e, 2)];
      case 'refuse': throw new MooringError('MOORING_REJECTED', 'not for you');
      case 'busy': throw new MooringError('MOORING_BUS_FULL', 'bus full');
      case 'crash': throw new Error('secret internals');
      case 'slow': gate.enter(); await gate.released; return undefined;
      default: return undefined;
    }
  },
};

const event = (subject: string): CloudEvent => ({
  specversion: '1.0', id: 'e1', source: 'drogue://app/dev', type: 'io.drogue.event.v1', subject,
  datacontenttype: 'text/plain', data: Buffer.from('hello wörld'), extensions: { application: 'app', device: 'dev 1' },
});

interface Res { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function request(port: number, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer }): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', method: opts.method ?? 'POST', path: opts.path ?? '/', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const post = (port: number, e: CloudEvent) => {
  const m = encodeHttpBinary(e);
  return request(port, { headers: m.headers, body: m.body });
};
const json = (r: Res) => JSON.parse(r.body.toString()) as { error: string; message: string };

test('binary event in, reply out in binary mode with 200', async () => {
  const h = await serve(testFn, ctx, { port: 0, host: '127.0.0.1' });
  try {
    const r = await post(h.port, event('reply'));
    assert.is(r.status, 200);
    assert.is(r.headers['ce-id'], 'reply-1');
    const back = decodeHttp(r);
    assert.is(back.type, 'io.example.reply');
    assert.is(back.extensions.device, 'dev 1');
    assert.is(back.extensions.seen, 'yes');
    assert.is(back.datacontenttype, 'text/plain');
    assert.is(r.body.toString(), 'hello wörld');
  } finally { await h.close(); }
});

test('structured event in; several returned events reply with the first', async () => {
  const h = await serve(testFn, ctx, { port: 0, host: '127.0.0.1' });
  try {
    const body = Buffer.from(JSON.stringify({ specversion: '1.0', id: 'x', source: 's', type: 't', subject: 'many', data: { a: 1 } }));
    const r = await request(h.port, { headers: { 'content-type': 'application/cloudevents+json' }, body });
    assert.is(r.status, 200);
    assert.is(r.headers['ce-id'], 'reply-1');
    assert.is(r.body.toString(), '{"a":1}');
  } finally { await h.close(); }
});

test('no reply → 202 with an empty body', async () => {
  const h = await serve(testFn, ctx, { port: 0, host: '127.0.0.1' });
  try {
    const r = await post(h.port, event('nothing'));
    assert.is(r.status, 202);
    assert.is(r.body.length, 0);
  } finally { await h.close(); }
});

test('invalid CloudEvent → 400 with a JSON error', async () => {
  const h = await serve(testFn, ctx, { port: 0, host: '127.0.0.1' });
  try {
    const r = await request(h.port, { headers: { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 't' }, body: Buffer.from('x') });
    assert.is(r.status, 400);
    assert.is(r.headers['content-type'], 'application/json');
    assert.equal(json(r), { error: 'MOORING_INVALID_EVENT', message: 'required attribute source is missing or empty' });
    const nothing = await request(h.port, { body: Buffer.from('just bytes') });
    assert.is(nothing.status, 400);
  } finally { await h.close(); }
});

test('MooringError → its status (non-retriable 4xx, retriable 5xx); other exceptions → 500 without details', async () => {
  const h = await serve(testFn, ctx, { port: 0, host: '127.0.0.1' });
  try {
    const refused = await post(h.port, event('refuse'));
    assert.is(refused.status, 406);
    assert.equal(json(refused), { error: 'MOORING_REJECTED', message: 'not for you' });
    const busy = await post(h.port, event('busy'));
    assert.is(busy.status, 503);
    assert.is(json(busy).error, 'MOORING_BUS_FULL');
    const crash = await post(h.port, event('crash'));
    assert.is(crash.status, 500);
    assert.equal(json(crash), { error: 'MOORING_INTERNAL', message: 'internal error' });
  } finally { await h.close(); }
});

test('health endpoints, other methods, body limit', async () => {
  const h = await serve(testFn, ctx, { port: 0, host: '127.0.0.1', maxBodyBytes: 64 });
  try {
    assert.is((await request(h.port, { method: 'GET', path: '/health/liveness' })).status, 200);
    assert.is((await request(h.port, { method: 'GET', path: '/health/readiness' })).status, 200);
    assert.is((await request(h.port, { method: 'GET', path: '/' })).status, 405);
    const big = { ...event('nothing'), data: Buffer.alloc(65, 1) };
    assert.is((await post(h.port, big)).status, 413);
    const fits = { ...event('nothing'), data: Buffer.alloc(64, 1) };
    assert.is((await post(h.port, fits)).status, 202);
  } finally { await h.close(); }
});

test('drain: readiness 503, the in-flight request finishes, then the listener closes', async () => {
  newGate();
  const h = await serve(testFn, ctx, { port: 0, host: '127.0.0.1' });
  const slow = post(h.port, event('slow'));
  await gate.entered;
  let closed = false;
  const closing = h.close().then(() => { closed = true; });
  const ready = await request(h.port, { method: 'GET', path: '/health/readiness' });
  assert.is(ready.status, 503);
  assert.is((await request(h.port, { method: 'GET', path: '/health/liveness' })).status, 200);
  assert.not.ok(closed, 'close waits for the in-flight request');
  gate.release();
  assert.is((await slow).status, 202);
  await closing;
  try {
    await request(h.port, { method: 'GET', path: '/health/liveness' });
    assert.unreachable('the listener is closed');
  } catch (err) {
    assert.is((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  }
});

test('SIGTERM drains when handleSignals is on', async () => {
  const h = await serve(testFn, ctx, { port: 0, host: '127.0.0.1', handleSignals: true });
  const before = process.listenerCount('SIGTERM');
  process.emit('SIGTERM');
  await h.close(); // the same drain, already under way
  assert.is(process.listenerCount('SIGTERM'), before - 1);
  await request(h.port, { method: 'GET', path: '/health/liveness' }).then(
    () => assert.unreachable('closed'),
    (err: NodeJS.ErrnoException) => assert.is(err.code, 'ECONNREFUSED'),
  );
});

test('main: MOORING_FUNCTION selects the function; unknown names are refused', async () => {
  const h = await main({
    registry: () => emptyRegistry(),
    functionName: 'test-fn', port: 0,
    logger: silentLogger,
    load: async (name) => { assert.is(name, 'test-fn'); return testFn; },
  });
  try {
    assert.is((await post(h.port, event('reply'))).status, 200);
  } finally {
    await h.close();
  }
  await loadFunction('nope').then(() => assert.unreachable(), (err: Error) => assert.match(err.message, 'one of: normalize, content-type, authz'));
  await main({ registry: () => emptyRegistry(), functionName: undefined, logger: silentLogger }).then(
    () => assert.unreachable(), (err: Error) => assert.match(err.message, 'MOORING_FUNCTION is not set'));
});

test('with a tracer, each event handled is a span of its traceparent\'s trace, exported over OTLP', async () => {
  const otlp = await startOtlpReceiver();
  const tracer = createOtlpTracer({ endpoint: otlp.url, serviceName: 'test', exportIntervalMs: 100 });
  const h = await serve(testFn, ctx, { port: 0, tracer });
  try {
    const sent = newTraceparent();
    const e = { ...event('reply'), extensions: { ...event('reply').extensions, traceparent: sent } };
    const msg = encodeHttpBinary(e);
    const res = await request(h.port, { headers: { ...msg.headers, 'content-length': String(msg.body.length) }, body: msg.body });
    assert.is(res.status, 200);
    // The reply carries the trace on (extension and W3C header).
    assert.is(res.headers['ce-traceparent'], sent);
    assert.is(res.headers.traceparent, sent);
    const { traceId, spanId } = parseTraceparent(sent)!;
    const span = await waitFor('the function span at the OTLP receiver', () => otlp.spans.find((s) => s.traceId === traceId), 20_000);
    console.log(`function span: ${span.name}, parent ${String(span.parentSpanId)}`);
    assert.is(span.name, 'function test-fn');
    assert.is(span.parentSpanId, spanId);
  } finally {
    await h.close();
    await tracer.shutdown();
    await otlp.close();
  }
});

test.run();
