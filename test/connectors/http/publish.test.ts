// POST /v1/{channel}: Drogue's content-type rules (the same pure code as MQTT), the 64 KiB limit
// (413, nothing more read), 202 only after the bus accepted the event, 503/500 from the error
// registry, and the final event equal to Drogue's HTTP endpoint's once normalize and content-type ran.

import { parseTraceparent } from '../../../events/trace.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { PublishExt } from '../../../events/types.ts';
import { validateEvent } from '../../../events/validate.ts';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { curl, finalEvent, httpFixture, type HttpFixture } from './fixture.ts';

let f: HttpFixture;
test.before(async () => { f = await httpFixture(); });
test.after(async () => { await f.close(); });

const USER = 'device1@app1:hey';
const last = () => f.bus.events[f.bus.events.length - 1]!;

/** The raw publish through normalize and content-type: what the application receives. */
const final = (e: CloudEvent): Promise<CloudEvent> => finalEvent(f.registry, e, Date.parse('2026-01-01T00:00:00Z'));

test('the event the application receives has exactly Drogue\'s HTTP endpoint attributes', async () => {
  const res = await f.post('/v1/temperature/ignored/suffix?data_schema=urn:my:schema', { user: USER, body: '{"temp":21}', headers: { 'content-type': 'application/json' } });
  assert.is(res.status, 202);
  const e = await final(last());
  // Drogue's attributes, plus the trace context (W3C traceparent, a new trace: the device sent none).
  const { traceparent, ...drogue } = e.extensions;
  assert.ok(parseTraceparent(traceparent), `a valid traceparent: ${String(traceparent)}`);
  assert.equal({ ...e, extensions: drogue, data: Buffer.from(e.data!).toString() }, {
    specversion: '1.0', id: 'final', type: 'io.drogue.event.v1', source: 'drogue://app1/device1', subject: 'temperature',
    time: '2026-01-01T00:00:00.000Z', datacontenttype: 'application/json', dataschema: 'urn:my:schema', data: '{"temp":21}',
    extensions: {
      application: 'app1', device: 'device1', sender: 'device1', instance: 'drogue', partitionkey: 'app1/device1',
      applicationuid: 'uid-app1', deviceuid: 'uid-device1', senderuid: 'uid-device1',
    },
  });
  assert.ok(validateEvent(e).ok);
});

test('a gateway\'s event: device and source the target, sender and partition key the gateway, both uids', async () => {
  assert.is((await f.post('/v1/t?as=sensor1', { user: 'gateway1@app1:gw', body: 'x' })).status, 202);
  const e = await final(last());
  assert.is(e.source, 'drogue://app1/sensor1');
  assert.is(e.extensions.device, 'sensor1');
  assert.is(e.extensions.sender, 'gateway1');
  assert.is(e.extensions.partitionkey, 'app1/gateway1');
  assert.is(e.extensions.deviceuid, 'uid-sensor1');
  assert.is(e.extensions.senderuid, 'uid-gateway1');
});

test('a percent-encoded channel is decoded; the suffix is ignored', async () => {
  assert.is((await f.post('/v1/my%20channel/a/b/c', { user: USER, body: 'x' })).status, 202);
  assert.is((await final(last())).subject, 'my channel');
});

test('content type rules (§1.4): each row', async () => {
  const rows: Array<[string | undefined, string, number, string | undefined]> = [
    ['application/json', '{"a":1}', 202, 'application/json'],
    ['text/json', '[1,2]', 202, 'text/json'],
    ['application/vnd.foo+json', '{"a":1}', 202, 'application/vnd.foo+json'],
    ['application/json', '{not json', 406, undefined],
    ['application/foo+json', '', 406, undefined],
    ['text/plain', '{not json', 202, 'text/plain'],
    ['application/octet-stream', '{"a":1}', 202, 'application/octet-stream'],
    [undefined, '{"a":1}', 202, 'application/json'],
    [undefined, 'plain bytes', 202, 'application/octet-stream'],
    [undefined, '', 202, 'application/octet-stream'],
  ];
  let checked = 0;
  for (const [type, body, status, want] of rows) {
    const before = f.bus.events.length;
    // fetch labels a string body text/plain: bytes go without a content type.
    const res = await f.post('/v1/ct', { user: USER, body: type ? body : new TextEncoder().encode(body), headers: type ? { 'content-type': type } : {} });
    assert.is(res.status, status, `${type} ${body}`);
    if (status === 406) {
      assert.is(((await res.json()) as { error: string }).error, 'MOORING_REJECTED');
      assert.is(f.bus.events.length, before, 'a rejected body is not published');
    } else {
      assert.is((await final(last())).datacontenttype, want, `${type} ${body}`);
    }
    checked++;
  }
  // curl without -H sends application/x-www-form-urlencoded: kept as given, as in Drogue.
  const r = await curl(['-u', USER, '-H', 'Content-Type: application/json', '-d', 'nope', `${f.url}/v1/ct`]);
  assert.is(r.status, 406);
  console.log(`content-type rows checked: ${checked + 1}`);
});

