// The pull integrations' contract, run on every bus (embedded: the in-memory broker,
// test/connectors/mqtt-integration/embedded.test.ts; single-host: Kafka, kafka.test.ts): Mooring
// as `npm start` wires it, devices publishing through the MQTT gateway, applications consuming
// with real clients — mosquitto_sub, MQTT.js 3.1.1 and 5 (structured and binary, QoS 0 and 1),
// the `ws` client — and sending a command through the integration. Every wait is event-driven
// with a generous bound; the counts measured are printed.

import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import type { Packet } from 'mqtt-packet';
import { configFromEnv, type Config } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { issueAccessToken, openTokenStore } from '../../api/index.ts';
import type { EventBus } from '../../functions/ports/bus.ts';
import { silentLogger } from '../../functions/ports/runtime.ts';

export interface IntegrationFixture {
  /** Extra configuration (Kafka brokers) and the bus to use (a test-unique Kafka topic). */
  config?: Partial<Config>;
  bus?: () => Promise<EventBus>;
  cleanup?: () => Promise<void>;
}

const WAIT_MS = 30_000;
type Message = { topic: string; payload: Buffer; properties: Record<string, unknown> | undefined };

async function until(what: string, check: () => boolean, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The SUBACK's codes, refusals included (MQTT.js rejects a SUBACK with any). */
function subackCodes(c: MqttClient, filters: string | string[], opts: Parameters<MqttClient['subscribe']>[1] = { qos: 0 }): Promise<number[]> {
  return new Promise((resolve) => {
    const on = (p: Packet): void => {
      const packet = p as { cmd: string; granted?: number[] };
      if (packet.cmd !== 'suback') return;
      c.off('packetreceive', on);
      resolve(packet.granted!);
    };
    c.on('packetreceive', on);
    c.subscribe(filters, opts!, () => undefined);
  });
}

/** The PUBACK's reason code of one QoS 1 publish (v5), refusals included. */
function pubackCode(c: MqttClient, topic: string, payload: string, properties: Record<string, unknown> = {}): Promise<number> {
  return new Promise((resolve) => {
    const on = (p: Packet): void => {
      const packet = p as { cmd: string; reasonCode?: number };
      if (packet.cmd !== 'puback') return;
      c.off('packetreceive', on);
      resolve(packet.reasonCode ?? 0);
    };
    c.on('packetreceive', on);
    c.publish(topic, payload, { qos: 1, properties }, () => undefined);
  });
}

export function integrationContract(name: string, fixture: () => Promise<IntegrationFixture>): void {
  const test = suite(`pull integrations (${name})`);
  let dir: string;
  let mooring: Mooring;
  let cleanup: (() => Promise<void>) | undefined;
  const tokens: Record<string, string> = {};
  const clients: MqttClient[] = [];
  let device: MqttClient;
  let target: MqttClient;
  const commands: Message[] = [];

  const gatewayUrl = () => `mqtt://127.0.0.1:${mooring.mqtt.mqtt!.port}`;
  const integrationPort = () => mooring.mqttIntegrationAddresses.mqtt!.port;

  /** An integration client; resolves once CONNACK came (rejects with the refusal). */
  async function consumer(options: IClientOptions): Promise<MqttClient & { got: Message[] }> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${integrationPort()}`, { reconnectPeriod: 0, connectTimeout: WAIT_MS, clean: true, ...options });
    clients.push(c);
    const got: Message[] = [];
    c.on('message', (topic, payload, packet) => got.push({ topic, payload, properties: packet.properties as Record<string, unknown> | undefined }));
    return Object.assign(c, { got });
  }

  /** Publishes `n` events from the device on `channel`, QoS 1; each payload {"n": i, "run": run}. */
  async function publishEvents(run: string, n: number, channel = 'temp'): Promise<void> {
    for (let i = 0; i < n; i++) await device.publishAsync(channel, JSON.stringify({ n: i, run }), { qos: 1 });
  }

  const eventsOf = (got: Message[], run: string) => got
    .map((m) => JSON.parse(m.payload.toString()) as { type: string; data?: { run?: string; n?: number } })
    .filter((e) => e.type === 'io.drogue.event.v1' && e.data?.run === run);

  test.before(async () => {
    const f = await fixture();
    cleanup = f.cleanup;
    dir = mkdtempSync(join(tmpdir(), 'mooring-integ-'));
    const registryPath = join(dir, 'registry.yaml');
    const dev = (app: string, n: string) => `kind: Device\nmetadata:\n  name: ${n}\n  application: ${app}\nspec:\n  authentication:\n    credentials:\n      - pass: secret\n`;
    writeFileSync(registryPath, [
      'kind: Application\nmetadata:\n  name: app1\naccess:\n  owner: alice\n  members:\n    bob:\n      role: reader\nspec: {}\n',
      'kind: Application\nmetadata:\n  name: open\nspec: {}\n',
      dev('app1', 'd1'), dev('app1', 'target'), dev('open', 'o1'),
    ].join('---\n'));
    const store = await openTokenStore(dir);
    for (const user of ['alice', 'bob', 'carol']) tokens[user] = (await issueAccessToken(store, { id: user, username: user })).token;
    const config = configFromEnv({}, {
      registryPath, dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0,
      mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0, demoSinkPort: 0, ...f.config,
    });
    mooring = await startMooring(config, { logger: silentLogger, ...(f.bus ? { bus: await f.bus() } : {}) });
    device = await mqtt.connectAsync(gatewayUrl(), { username: 'd1@app1', password: 'secret', reconnectPeriod: 0, protocolVersion: 5 });
    target = await mqtt.connectAsync(gatewayUrl(), { username: 'target@app1', password: 'secret', reconnectPeriod: 0, protocolVersion: 5 });
    target.on('message', (topic, payload, packet) => commands.push({ topic, payload, properties: packet.properties as Record<string, unknown> | undefined }));
    await target.subscribeAsync('command/inbox//#');
  });

  test.after(async () => {
    for (const c of [...clients, device, target]) c?.end(true);
    await mooring?.close();
    await cleanup?.();
    rmSync(dir, { recursive: true, force: true });
  });

  test('mosquitto_sub (3.1.1) with an access token gets the device\'s events as structured CloudEvents with Drogue\'s attributes', async () => {
    const run = randomUUID();
    const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(integrationPort()), '-u', 'alice', '-P', tokens.alice!,
      '-t', 'app/app1', '-q', '1', '-i', `sub-${run}`, '-C', '3', '-W', '60']);
    let out = '';
    sub.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    const exited = new Promise<number | null>((r) => sub.on('exit', r));
    // Publish until the subscriber has three of them (it may subscribe after the first ones).
    let sent = 0;
    while (sub.exitCode === null && sent < 200) {
      await device.publishAsync('temp', JSON.stringify({ run, n: sent++ }), { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.is(await exited, 0);
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.type === 'io.drogue.event.v1');
    console.log(`  mosquitto_sub: ${events.length} events of ${sent} published after it started`);
    assert.ok(events.length >= 1);
    const e = events[0]!;
    for (const attr of ['specversion', 'id', 'source', 'time', 'application', 'device', 'sender', 'instance', 'partitionkey']) assert.ok(attr in e, attr);
    assert.is(e.application, 'app1');
    assert.is(e.device, 'd1');
    assert.is(e.subject, 'temp');
    assert.is(e.datacontenttype, 'application/json');
    assert.is((e.data as { run: string }).run, run);
    assert.not.ok('mooringstage' in e);
  });

  test('MQTT.js 5: structured by default, binary with content-mode: binary (data as payload, attributes as user properties); QoS 0', async () => {
    const run = randomUUID();
    const structured = await consumer({ protocolVersion: 5, username: 'alice', password: tokens.alice });
    const binary = await consumer({ protocolVersion: 5, username: 'alice', password: tokens.alice });
    await structured.subscribeAsync('app/app1', { qos: 0 });
    const granted = await binary.subscribeAsync('a/app1', { qos: 0, properties: { userProperties: { 'content-mode': 'binary' } } });
    assert.is(granted[0]!.qos, 0);
    await publishEvents(run, 3);
    await until('both consumers', () => eventsOf(structured.got, run).length === 3 && binary.got.filter((m) => m.payload.toString().includes(run)).length === 3);
    const s = structured.got.find((m) => m.payload.toString().includes(run))!;
    assert.is(s.topic, 'app/app1');
    assert.is(s.properties?.contentType, 'application/cloudevents+json; charset=utf-8');
    const b = binary.got.find((m) => m.payload.toString().includes(run))!;
    assert.is(b.topic, 'a/app1');
    assert.equal(JSON.parse(b.payload.toString()), { n: 0, run });
    assert.is(b.properties?.contentType, 'application/json');
    const up = b.properties?.userProperties as Record<string, string>;
    assert.is(up.type, 'io.drogue.event.v1');
    assert.is(up.application, 'app1');
    assert.is(up.device, 'd1');
    assert.is(up.subject, 'temp');
    assert.ok(up.id && up.time && up.source && up.specversion === '1.0');
  });

  test('two members of one shared group split the stream: nothing lost, nothing doubled (QoS 1, 3.1.1 and 5)', async () => {
    const run = randomUUID();
    const group = `g-${run.slice(0, 8)}`;
    const a = await consumer({ protocolVersion: 5, username: 'alice', password: tokens.alice, clientId: `a-${run}` });
    const b = await consumer({ protocolVersion: 4, username: 'alice', password: tokens.alice, clientId: `b-${run}` });
    await a.subscribeAsync(`$share/${group}/app/app1`, { qos: 1 });
    await b.subscribeAsync(`$shared/${group}/app/app1`, { qos: 1 });
    const N = 60;
    await publishEvents(run, N);
    await until('all events', () => new Set([...eventsOf(a.got, run), ...eventsOf(b.got, run)].map((e) => e.data!.n)).size === N);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive now
    const all = [...eventsOf(a.got, run), ...eventsOf(b.got, run)].map((e) => e.data!.n!);
    const lost = N - new Set(all).size;
    const doubled = all.length - new Set(all).size;
    console.log(`  shared group: a=${eventsOf(a.got, run).length} b=${eventsOf(b.got, run).length} lost=${lost} doubled=${doubled}`);
    assert.is(lost, 0);
    assert.is(doubled, 0);
    assert.ok(eventsOf(a.got, run).length > 0 && eventsOf(b.got, run).length > 0, 'both members got a share');
    assert.is(a.got[0]!.topic, 'app/app1');
    // UNSUBSCRIBE of the shared filter finds it (v5 reason 0x00).
    const unsub = await a.unsubscribeAsync(`$share/${group}/app/app1`);
    assert.equal((unsub as { reasonCode?: number } | undefined)?.reasonCode ?? 0, 0);
  });

  test('a QoS 1 consumer that disconnects without acknowledging gets the events again when it reconnects with its client id', async () => {
    const run = randomUUID();
    const clientId = `noack-${run}`;
    // MQTT.js hands a QoS 1 message over only once it is acknowledged: this client records it and never does.
    const held: Message[] = [];
    const first = await consumer({
      protocolVersion: 5, username: 'alice', password: tokens.alice, clientId,
      customHandleAcks: (topic, payload) => { held.push({ topic, payload: Buffer.from(payload), properties: undefined }); },
    });
    await first.subscribeAsync('app/app1', { qos: 1 });
    await publishEvents(run, 5);
    await until('the unacknowledged events', () => eventsOf(held, run).length >= 1);
    const seen = eventsOf(held, run).map((e) => e.data!.n);
    first.end(true);
    const again = await consumer({ protocolVersion: 5, username: 'alice', password: tokens.alice, clientId });
    await again.subscribeAsync('app/app1', { qos: 1 });
    await until('all five after reconnecting', () => new Set(eventsOf(again.got, run).map((e) => e.data!.n)).size === 5);
    const redelivered = seen.filter((n) => eventsOf(again.got, run).some((e) => e.data!.n === n)).length;
    console.log(`  unacknowledged before disconnect=${seen.length} redelivered=${redelivered} after reconnect=${eventsOf(again.got, run).length}`);
    assert.is(redelivered, seen.length);
  });

  test('the MQTT integration over WebSocket (subprotocol mqtt) serves the same subscriptions', async () => {
    const run = randomUUID();
    const c = await mqtt.connectAsync(`ws://127.0.0.1:${mooring.mqttIntegrationAddresses.ws!.port}/mqtt`, {
      protocolVersion: 5, username: 'alice', password: tokens.alice, reconnectPeriod: 0, clean: true,
    });
    clients.push(c);
    const got: Message[] = [];
    c.on('message', (topic, payload) => got.push({ topic, payload, properties: undefined }));
    await c.subscribeAsync('application/app1', { qos: 1 });
    await publishEvents(run, 2);
    await until('events over WebSocket', () => eventsOf(got, run).length === 2);
    assert.is(got.find((m) => m.payload.toString().includes(run))!.topic, 'application/app1');
  });

  test('a subscription narrowed to one channel gets only that channel', async () => {
    const run = randomUUID();
    const c = await consumer({ protocolVersion: 5, username: 'bob', password: tokens.bob });
    await c.subscribeAsync('app/app1/hum', { qos: 1 });
    await publishEvents(run, 2, 'temp');
    await publishEvents(run, 2, 'hum');
    await until('the hum events', () => eventsOf(c.got, run).length === 2);
    await publishEvents(run, 1, 'hum');
    await until('the last hum event', () => eventsOf(c.got, run).length === 3);
    const subjects = c.got.map((m) => (JSON.parse(m.payload.toString()) as { subject: string }).subject);
    assert.ok(subjects.every((s) => s === 'hum'), subjects.join());
  });

  test('authentication and authorisation: each form and its failure', async () => {
    // Bad access token: v5 0x86, 3.1.1 code 4.
    const v3 = await mqtt.connectAsync(`mqtt://127.0.0.1:${integrationPort()}`, { protocolVersion: 4, username: 'alice', password: tokens.bob, reconnectPeriod: 0 }).catch((e: { code?: number }) => e);
    assert.is((v3 as { code?: number }).code, 4);
    const v5 = await mqtt.connectAsync(`mqtt://127.0.0.1:${integrationPort()}`, { protocolVersion: 5, username: 'bob', password: 'x', reconnectPeriod: 0 }).catch((e: { code?: number }) => e);
    assert.is((v5 as { code?: number }).code, 0x86);
    // A JWT presented as the username, without an OpenID issuer configured: refused the same way.
    const jwt = await mqtt.connectAsync(`mqtt://127.0.0.1:${integrationPort()}`, { protocolVersion: 5, username: 'eyJhbGciOiJSUzI1NiJ9.e30.x', reconnectPeriod: 0 }).catch((e: { code?: number }) => e);
    assert.is((jwt as { code?: number }).code, 0x86);
    // Clean start is required.
    const unclean = await mqtt.connectAsync(`mqtt://127.0.0.1:${integrationPort()}`, { protocolVersion: 5, clean: false, clientId: 'x', username: 'alice', password: tokens.alice, reconnectPeriod: 0 }).catch((e: { code?: number }) => e);
    assert.is((unclean as { code?: number }).code, 0x80);
    // Anonymous: allowed where the application has no owner, not on an owned one.
    const anon = await consumer({ protocolVersion: 5 });
    assert.equal(await subackCodes(anon, ['app/open', 'app/app1', 'app/missing', 'app/+', 'devices/app1'], { qos: 1 }), [1, 0x87, 0x80, 0xa2, 0x8f]);
    // A member without Read (carol) is refused; a reader (bob) may subscribe but not send commands.
    const carol = await consumer({ protocolVersion: 5, username: 'carol', password: tokens.carol });
    assert.equal(await subackCodes(carol, 'app/app1'), [0x87]);
    const bob = await consumer({ protocolVersion: 5, username: 'bob', password: tokens.bob });
    assert.equal(await subackCodes(bob, 'app/app1'), [0]);
    assert.is(await pubackCode(bob, 'command/app1/target/set', '{}'), 0x87);
    // An unknown content mode refuses the whole SUBSCRIBE.
    assert.equal(await subackCodes(bob, 'app/app1/x', { qos: 0, properties: { userProperties: { 'content-mode': 'xml' } } }), [0x83]);
    // 3.1.1 sees 0x80 for every refused filter.
    const v3anon = await consumer({ protocolVersion: 4 });
    assert.equal(await subackCodes(v3anon, ['app/app1', 'app/+']), [0x80, 0x80]);
  });

  test('a command published through the integration reaches the device, with its v5 content type; a bad topic is refused', async () => {
    const alice = await consumer({ protocolVersion: 5, username: 'alice', password: tokens.alice });
    assert.is(await pubackCode(alice, 'Command/app1/target/set-temp', '{"t":20}', { contentType: 'application/json' }), 0);
    await until('the command at the device', () => commands.length === 1);
    assert.is(commands[0]!.topic, 'command/inbox//set-temp');
    assert.is(commands[0]!.payload.toString(), '{"t":20}');
    assert.is(commands[0]!.properties?.contentType, 'application/json');
    assert.is(await pubackCode(alice, 'command/app1/target', 'x'), 0x83);
  });

  test('discovery lists mqtt_integration, mqtt_integration_ws and websocket_integration (drg stream finds the last)', async () => {
    for (const path of ['/.well-known/drogue-endpoints', '/api/console/v1alpha1/info']) {
      const e = await (await fetch(`${mooring.api!.url}${path}`)).json() as Record<string, { host?: string; port?: number; url?: string }>;
      assert.is(e.mqtt_integration?.port, integrationPort(), path);
      assert.is(e.mqtt_integration_ws?.url, `ws://127.0.0.1:${mooring.mqttIntegrationAddresses.ws!.port}/mqtt`, path);
      assert.is(e.websocket_integration?.url, `ws://127.0.0.1:${mooring.wsIntegration!.address.port}`, path);
    }
  });

  test('WebSocket integration: each credential form, one text frame per event, ?group_id=, 404 before the upgrade when denied, 403 for bad credentials', async () => {
    const base = `ws://127.0.0.1:${mooring.wsIntegration!.address.port}`;
    const run = randomUUID();
    const open = (url: string, headers: Record<string, string> = {}) => new Promise<{ ws: WebSocket; frames: string[] }>((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const frames: string[] = [];
      ws.on('message', (data, isBinary) => { if (!isBinary) frames.push(data.toString()); });
      ws.once('open', () => resolve({ ws, frames }));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
    const basic = await open(`${base}/app1`, { authorization: `Basic ${Buffer.from(`alice:${tokens.alice}`).toString('base64')}` });
    const query = await open(`${base}/app1/temp?username=bob&api_key=${tokens.bob}&group_id=${run}`);
    const anonymous = await open(`${base}/open`);
    await publishEvents(run, 3);
    await until('frames on both', () => basic.frames.filter((f) => f.includes(run)).length === 3 && query.frames.filter((f) => f.includes(run)).length === 3);
    const e = JSON.parse(basic.frames.find((f) => f.includes(run))!) as Record<string, unknown>;
    assert.is(e.type, 'io.drogue.event.v1');
    assert.is(e.application, 'app1');
    assert.is(anonymous.frames.filter((f) => f.includes(run)).length, 0);
    const statusOf = (p: Promise<unknown>) => p.then(() => 101, (err: { status?: number }) => err.status);
    assert.is(await statusOf(open(`${base}/app1`)), 404);
    assert.is(await statusOf(open(`${base}/app1?username=carol&api_key=${tokens.carol}`)), 404);
    assert.is(await statusOf(open(`${base}/missing?username=alice&api_key=${tokens.alice}`)), 404);
    assert.is(await statusOf(open(`${base}/app1?username=alice&api_key=drg_bad`)), 403);
    assert.is(await statusOf(open(`${base}/app1?token=a.b.c&username=alice&api_key=${tokens.alice}`)), 403);
    // Not JSON from the client: closed with 1002.
    const closed = new Promise<number>((r) => basic.ws.once('close', (code) => r(code)));
    basic.ws.send('hello');
    assert.is(await closed, 1002);
    query.ws.close();
    anonymous.ws.close();
  });

  test.run();
}
