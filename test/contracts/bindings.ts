// The bindings across hops, on every EventBus adapter: an event with typed extensions POSTed to
// the broker ingress (HTTP binary or structured) goes through the bus, a Kafka-binding hop and
// the push sink's HTTP transport to an application endpoint, and arrives unchanged; a
// wrong-typed extension is refused with the same MOORING_INVALID_EVENT over HTTP (ingress 400)
// and Kafka (the record decoder), and never reaches a subscriber. Waits are event-driven.

import { randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { isMooringError } from '../../events/errors.ts';
import { decodeHttp, encodeHttpBinary, encodeHttpStructured, type HttpMessage } from '../../events/bindings/http.ts';
import { decodeKafka, encodeKafkaBinary } from '../../events/bindings/kafka.ts';
import { silentLogger } from '../../functions/ports/runtime.ts';
import type { TriggerSpec } from '../../functions/ports/bus.ts';
import { HttpTransport } from '../../connectors/push-sink/transport.ts';
import { startIngress, type Ingress } from '../../cli/ingress.ts';
import { Inbox, type EventBusFixture } from './event-bus.ts';

interface Context {
  fixture?: EventBusFixture;
  ingress?: Ingress;
  app?: Server;
  appUrl?: URL;
  transport?: HttpTransport;
  received: Inbox;
  triggers: TriggerSpec[];
}

/** POSTs a message to `url`; resolves with status and parsed JSON body (if any). */
function post(url: string, m: HttpMessage): Promise<{ status: number; body: { error?: string; message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...m.headers, 'content-length': String(m.body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : JSON.parse(text) as { error?: string; message?: string } });
      });
    });
    req.on('error', reject);
    req.end(m.body);
  });
}

/** One Kafka-binding hop as kafkajs carries a record: encoded, headers and key as Buffers, decoded. */
function kafkaHop(event: CloudEvent): CloudEvent {
  const r = encodeKafkaBinary(event);
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k] = Buffer.from(v, 'utf8');
  return decodeKafka({ key: r.key === null ? null : Buffer.from(r.key), value: r.value, headers });
}

const plain = (e: CloudEvent) => ({ ...e, data: e.data === undefined ? undefined : Buffer.from(e.data).toString('hex') });

export function bindingsContract(name: string, factory: () => Promise<EventBusFixture>, opts: { timeoutMs?: number } = {}): void {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const test = suite<Context>(`Bindings across hops: ${name}`, { received: new Inbox(timeoutMs), triggers: [] });

  test.before(async (ctx) => {
    ctx.fixture = await factory();
    ctx.ingress = await startIngress({ host: '127.0.0.1', port: 0, bus: ctx.fixture.bus, logger: silentLogger });
    ctx.received = new Inbox(timeoutMs);
    const app = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        ctx.received.push(decodeHttp({ headers: req.headers, body: Buffer.concat(chunks) }));
        res.writeHead(202, { 'content-length': '0' }).end();
      });
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', () => resolve()));
    ctx.app = app;
    ctx.appUrl = new URL(`http://127.0.0.1:${(app.address() as AddressInfo).port}/`);
    ctx.transport = new HttpTransport();
  });

  test.after(async (ctx) => {
    for (const t of ctx.triggers) await ctx.fixture?.bus.removeTrigger(t.namespace, t.name);
    await ctx.ingress?.close();
    ctx.transport?.close();
    await new Promise<void>((resolve) => { ctx.app?.closeAllConnections(); if (ctx.app) ctx.app.close(() => resolve()); else resolve(); });
    await ctx.fixture?.cleanup();
  });

  /** A Trigger for `type` whose subscriber does a Kafka-binding hop, then the push sink's POST. */
  async function pushTrigger(ctx: Context, type: string): Promise<void> {
    const t: TriggerSpec = {
      name: `bindings-${randomUUID().slice(0, 8)}`, namespace: 'default', broker: 'mooring',
      subscriber: { uri: ctx.appUrl!.href }, filter: { attributes: { type } },
    };
    await ctx.fixture!.bus.addTrigger(t, (event) => ctx.transport!.send(ctx.appUrl!, kafkaHop(event)));
    ctx.triggers.push(t);
  }

  const typed = (type: string): CloudEvent => ({
    specversion: '1.0', id: randomUUID(), source: 'drogue://app/dev%201', type, subject: 'température',
    time: '2026-01-02T03:04:05.678Z', datacontenttype: 'application/octet-stream', data: Buffer.from([0, 1, 255]),
    extensions: { partitionkey: 'app/dev%201', qos: 1, retain: true, payloadformat: 0, knativeerrorcode: 503, topic: 'a/b' },
  });

  test('typed extensions survive HTTP → bus → Kafka → HTTP unchanged (binary and structured ingress)', async (ctx) => {
    const type = `io.mooring.test.bindings.${randomUUID().slice(0, 8)}`;
    await pushTrigger(ctx, type);
    const events = [typed(type), typed(type)];
    assert.is((await post(ctx.ingress!.url, encodeHttpBinary(events[0]!))).status, 202);
    assert.is((await post(ctx.ingress!.url, encodeHttpStructured(events[1]!))).status, 202);
    for (const e of events) await ctx.received.untilId(e.id);
    for (const e of events) {
      const got = ctx.received.events.find((r) => r.id === e.id)!;
      assert.equal(plain(got), plain(e));
      assert.is(typeof got.extensions.qos, 'number');
      assert.is(typeof got.extensions.retain, 'boolean');
    }
    console.log(`  ${name}: ${events.length} events through HTTP → bus → Kafka → HTTP, extensions unchanged`);
  });

  test('a wrong-typed extension is refused identically over HTTP and Kafka, and reaches no subscriber', async (ctx) => {
    const type = `io.mooring.test.bindings.${randomUUID().slice(0, 8)}`;
    await pushTrigger(ctx, type);
    const bad = typed(type);
    const http = encodeHttpBinary(bad);
    http.headers['ce-qos'] = 'one';
    const overHttp = await post(ctx.ingress!.url, http);
    const structured = JSON.parse(encodeHttpStructured(bad).body.toString()) as Record<string, unknown>;
    const overStructured = await post(ctx.ingress!.url, {
      headers: { 'content-type': 'application/cloudevents+json' }, body: Buffer.from(JSON.stringify({ ...structured, qos: 'one' })),
    });
    const record = encodeKafkaBinary(bad);
    let overKafka: unknown;
    try {
      decodeKafka({ key: record.key, value: record.value, headers: { ...record.headers, ce_qos: 'one' } });
    } catch (e) {
      overKafka = e;
    }
    const expected = 'extension qos must be an integer, got "one"';
    assert.equal(overHttp, { status: 400, body: { error: 'MOORING_INVALID_EVENT', message: expected } });
    assert.equal(overStructured, { status: 400, body: { error: 'MOORING_INVALID_EVENT', message: expected } });
    assert.ok(isMooringError(overKafka, 'MOORING_INVALID_EVENT'));
    assert.is((overKafka as Error).message, expected);
    // The same trigger then delivers a good event: the refused one was never published before it.
    const good = typed(type);
    assert.is((await post(ctx.ingress!.url, encodeHttpBinary(good))).status, 202);
    await ctx.received.untilId(good.id);
    assert.is(ctx.received.events.filter((e) => e.type === type).length, 1);
  });

  test.run();
}
