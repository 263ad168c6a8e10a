// Commands and presence across two Mooring instances, as users run them: two `npm start`
// processes (cli/main.ts) on one Kafka (the test's own) and one DynamoDB Local (tables of the
// test's own prefix), so the registry, the connection directory and the offline queue are shared
// and routed commands travel the bus. The application's view is read straight from the broker
// topic with a plain kafkajs consumer (the final events, as a push Trigger selects them), so what
// is measured is what the instances wrote, not how fast a consumer group rebalances after a kill.
//
// - a command sent through A's API reaches a device connected to B; the bus carries one routed
//   copy, addressed to B (A's per-instance Trigger never selects it);
// - request/response: A's API waits, the device on B answers, the reply comes back to A;
// - takeover: a device on A connects to B; A ends the old connection with DISCONNECT 0x8E, and
//   the application sees connected:true, connected:false, connected:true, in order;
// - B is killed (SIGKILL): within the TTL (MOORING_CONNECTION_TTL_MS, short here) A writes the
//   Will and connected:false of B's devices.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import mqtt, { type MqttClient } from 'mqtt';
import { DynamoConnectionDirectory } from '../../connectors/dynamodb/directory.ts';
import { startOwnKafka, type OwnKafka } from '../helpers/kafka.ts';
import { freePort, startChild, type Child } from '../helpers/process.ts';
import { ensureDynamo, uniquePrefix } from '../connectors/dynamodb/helper.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TTL_MS = 3000;
const APP = 'demo-app';

interface Rec { type: string; device: string; stage?: string; holder?: string; subject?: string; data: string; at: number }

let dir: string;
let kafka: OwnKafka | undefined;
let endpoint: string;
let prefix: string;
let consumer: Consumer | undefined;
let directory: DynamoConnectionDirectory | undefined;
const records: Rec[] = [];
const clients: MqttClient[] = [];
const inst: Record<'a' | 'b', { child: Child; mqtt: number; api: number }> = {} as never;
let user = '';
let token = '';

async function startInstance(name: 'a' | 'b'): Promise<void> {
  const [mqttPort, api] = [await freePort(), await freePort()];
  const child = startChild(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/main.ts')], {
    MOORING_KAFKA_BROKERS: kafka!.brokers.join(','), MOORING_DYNAMODB_ENDPOINT: endpoint, MOORING_DYNAMODB_TABLE_PREFIX: prefix,
    MOORING_DATA_DIR: join(dir, name), MOORING_HOST: '127.0.0.1', MOORING_MQTT_PORT: String(mqttPort), MOORING_API_PORT: String(api),
    MOORING_MQTT_WS_PORT: '0', MOORING_HTTP_PORT: '0', MOORING_INGRESS_PORT: '0', MOORING_DEMO_SINK_PORT: '0', MOORING_LOG_LEVEL: 'warn',
    MOORING_CONNECTION_TTL_MS: String(TTL_MS),
  });
  inst[name] = { child, mqtt: mqttPort, api };
  await child.waitFor(/Mooring is running/, 90_000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

const api = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${inst.a.api}${path}`, {
  ...init, headers: { authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`, ...(init.headers ?? {}) },
});

async function device(name: string, password = 'secret'): Promise<void> {
  const res = await api(`/api/registry/v1alpha1/apps/${APP}/devices`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ metadata: { name, application: APP }, spec: { authentication: { credentials: [{ pass: password }] } } }),
  });
  assert.is(res.status, 201, `device ${name} created`);
}

