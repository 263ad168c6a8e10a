// The gateway on a real TCP port driven by standard clients: MQTT.js (3.1.1 and 5) and Debian's
// mosquitto_pub / mosquitto_sub. Authentication, dialects, gateway rights, the v5 reason codes,
// oversize packets, clean session, the five command cases, takeover, the Will, keep-alive.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { generate } from 'mqtt-packet';
import { createMqttGateway, type MqttGateway } from '../../connectors/mqtt/index.ts';
import { memoryRegistry } from '../helpers/memory-registry.ts';
import { RecordingBus } from '../helpers/mqtt-recording-bus.ts';
import { mqttDocs } from '../helpers/mqtt-fixtures.ts';
import { EventTypes } from '../../events/types.ts';

const run = promisify(execFile);
execFileSync('bash', ['scripts/ensure-mosquitto-clients.sh'], { stdio: 'inherit' });

let gw: MqttGateway;
let bus: RecordingBus;
let port: number;
const open: MqttClient[] = [];

test.before(async () => {
  bus = new RecordingBus();
  gw = createMqttGateway({
    bus, registry: memoryRegistry(mqttDocs()), maxPacketSize: 4096, timerResolutionMs: 50,
    listeners: { port: 0, wsPort: false, tlsPort: false, host: '127.0.0.1' },
  });
  port = (await gw.listen()).mqtt!.port;
});

test.after.each(async () => {
  for (const c of open.splice(0)) c.end(true);
});

test.after(async () => { await gw.close(); });

async function client(username: string, password: string, protocolVersion: 4 | 5, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username, password, protocolVersion, reconnectPeriod: 0, ...extra });
  open.push(c);
  return c;
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const topics = (): string[] => bus.ofType(EventTypes.publish).map((e) => `${e.extensions.application}/${e.extensions.sender}:${e.extensions.topic}`);

async function rejectionCode(p: Promise<unknown>): Promise<number | undefined> {
  try { await p; return undefined; } catch (e) { return (e as { code?: number }).code; }
}

test('MQTT.js v3.1.1 and v5: device@app + password, QoS 0 and 1 reach the bus', async () => {
  const c4 = await client('device1@app1', 'hey', 4);
  await c4.publishAsync('js4', '1', { qos: 1 });
  const c5 = await client('gateway1@app1', 'gw', 5);
  await c5.publishAsync('js5', '{"a":1}', { qos: 0, properties: { contentType: 'application/json' } });
  await until('both publishes', () => topics().includes('app1/device1:js4') && topics().includes('app1/gateway1:js5'));
});

test('mosquitto_pub v3.1.1 and v5 in each dialect', async () => {
  const pub = (u: string, v: string, t: string) => run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', u, '-P', 'hey', '-V', v, '-q', '1', '-t', t, '-m', 'x'], { timeout: 10000 });
  await pub('device1@app1', 'mqttv311', 'mosq311');
  await pub('device1@app1', 'mqttv5', 'mosq5');
  await pub('dev@plain', 'mqttv5', 'any/deep/topic');
  await pub('plaindev@app1', 'mqttv311', 'a/b/c');
  await pub('gw@prefixed', 'mqttv5', 'sensor/bar/baz//bam/bum');
  await until('mosquitto publishes', () => ['app1/device1:mosq311', 'app1/device1:mosq5', 'plain/dev:any/deep/topic', 'app1/plaindev:a/b/c', 'prefixed/gw:sensor/bar/baz//bam/bum'].every((t) => topics().includes(t)));
  const ev = bus.ofType(EventTypes.publish).find((e) => e.extensions.topic === 'sensor/bar/baz//bam/bum')!;
  assert.is(ev.extensions.dialect, 'plainTopic;devicePrefix');
});

test('gateway publish with MQTT.js v5: allowed for its device, 0x87 for another; QoS 0 denied is dropped', async () => {
  const g = await client('gateway1@app1', 'gw', 5);
  await g.publishAsync('gwok/device2', '1', { qos: 1 });
  assert.is(await rejectionCode(g.publishAsync('gwno/device3', '1', { qos: 1 })), 0x87);
  await g.publishAsync('gwdrop/device3', '1', { qos: 0 });
  await g.publishAsync('gwafter', '1', { qos: 1 });
  assert.ok(topics().includes('app1/gateway1:gwok/device2'));
  assert.not.ok(topics().some((t) => t.includes('gwno') || t.includes('gwdrop')));
});

test('v5: invalid topic 0x90, bad JSON 0x80', async () => {
  const c = await client('device1@app1', 'hey', 5);
  assert.is(await rejectionCode(c.publishAsync('a/b/c', '1', { qos: 1 })), 0x90);
  assert.is(await rejectionCode(c.publishAsync('json', '{nope', { qos: 1, properties: { contentType: 'application/json' } })), 0x80);
});

test('v3.1.1: a denied QoS 1 gateway publish closes the connection [MQTT-3.3.5-2]', async () => {
  const g = await client('gateway1@app1', 'gw', 4);
  const closed = new Promise<void>((r) => g.once('close', () => r()));
  g.publish('denied/device3', '1', { qos: 1 });
  await closed;
  assert.not.ok(topics().some((t) => t.includes('denied')));
});

