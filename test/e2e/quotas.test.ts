// Per-application quotas end to end in embedded mode (docs/quotas.md): applications created
// through the management API with `spec.limits` (a bad one is refused 400), then each protocol's
// answer over a real client: MQTT 5 CONNACK 0x97 and PUBACK 0x97 and DISCONNECT 0x96, MQTT 3.1.1
// CONNACK 0x03 and backpressure (every publish delivered, the connection kept), HTTP 429 with
// Retry-After, the command API 429 with Retry-After and the MQTT integration's PUBACK 0x97; one limiter for MQTT over TCP and WebSocket
// and HTTP alike, and the `mooring_quota_refusals_total` series.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt, { type MqttClient } from 'mqtt';
import { startEmbedded, type Embedded } from '../helpers/embedded.ts';
import { waitFor } from '../helpers/http-app.ts';

let e: Embedded;
const open: MqttClient[] = [];

test.before(async () => {
  e = await startEmbedded();
  await e.createApp('q-conn', { limits: { application: { connections: 2 }, device: { connections: 1 } } });
  for (const d of ['d1', 'd2', 'd3']) await e.createDevice('q-conn', d, 'pw');
  // 0.1 messages/s: a bucket of one message, refilled in 10 s (no test runs that long between two).
  await e.createApp('q-rate', { limits: { device: { messagesPerSecond: 0.1 } } });
  for (const d of ['v5', 'h1', 'shared']) await e.createDevice('q-rate', d, 'pw');
  await e.createApp('q-v3', { limits: { device: { messagesPerSecond: 5 } } });
  await e.createDevice('q-v3', 'slow', 'pw');
  await e.createApp('q-cmd', { limits: { application: { commandsPerSecond: 0.1 } } });
  await e.createDevice('q-cmd', 'c1', 'pw');
  await waitFor('the push triggers', () => ['q-conn', 'q-rate', 'q-v3', 'q-cmd'].every((a) => e.mooring.pushApplications().includes(a)));
});

test.after(async () => {
  for (const c of open) c.end(true);
  await e?.close();
});

type Transport = 'tcp' | 'ws';
async function connect(user: string, protocolVersion: 4 | 5, transport: Transport = 'tcp'): Promise<MqttClient> {
  const { mqtt: addr } = e.mooring;
  const url = transport === 'tcp' ? `mqtt://127.0.0.1:${addr.mqtt!.port}` : `ws://127.0.0.1:${addr.ws!.port}/mqtt`;
  const c = await mqtt.connectAsync(url, { username: user, password: 'pw', protocolVersion, reconnectPeriod: 0, connectTimeout: 10_000 });
  open.push(c);
  return c;
}

/** Device events (not connection or registry events) pushed to the application at `path`. */
const events = (path: string) => e.app.received.filter((r) => r.path === path && r.headers['ce-type'] === 'io.drogue.event.v1').length;

async function rejectionCode(p: Promise<unknown>): Promise<number | undefined> {
  try { await p; return undefined; } catch (err) { return (err as { code?: number }).code; }
}

const post = (user: string, body = '{"t":1}') => fetch(`http://127.0.0.1:${e.mooring.httpAddresses.http!.port}/v1/t`, {
  method: 'POST', body, headers: { authorization: `Basic ${Buffer.from(`${user}:pw`).toString('base64')}`, 'content-type': 'application/json' },
});

async function assert429(res: Response, what: string): Promise<void> {
  assert.is(res.status, 429, what);
  const after = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(after) && after >= 1, `${what}: Retry-After in whole seconds, got ${res.headers.get('retry-after')}`);
  const body = await res.json() as { error: string; code?: string };
  assert.is(body.code ?? body.error, 'MOORING_QUOTA_EXCEEDED', what);
}

test('the management API refuses a spec.limits that does not parse, naming the field', async () => {
  const r = await e.call('POST', '/api/registry/v1alpha1/apps', { metadata: { name: 'q-bad' }, spec: { limits: { device: { messagesPerSecond: -1, burst: 3 } } } });
  assert.is(r.status, 400);
  assert.match(r.json.message, /spec\.limits\.device\.messagesPerSecond/);
  assert.match(r.json.message, /spec\.limits\.device\.burst: unknown limit/);
  const got = await e.call('GET', '/api/registry/v1alpha1/apps/q-rate');
  assert.equal(got.json.spec.limits, { device: { messagesPerSecond: 0.1 } });
});

