import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { isRetriableStatus } from '../../../functions/ports/bus.ts';
import { decodeHttp, encodeHttpBinary } from '../../../events/bindings/http.ts';
import { createPushSink, pushTargetsFromRegistry } from '../../../connectors/push-sink/index.ts';
import { BackendRegistryStore, MemoryBackend } from '../../../connectors/registry/index.ts';
import { isMooringError, MooringError } from '../../../events/errors.ts';

const event = (id = '1', subject = 'temp'): CloudEvent => ({
  specversion: '1.0', id, source: 'drogue://app1/dev%201', type: 'io.drogue.event.v1', subject,
  datacontenttype: 'application/json', data: Buffer.from('{"t":21}'),
  extensions: { application: 'app1', device: 'dev 1', partitionkey: 'app1/dev%201' },
});

interface Received { event: CloudEvent; headers: http.IncomingHttpHeaders; res: http.ServerResponse }

/** A local app endpoint; `answer` decides the response (or holds it when it returns nothing). */
async function app(answer: (r: Received) => void) {
  const received: Received[] = [];
  let connections = 0;
  const waiters: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { event: decodeHttp({ headers: req.headers, body: Buffer.concat(chunks) }), headers: req.headers, res };
      received.push(r);
      answer(r);
      for (const w of waiters.splice(0)) w();
    });
  });
  server.on('connection', () => { connections++; });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return {
    url, received,
    get connections() { return connections; },
    /** Waits (bounded) until `n` requests arrived. */
    async until(n: number) {
      while (received.length < n) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${n} requests arrived`)), 5000);
          waiters.push(() => { clearTimeout(timer); resolve(); });
        });
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const ok = (r: Received) => { r.res.writeHead(202).end(); };

test('2xx: binary-mode POST with the configured headers, no reply', async () => {
  const a = await app(ok);
  const sink = createPushSink({ endpoint: { url: a.url, headers: { authorization: 'Bearer t' } } });
  try {
    assert.is(await sink(event()), undefined);
    const r = a.received[0]!;
    assert.is(r.headers['ce-type'], 'io.drogue.event.v1');
    assert.is(r.headers['ce-device'], 'dev%201', 'header values are percent-encoded');
    assert.is(r.headers['content-type'], 'application/json');
    assert.is(r.headers.authorization, 'Bearer t');
    assert.equal(r.event.extensions, { application: 'app1', device: 'dev 1', partitionkey: 'app1/dev%201' });
    assert.is(Buffer.from(r.event.data!).toString(), '{"t":21}');
  } finally { await sink.close(); await a.close(); }
});

test('a CloudEvent in a 2xx response is the reply; an invalid one is dropped', async () => {
  let n = 0;
  const a = await app((r) => {
    if (n++ === 0) {
      const reply = encodeHttpBinary({ ...event('reply-1', 'ack'), type: 'com.example.ack', data: Buffer.from('ok'), datacontenttype: 'text/plain' });
      r.res.writeHead(200, reply.headers).end(reply.body);
    } else {
      r.res.writeHead(200, { 'ce-specversion': '1.0' }).end('x');
    }
  });
  const sink = createPushSink({ endpoint: { url: a.url } });
  try {
    const reply = await sink(event());
    assert.ok(reply && !Array.isArray(reply));
    assert.is(reply.id, 'reply-1');
    assert.is(reply.type, 'com.example.ack');
    assert.is(Buffer.from(reply.data!).toString(), 'ok');
    assert.is(await sink(event('2')), undefined);
  } finally { await sink.close(); await a.close(); }
});

for (const status of [503, 404, 429, 400, 401, 413]) {
  test(`${status}: MOORING_DELIVERY_FAILED(${status}) carrying the body; retriable = ${isRetriableStatus(status)}`, async () => {
    const a = await app((r) => { r.res.writeHead(status).end('nope'); });
    const sink = createPushSink({ endpoint: { url: a.url } });
    try {
      await sink(event());
      assert.unreachable();
    } catch (err) {
      assert.ok(isMooringError(err, 'MOORING_DELIVERY_FAILED'));
      assert.is((err as MooringError).upstreamStatus, status);
      assert.is(Buffer.from((err as MooringError).data!).toString(), 'nope');
    } finally { await sink.close(); await a.close(); }
  });
}

test('connection refused: MOORING_DELIVERY_FAILED without status (retriable)', async () => {
  const a = await app(ok);
  const url = a.url;
  await a.close();
  const sink = createPushSink({ endpoint: { url } });
  try {
    await sink(event());
    assert.unreachable();
  } catch (err) {
    assert.ok(isMooringError(err, 'MOORING_DELIVERY_FAILED'));
    assert.is((err as MooringError).upstreamStatus, undefined);
    assert.ok(isRetriableStatus((err as MooringError).upstreamStatus));
  } finally { await sink.close(); }
});

test('no answer within the endpoint timeout: MOORING_DELIVERY_FAILED without status', async () => {
  const a = await app(() => { /* never answers */ });
  const sink = createPushSink({ endpoint: { url: a.url, timeout: '50ms' } });
  try {
    await sink(event());
    assert.unreachable();
  } catch (err) {
    assert.ok(isMooringError(err, 'MOORING_DELIVERY_FAILED'));
    assert.is((err as MooringError).upstreamStatus, undefined);
    assert.match((err as Error).message, 'no response within 50 ms');
  } finally { await sink.close(); await a.close(); }
});

test('keep-alive: sequential deliveries reuse one connection', async () => {
  const a = await app(ok);
  const sink = createPushSink({ endpoint: { url: a.url } });
  try {
    for (let i = 0; i < 5; i++) await sink(event(String(i)));
    assert.is(a.received.length, 5);
    assert.is(a.connections, 1);
  } finally { await sink.close(); await a.close(); }
});

test('a reused keep-alive socket closed by the server is retried once on a new connection', async () => {
  let n = 0;
  const a = await app((r) => { if (++n === 2) r.res.socket?.destroy(); else r.res.writeHead(202).end(); });
  const sink = createPushSink({ endpoint: { url: a.url } });
  try {
    await sink(event('1'));
    assert.is(await sink(event('2')), undefined);
    assert.is(a.connections, 2);
    assert.equal(a.received.map((r) => r.event.id), ['1', '2', '2']);
  } finally { await sink.close(); await a.close(); }
});

test('bounded in flight: excess calls queue and run in arrival order', async () => {
  const held: Received[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const a = await app((r) => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    held.push(r);
  });
  const sink = createPushSink({ endpoint: { url: a.url }, maxInFlight: 2 });
  try {
    const results = [1, 2, 3, 4, 5].map((i) => sink(event(String(i))));
    await a.until(2);
    assert.is(sink.inFlight, 2);
    assert.is(sink.queued, 3);
    for (let answered = 0; answered < 5; answered++) {
      await a.until(answered + 1);
      concurrent--;
      held[answered]!.res.writeHead(200).end();
    }
    await Promise.all(results);
    assert.is(maxConcurrent, 2);
    assert.equal(a.received.map((r) => r.event.id), ['1', '2', '3', '4', '5']);
    assert.is(sink.inFlight, 0);
  } finally { await sink.close(); await a.close(); }
});

test('invalid endpoint configuration is refused at construction', () => {
  assert.throws(() => createPushSink({ endpoint: { url: 'ftp://x' } }), /http or https/);
  assert.throws(() => createPushSink({ endpoint: { url: 'http://x', timeout: 'soon' } }), /not a duration/);
});

test('pushTargetsFromRegistry: enabled applications with an endpoint url', async () => {
  const reg = new BackendRegistryStore(new MemoryBackend());
  for (const app of [
    { metadata: { name: 'a' }, spec: { knative: { endpoint: { url: 'http://a/' } } } },
    { metadata: { name: 'b' }, spec: {} },
    { metadata: { name: 'c' }, spec: { core: { disabled: true }, knative: { endpoint: { url: 'http://c/' } } } },
  ]) await reg.createApplication(app);
  assert.equal(await pushTargetsFromRegistry(reg), [{ application: 'a', endpoint: { url: 'http://a/' } }]);
});

test.run();