test('oversize packet: v5 DISCONNECT 0x95; v3.1.1 closed', async () => {
  const c5 = await client('device1@app1', 'hey', 5);
  const disconnect = new Promise<number | undefined>((r) => c5.once('disconnect', (p) => r(p.reasonCode)));
  c5.publish('big', Buffer.alloc(8000), { qos: 0 });
  assert.is(await disconnect, 0x95);
  const c4 = await client('device1@app1', 'hey', 4);
  const closed = new Promise<void>((r) => c4.once('close', () => r()));
  c4.publish('big', Buffer.alloc(8000), { qos: 0 });
  await closed;
  assert.not.ok(topics().includes('app1/device1:big'));
});

test('clean session false is refused: v3.1.1 rc 2, v5 0x83', async () => {
  for (const [v, code] of [[4, 2], [5, 0x83]] as const) {
    const got = await rejectionCode(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: 'device1@app1', password: 'hey', protocolVersion: v, clean: false, clientId: 'x', reconnectPeriod: 0,
    }));
    assert.is(got, code);
  }
});

/** Resolves with `p`, or rejects after `ms` (the timer is cleared either way). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(what)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

function commandOnce(c: MqttClient): Promise<string> {
  return new Promise((resolve) => c.once('message', (topic) => resolve(topic)));
}

test('the five command cases with MQTT.js and their exact delivered topics', async () => {
  const cases: Array<[string, string, number, string, string, string]> = [
    // user, password, version, filter, device the command is for, delivered topic
    ['device1@app1', 'hey', 4, 'command/inbox/#', 'device1', 'command/inbox//SET'],
    ['device1@app1', 'hey', 5, 'command/inbox/device1/#', 'device1', 'command/inbox/device1/SET'],
    ['device1@app1', 'hey', 4, 'command/inbox//#', 'device1', 'command/inbox//SET'],
    ['gateway1@app1', 'gw', 5, 'command/inbox/#', 'device2', 'command/inbox/device2/SET'],
    ['gateway1@app1', 'gw', 4, 'command/inbox/device2/#', 'device2', 'command/inbox/device2/SET'],
  ];
  for (const [user, pw, v, filter, dev, expected] of cases) {
    const c = await client(user, pw, v as 4 | 5);
    const granted = await c.subscribeAsync(filter, { qos: 1 });
    assert.is(granted[0]!.qos, 0, `${filter} granted at QoS 0`);
    const got = commandOnce(c);
    gw.deliverCommand('app1', dev, 'SET', Buffer.from('on'), { gateways: dev === 'device2' ? ['gateway1'] : [] });
    assert.is(await got, expected, filter);
    await c.endAsync();
  }
});

test('mosquitto_sub receives a command on command/inbox//#', async () => {
  const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-u', 'device1@app1', '-P', 'hey', '-t', 'command/inbox//#', '-C', '1', '-v', '-V', 'mqttv5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  sub.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((r) => sub.once('exit', () => r()));
  try {
    await until('mosquitto_sub subscribed', () => gw.deliverCommand('app1', 'device1', 'SET', Buffer.from('on')) > 0);
    await within(exited, 5000, 'mosquitto_sub did not exit');
    assert.is(out.trim(), 'command/inbox//SET on');
  } finally {
    sub.kill();
    sub.stdout.destroy();
  }
});

test('takeover: a second connection of the device closes the first (v5 DISCONNECT 0x8E)', async () => {
  const first = await client('device3x@app1', 'x', 5).catch(() => undefined);
  assert.is(first, undefined, 'unknown device refused');
  const a = await client('device1@app1', 'hey', 5);
  const reason = new Promise<number | undefined>((r) => a.once('disconnect', (p) => r(p.reasonCode)));
  await client('device1@app1', 'hey', 5);
  assert.is(await reason, 0x8e);
});

test('the Will is published on an abrupt close, not after DISCONNECT', async () => {
  const will = { topic: 'lastwill', payload: Buffer.from('bye'), qos: 0 as const, retain: false };
  const a = await client('device1@app1', 'hey', 4, { will });
  a.stream.destroy();
  await until('will', () => topics().includes('app1/device1:lastwill'));
  const b = await client('gateway1@app1', 'gw', 5, { will: { ...will, topic: 'gwwill' } });
  await b.endAsync();
  await new Promise((r) => setTimeout(r, 100));
  const c = await client('gateway1@app1', 'gw', 5);
  await c.publishAsync('marker', '1', { qos: 1 });
  assert.not.ok(topics().includes('app1/gateway1:gwwill'));
});

test('keep-alive expiry: a client silent for 1.5 × Keep Alive is disconnected', async () => {
  const sock = tcpConnect(port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'ka', keepalive: 1, username: 'device1@app1', password: Buffer.from('hey') }));
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.resume();
  await within(closed, 5000, 'not disconnected');
});

test.run();