test('connection quotas: device (HTTP beside MQTT, takeover passes), application across TCP and WebSocket: v5 0x97, 3.1.1 0x03, HTTP 429', async () => {
  const first = await connect('d1@q-conn', 5);
  await assert429(await post('d1@q-conn'), 'HTTP request of a device holding its one connection');
  const again = await connect('d1@q-conn', 5); // takes the device's connection over: not refused
  await waitFor('the old connection ended', () => !first.connected);
  await connect('d2@q-conn', 4, 'ws');
  assert.is(await rejectionCode(connect('d3@q-conn', 5)), 0x97, 'v5 CONNACK Quota exceeded');
  assert.is(await rejectionCode(connect('d3@q-conn', 4, 'ws')), 0x03, 'v3.1.1 CONNACK Server unavailable');
  await assert429(await post('d3@q-conn'), 'HTTP request over the application\'s connections');
  again.end(true);
  await waitFor('the quota released', async () => (await rejectionCode(connect('d3@q-conn', 5))) === undefined);
  const q = e.mooring.quotas;
  console.log(`connection quota: refused application=${q.refused('application_connections')} device=${q.refused('device_connections')}`);
  assert.ok(q.refused('application_connections') >= 3);
  assert.ok(q.refused('device_connections') >= 1);
});

test('v5 over the message rate: PUBACK 0x97, then DISCONNECT 0x96 for a client that keeps on', async () => {
  const c = await connect('v5@q-rate', 5);
  await c.publishAsync('t', 'a', { qos: 1 });
  assert.is(await rejectionCode(c.publishAsync('t', 'b', { qos: 1 })), 0x97);
  let reason: number | undefined;
  c.on('disconnect', (p) => { reason = p.reasonCode; });
  for (let i = 0; i < 150 && c.connected; i++) c.publish('t', 'x', { qos: 0 });
  await waitFor('DISCONNECT 0x96', () => reason !== undefined);
  assert.is(reason, 0x96);
  const delivered = events('/q-rate');
  console.log(`v5 rate: delivered=${delivered} (1 expected), refused device_messages=${e.mooring.quotas.refused('device_messages')}`);
  assert.is(delivered, 1);
});

test('3.1.1 over the message rate: backpressure, every QoS 1 publish acknowledged and delivered, the connection kept', async () => {
  const c = await connect('slow@q-v3', 4);
  const n = 12;
  const held = e.mooring.quotas.refused('device_messages');
  const started = Date.now();
  await Promise.all(Array.from({ length: n }, (_, i) => c.publishAsync('t', String(i), { qos: 1 })));
  const took = Date.now() - started;
  await waitFor('every publish delivered', () => events('/q-v3') >= n);
  const heldNow = e.mooring.quotas.refused('device_messages') - held;
  console.log(`3.1.1 backpressure: sent=${n} acknowledged=${n} delivered=${events('/q-v3')} lost=0 held=${heldNow} took=${took} ms at 5 msg/s`);
  assert.ok(c.connected, 'the connection is kept');
  assert.ok(heldNow > 0, 'publishes were held back');
  assert.is(events('/q-v3'), n);
});

test('HTTP over the message rate: 429 with Retry-After and a JSON error', async () => {
  assert.is((await post('h1@q-rate')).status, 202);
  await assert429(await post('h1@q-rate'), 'second message within the rate');
});

test('one limiter for MQTT and HTTP: a device\'s MQTT publish counts against its HTTP publish', async () => {
  const c = await connect('shared@q-rate', 5);
  await c.publishAsync('t', 'mqtt', { qos: 1 });
  c.end(true);
  await waitFor('disconnected', () => !c.connected);
  await assert429(await post('shared@q-rate'), 'HTTP after the MQTT publish used the bucket');
});

test('command API over the command rate: 429 with Retry-After', async () => {
  const send = () => e.call('POST', '/api/command/v1alpha1/apps/q-cmd/devices/c1?command=set', '{}');
  assert.is((await send()).status, 202);
  const r = await send();
  assert.is(r.status, 429);
  assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After');
  assert.is(r.json.code, 'MOORING_QUOTA_EXCEEDED');
});

test('the MQTT integration shares the command rate: PUBACK 0x97', async () => {
  const { mooring } = e;
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mooring.mqttIntegrationAddresses.mqtt!.port}`, {
    username: mooring.demoUser!.username, password: mooring.demoUser!.token, protocolVersion: 5, reconnectPeriod: 0,
  });
  open.push(c);
  // The command API's test used the bucket of q-cmd (one command per 10 s).
  assert.is(await rejectionCode(c.publishAsync('command/q-cmd/c1/set', '{}', { qos: 1 })), 0x97);
  assert.ok(mooring.quotas.refusals().some((r) => r.kind === 'application_commands' && r.protocol === 'mqtt_integration' && r.count === 1));
});

test('mooring_quota_refusals_total by kind and protocol', async () => {
  const text = await (await fetch(new URL('metrics', e.mooring.ingress.url))).text();
  const value = (kind: string, protocol: string) => Number(new RegExp(`^mooring_quota_refusals_total\\{kind="${kind}",protocol="${protocol}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  for (const [kind, protocol] of [['application_connections', 'mqtt'], ['application_connections', 'http'], ['device_connections', 'http'],
    ['device_messages', 'mqtt'], ['device_messages', 'http'], ['application_commands', 'api']]) {
    assert.ok(value(kind!, protocol!) >= 1, `${kind}/${protocol}: ${value(kind!, protocol!)}`);
  }
});

test.run();