async function connect(on: 'a' | 'b', name: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${inst[on].mqtt}`, {
        username: `${name}@${APP}`, password: 'secret', protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 20_000, ...options,
      });
      clients.push(c);
      return c;
    } catch (err) {
      last = err; // the other instance may not have heard of the device yet
      await sleep(200);
    }
  }
  throw last;
}

const connections = (name: string) => records.filter((r) => r.type === 'io.drogue.connection.v1' && r.device === name && r.stage === undefined)
  .map((r) => (JSON.parse(r.data) as { connected: boolean }).connected);

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-cmd2-'));
  endpoint = await ensureDynamo();
  prefix = uniquePrefix('cmd2');
  kafka = await startOwnKafka('cmd2');
  await startInstance('a');
  await startInstance('b');
  const demo = inst.a.child.output().match(/The demo user '([^']+)' owns \S+; its access token: (\S+)/);
  if (!demo) throw new Error(`no demo token in A's output:\n${inst.a.child.output()}`);
  [user, token] = [demo[1]!, demo[2]!];
  directory = new DynamoConnectionDirectory({ endpoint, tablePrefix: prefix });
  const plain = new Kafka({ clientId: 'cmd2-app', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = plain.admin();
  await admin.connect();
  const topic = (await admin.listTopics()).find((t) => t.startsWith('knative-broker-'));
  await admin.disconnect();
  if (topic === undefined) throw new Error('no broker topic');
  consumer = plain.consumer({ groupId: 'cmd2-app', sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const h = (headers: Record<string, unknown> | undefined, name: string) => headers?.[name]?.toString();
  await consumer.run({
    eachMessage: async ({ message }) => {
      records.push({
        type: h(message.headers, 'ce_type') ?? '', device: h(message.headers, 'ce_device') ?? '', stage: h(message.headers, 'ce_mooringstage'),
        holder: h(message.headers, 'ce_mooringholder'), subject: h(message.headers, 'ce_subject'), data: message.value?.toString() ?? '', at: Date.now(),
      });
    },
  });
  for (const name of ['on-b', 'moving', 'doomed']) await device(name);
});

test.after(async () => {
  for (const c of clients) c.end(true);
  await consumer?.disconnect().catch(() => undefined);
  await directory?.close();
  await inst.b?.child.stop();
  await inst.a?.child.stop();
  await kafka?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a command sent through A reaches the device on B; one routed copy, addressed to B; request/response across instances', async () => {
  const dev = await connect('b', 'on-b');
  const got: Array<{ topic: string; payload: string; contentType?: string }> = [];
  dev.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString(), contentType: packet.properties?.contentType });
    const p = packet.properties;
    if (p?.responseTopic !== undefined) {
      void dev.publishAsync(p.responseTopic, `pong:${payload.toString()}`, { qos: 1, properties: { correlationData: p.correlationData, contentType: 'text/plain' } });
    }
  });
  await dev.subscribeAsync('command/inbox//#', { qos: 0 });
  const holderB = await directory!.lookup(APP, 'on-b');
  assert.ok(holderB, 'B holds on-b in the shared directory');

  const res = await api(`/api/command/v1alpha1/apps/${APP}/devices/on-b?command=set-1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"on":true}' });
  assert.is(res.status, 202);
  assert.is(res.headers.get('mooring-command-outcome'), 'delivered');
  await until('the command at the device on B', () => got.length === 1);
  assert.equal(got[0], { topic: 'command/inbox//set-1', payload: '{"on":true}', contentType: 'application/json' });
  await until('the routed copy in Kafka', () => records.some((r) => r.subject === 'set-1'));
  await sleep(500);
  const routed = records.filter((r) => r.type === 'io.mooring.command.v1' && r.subject === 'set-1');
  assert.equal(routed.map((r) => [r.stage, r.holder]), [['routed', holderB!.instance]], 'one copy, for B only');

  const t0 = Date.now();
  const rr = await api(`/api/command/v1alpha1/apps/${APP}/devices/on-b?command=ping&timeout=20`, { method: 'POST', body: 'hello' });
  assert.is(rr.status, 200);
  assert.is(await rr.text(), 'pong:hello');
  assert.match(rr.headers.get('content-type') ?? '', /^text\/plain/);
  // A answered with the reply, so it was in Kafka; this reader may not have read it yet.
  await until('the reply event in Kafka', () => records.some((r) => r.type === 'io.mooring.command.reply.v1'));
  const replies = records.filter((r) => r.type === 'io.mooring.command.reply.v1');
  assert.ok(replies.length >= 1 && replies.every((r) => r.holder !== holderB!.instance), 'the reply travelled to the waiting instance');
  console.log(`  routed copies: ${routed.length} (holder B); request/response A → B → A in ${Date.now() - t0} ms, ${replies.length} reply event(s)`);
});

test('takeover across instances: A sends DISCONNECT 0x8E; the application sees connected true, false, true in order', async () => {
  const first = await connect('a', 'moving', { clientId: 'moving-1' });
  let reason: number | undefined;
  first.on('disconnect', (p) => { reason = p.reasonCode; });
  await until('the first connection in the directory', async () => (await directory!.lookup(APP, 'moving')) !== undefined);
  const onA = (await directory!.lookup(APP, 'moving'))!.instance;
  const t0 = Date.now();
  await connect('b', 'moving', { clientId: 'moving-2' });
  const took = Date.now() - t0;
  await until('DISCONNECT at the first connection', () => reason !== undefined);
  assert.is(reason, 0x8e, 'Session taken over');
  assert.is.not((await directory!.lookup(APP, 'moving'))?.instance, onA, 'B holds it now');
  await until('three connection events', () => connections('moving').length >= 3);
  await sleep(500);
  assert.equal(connections('moving'), [true, false, true]);
  console.log(`  takeover A → B: CONNACK from B after ${took} ms; connection events ${JSON.stringify(connections('moving'))}`);
});

test('SIGKILL of B: A writes the Will and connected:false of B\'s devices within the TTL', async () => {
  await connect('b', 'doomed', { will: { topic: 'status', payload: Buffer.from('gone'), qos: 1, retain: false } });
  await until('doomed held by B', async () => (await directory!.lookup(APP, 'doomed')) !== undefined);
  const onB = ['on-b', 'moving', 'doomed'];
  const before = Object.fromEntries(onB.map((d) => [d, connections(d).length]));
  const t0 = Date.now();
  await inst.b.child.stop('SIGKILL');
  await until('connected:false for every device of B', () => onB.every((d) => connections(d).length > before[d]! && connections(d).at(-1) === false), 30_000);
  const will = () => records.find((r) => r.type === 'io.drogue.event.v1' && r.stage === undefined && r.device === 'doomed' && r.data === 'gone');
  await until('the Will of doomed', () => will() !== undefined, 10_000);
  const last = Math.max(...onB.map((d) => records.filter((r) => r.device === d && r.type === 'io.drogue.connection.v1').at(-1)!.at));
  const elapsed = Math.max(last, will()!.at) - t0;
  assert.ok(elapsed <= 15_000, `goodbyes within 15 s, took ${elapsed} ms`);
  console.log(`  SIGKILL of B: ${onB.length} connected:false and 1 Will from A after ${elapsed} ms (TTL ${TTL_MS} ms)`);
});

test.run();