test('64 KiB is accepted; one byte more is 413 with a JSON error, announced or chunked', async () => {
  const limit = 64 * 1024;
  assert.is((await f.post('/v1/big', { user: USER, body: 'x'.repeat(limit) })).status, 202);
  assert.is(last().data!.byteLength, limit);
  const before = f.bus.events.length;
  const res = await f.post('/v1/big', { user: USER, body: 'x'.repeat(limit + 1) });
  assert.is(res.status, 413);
  assert.is(((await res.json()) as { error: string }).error, 'MOORING_PAYLOAD_TOO_LARGE');
  // Chunked (no Content-Length): cut off once past the limit.
  const chunked = new ReadableStream({
    start(c) { for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(8192).fill(120)); c.close(); },
  });
  const res2 = await fetch(`${f.url}/v1/big`, { method: 'POST', body: chunked, duplex: 'half', headers: { authorization: `Basic ${Buffer.from(USER).toString('base64')}` } } as RequestInit);
  assert.is(res2.status, 413);
  assert.is(f.bus.events.length, before);
});

test('413 for a declared Content-Length above the limit comes before a byte of the body is sent', async () => {
  const answer = await new Promise<string>((resolve, reject) => {
    const s = connect(f.port, '127.0.0.1', () => {
      s.write(`POST /v1/big HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${Buffer.from(USER).toString('base64')}\r\nContent-Length: 10000000\r\n\r\n`);
    });
    let text = '';
    s.on('data', (d) => { text += d.toString(); });
    s.on('close', () => resolve(text));
    s.on('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.match(answer, /"error":"MOORING_PAYLOAD_TOO_LARGE"/);
});

test('202 only after the bus accepted the event', async () => {
  f.bus.mode = 'hold';
  let answered = false;
  const pending = f.post('/v1/held', { user: USER, body: 'x' }).then((r) => { answered = true; return r; });
  while (f.bus.heldCount === 0) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 100));
  assert.is(answered, false, 'no answer while the bus holds the event');
  f.bus.release();
  assert.is((await pending).status, 202);
  assert.is(last().extensions[PublishExt.topic], 'held');
});

test('bus full → 503 MOORING_BUS_FULL; bus down → 503 MOORING_UNAVAILABLE', async () => {
  f.bus.mode = 'full';
  let res = await f.post('/v1/t', { user: USER, body: 'x' });
  assert.is(res.status, 503);
  assert.is(((await res.json()) as { error: string }).error, 'MOORING_BUS_FULL');
  f.bus.mode = 'fail';
  res = await f.post('/v1/t', { user: USER, body: 'x' });
  assert.is(res.status, 503);
  assert.is(((await res.json()) as { error: string }).error, 'MOORING_UNAVAILABLE');
  f.bus.mode = 'accept';
});

test('routes: GET / is 200; unknown paths and methods 404; ct that does not parse 400', async () => {
  assert.is((await fetch(`${f.url}/`)).status, 200);
  assert.is((await fetch(`${f.url}/v1/t`)).status, 404);
  assert.is((await f.post('/v2/t', { user: USER, body: 'x' })).status, 404);
  assert.is((await f.post('/v1/', { user: USER, body: 'x' })).status, 404);
  const res = await f.post('/v1/t?ct=abc', { user: USER, body: 'x' });
  assert.is(res.status, 400);
  assert.is(((await res.json()) as { error: string }).error, 'MOORING_INVALID_REQUEST');
});

test('a client that goes away mid-body publishes nothing and costs nothing else', async () => {
  const before = f.bus.events.length;
  await new Promise<void>((resolve) => {
    const s = connect(f.port, '127.0.0.1', () => {
      s.write(`POST /v1/gone HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${Buffer.from(USER).toString('base64')}\r\nContent-Length: 100\r\n\r\nhalf`);
      setTimeout(() => { s.destroy(); resolve(); }, 50);
    });
  });
  assert.is((await f.post('/v1/after', { user: USER, body: 'x' })).status, 202);
  assert.is(f.bus.events.length, before + 1);
  assert.is(last().extensions[PublishExt.topic], 'after');
});

test.run();
