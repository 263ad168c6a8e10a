// Embedded mode as `npm start` wires it, driven the way a newcomer does from the printed lines:
// the demo user's access token creates a device through the management API (its plain password
// stored hashed in the registry file; the application's stream gets io.drogue.registry.v1), the device connects and publishes over MQTT and the demo
// application's sink receives it, a command through the API reaches it (outcome header), a
// command with a TTL for an offline device is queued, disabling the device through GET → edit →
// PUT ends its session and refuses the next connect, anonymous writes are refused, discovery
// names the MQTT port, and a restart keeps the demo token.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger } from '../../functions/ports/runtime.ts';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { DEMO_APPLICATION } from '../../connectors/registry/index.ts';

let dir: string;
let mooring: Mooring;
const received: CloudEvent[] = [];
const open: MqttClient[] = [];

const config = () => configFromEnv({}, {
  dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0, demoSinkPort: 0,
});

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-embedded-api-'));
  mooring = await startMooring(config(), { logger: silentLogger, onDemoEvent: (e) => received.push(e) });
});
test.after(async () => {
  for (const c of open) c.end(true);
  await mooring?.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = (path: string) => `http://127.0.0.1:${mooring.api!.port}${path}`;
const basic = () => `Basic ${Buffer.from(`${mooring.demoUser!.username}:${mooring.demoUser!.token}`).toString('base64')}`;
const DEVICES = `/api/registry/v1alpha1/apps/${DEMO_APPLICATION}/devices`;

// Parsed JSON bodies are read loosely by the assertions, as in test/api/harness.ts.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body?: unknown, auth = true, query = ''): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await fetch(api(path) + query, {
    method,
    headers: { ...(auth ? { authorization: basic() } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown = text;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, headers: res.headers };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function connect(username: string, password: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mooring.mqtt.mqtt!.port}`, { username, password, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
  open.push(c);
  return c;
}

test('discovery names the MQTT endpoint; the demo user exists with a drg_ token', async () => {
  assert.ok(mooring.demoUser);
  assert.match(mooring.demoUser!.token, /^drg_[A-Za-z0-9]{6}_[A-Za-z0-9]{30}[A-Za-z0-9]{1,6}$/);
  const ep = await call('GET', '/.well-known/drogue-endpoints', undefined, false);
  assert.is(ep.status, 200);
  assert.is(ep.json.mqtt.port, mooring.mqtt.mqtt!.port);
  assert.is((await call('GET', '/api/console/v1alpha1/info')).status, 200);
});

test('a device created with the demo token connects and publishes; its password is stored hashed', async () => {
  const created = await call('POST', DEVICES, {
    metadata: { name: 'my-device', application: DEMO_APPLICATION },
    spec: { authentication: { credentials: [{ pass: 'my-secret' }] } },
  });
  assert.is(created.status, 201);
  assert.match(created.headers.get('location') ?? '', `${DEVICES}/my-device`);
  // The change reaches the application's stream as Drogue's registry notification.
  await until('io.drogue.registry.v1 at the demo sink', () => received.some((e) => e.type === 'io.drogue.registry.v1' && e.extensions.device === 'my-device'));
  const note = received.find((e) => e.type === 'io.drogue.registry.v1')!;
  assert.equal([note.subject, note.extensions.sender, note.data?.length ?? 0], ['devices', 'my-device', 0]);
  const file = readFileSync(join(dir, 'registry.yaml'), 'utf8');
  assert.ok(!file.includes('my-secret'), 'no plain password in the registry file');
  assert.match(file, /sha512: \$6\$/);
  const got = await call('GET', `${DEVICES}/my-device`);
  assert.match(JSON.stringify(got.json.spec), /"sha512":"\$6\$/);

  const c = await connect('my-device@demo-app', 'my-secret');
  await c.publishAsync('temperature', '{"temp":22}', { qos: 1 });
  await until('the event at the demo sink', () => received.some((e) => e.type === 'io.drogue.event.v1' && e.extensions.device === 'my-device'));
  const ev = received.find((e) => e.type === 'io.drogue.event.v1' && e.extensions.device === 'my-device')!;
  assert.is(Buffer.from(ev.data!).toString(), '{"temp":22}');
  console.log(`  demo sink events: ${received.length}`);
});

test('commands through the API: delivered to the connected device; queued with a TTL for an offline one', async () => {
  const c = open[0]!;
  const got: string[] = [];
  c.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
  await c.subscribeAsync('command/inbox//#', { qos: 0 });
  const sent = await fetch(api('/api/command/v1alpha1/apps/demo-app/devices/my-device?command=SET'), {
    method: 'POST', headers: { authorization: basic(), 'content-type': 'text/plain' }, body: 'on',
  });
  assert.is(sent.status, 202);
  assert.is(sent.headers.get('mooring-command-outcome'), 'delivered');
  await until('the command at the device', () => got.length === 1);
  assert.equal(got, ['command/inbox//SET=on']);
  const queued = await fetch(api('/api/command/v1alpha1/apps/demo-app/devices/demo-device?command=X&ttl=PT5M'), { method: 'POST', headers: { authorization: basic() } });
  assert.equal([queued.status, queued.headers.get('mooring-command-outcome')], [202, 'queued']);
  const dropped = await fetch(api('/api/command/v1alpha1/apps/demo-app/devices/demo-device?command=X'), { method: 'POST', headers: { authorization: basic() } });
  assert.equal([dropped.status, dropped.headers.get('mooring-command-outcome')], [202, 'offline']);
});

test('anonymous callers cannot write the demo application; a missing device is 404 with an empty body', async () => {
  const anon = await call('POST', DEVICES, { metadata: { name: 'x', application: DEMO_APPLICATION } }, false);
  assert.is(anon.status, 404);
  assert.is(anon.json.error, 'ReferenceNotFound');
  const missing = await call('GET', `${DEVICES}/nope`);
  assert.equal([missing.status, missing.json], [404, '']);
});

test('disabling the device through GET → edit → PUT ends its session and refuses the next connect', async () => {
  const c = open[0]!;
  let closed = false;
  c.on('close', () => { closed = true; });
  const current = (await call('GET', `${DEVICES}/my-device`)).json;
  current.spec.core = { disabled: true };
  assert.is((await call('PUT', `${DEVICES}/my-device`, current)).status, 204);
  await until('the session ended', () => closed);
  let refused = false;
  try { await connect('my-device@demo-app', 'my-secret'); } catch { refused = true; }
  assert.ok(refused, 'a disabled device is refused');
  current.spec.core = { disabled: false };
  const again = (await call('GET', `${DEVICES}/my-device`)).json;
  again.spec.core = { disabled: false };
  assert.is((await call('PUT', `${DEVICES}/my-device`, again)).status, 204);
  await (await connect('my-device@demo-app', 'my-secret')).endAsync();
});

test('a restart keeps the devices and prints the same demo token', async () => {
  const token = mooring.demoUser!.token;
  for (const c of open.splice(0)) c.end(true);
  await mooring.close();
  mooring = await startMooring(config(), { logger: silentLogger, onDemoEvent: (e) => received.push(e) });
  assert.is(mooring.demoUser!.token, token);
  assert.is((await call('GET', `${DEVICES}/my-device`)).status, 200);
  await (await connect('my-device@demo-app', 'my-secret')).endAsync();
});

test.run();
