// Commands end to end in embedded mode as `npm start` wires it (in-memory directory, offline
// queue, the command Triggers of knative/templates/command-triggers.yaml), with real clients:
// MQTT.js (3.1.1 and 5) and mosquitto_sub. A command reaches the device directly and through its
// gateway on each of Drogue's command topics, keeps its content type (v5), a queued command
// reaches a device that connects later, in order, and a command entering through the bus (the
// broker ingress, as the MQTT integration would) takes the dispatch Trigger.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import mqtt, { type MqttClient } from 'mqtt';
import { commandEvent } from '../../events/constructors.ts';
import { encodeHttpBinary } from '../../events/bindings/http.ts';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';

execFileSync('bash', ['scripts/ensure-mosquitto-clients.sh'], { stdio: 'inherit' });

let dir: string;
let mooring: Mooring;
const open: MqttClient[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-cmd-'));
  const registryPath = join(dir, 'registry.yaml');
  const device = (name: string, extra = '') =>
    `kind: Device\nmetadata:\n  name: ${name}\n  application: app1\nspec:\n  authentication:\n    credentials:\n      - pass: secret\n${extra}`;
  writeFileSync(registryPath, [
    'kind: Application\nmetadata:\n  name: app1\nspec: {}\n',
    device('gw'),
    device('dev', '  gatewaySelector:\n    matchNames: [gw]\n'),
    device('lone'),
    device('late'),
  ].join('---\n'));
  const config = configFromEnv({}, { registryPath, dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, demoSinkPort: 0 });
  mooring = await startMooring(config, { logger: silentLogger });
});

test.after(async () => {
  for (const c of open) c.end(true);
  await mooring?.close();
  rmSync(dir, { recursive: true, force: true });
});

const url = () => `mqtt://127.0.0.1:${mooring.mqtt.mqtt!.port}`;

async function client(username: string, protocolVersion: 4 | 5, filter: string): Promise<{ c: MqttClient; got: Array<{ topic: string; payload: string; contentType?: string }> }> {
  const c = await mqtt.connectAsync(url(), { username, password: 'secret', protocolVersion, reconnectPeriod: 0 });
  open.push(c);
  const got: Array<{ topic: string; payload: string; contentType?: string }> = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), contentType: packet.properties?.contentType }));
  await c.subscribeAsync(filter, { qos: 0 });
  return { c, got };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const send = (device: string, command: string, payload: string, extra: { contentType?: string; ttl?: string } = {}) =>
  mooring.commands.sendCommand({ application: 'app1', device, command, payload: Buffer.from(payload), ...extra });

test('Drogue\'s command topics over MQTT.js: own (v5, content type kept) and through the gateway (3.1.1)', async () => {
  const dev = await client('dev@app1', 5, 'command/inbox//#');
  const gw = await client('gw@app1', 4, 'command/inbox/#');
  const r = await send('dev', 'SET', '{"on":true}', { contentType: 'application/json' });
  assert.is(r.outcome, 'delivered');
  assert.equal(r.targets.map((t) => [t.target, t.outcome]), [['dev', 'delivered'], ['gw', 'delivered']]);
  await until('both deliveries', () => dev.got.length === 1 && gw.got.length === 1);
  assert.equal(dev.got[0], { topic: 'command/inbox//SET', payload: '{"on":true}', contentType: 'application/json' });
  assert.equal(gw.got[0]!.topic, 'command/inbox/dev/SET');
  // The gateway's own commands arrive on command/inbox//<cmd>.
  await send('gw', 'PING', 'x');
  await until('gateway own command', () => gw.got.length === 2);
  assert.is(gw.got[1]!.topic, 'command/inbox//PING');
  // command/inbox/<device>/# on the gateway, and on the device itself.
  const gw2 = await client('gw@app1', 5, 'command/inbox/dev/#');
  const dev2 = await client('dev@app1', 4, 'command/inbox/dev/#');
  await send('dev', 'ALT', 'y');
  await until('device filter deliveries', () => gw2.got.length === 1 && dev2.got.length === 1);
  assert.is(gw2.got[0]!.topic, 'command/inbox/dev/ALT');
  assert.is(dev2.got[0]!.topic, 'command/inbox/dev/ALT');
  console.log(`  delivered by the gateway: ${mooring.gateway.stats.commandsDelivered}`);
  for (const c of [dev.c, gw.c, gw2.c, dev2.c]) await c.endAsync();
});

test('mosquitto_sub receives a command on command/inbox//#', async () => {
  const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(mooring.mqtt.mqtt!.port), '-u', 'lone@app1', '-P', 'secret', '-V', 'mqttv311', '-t', 'command/inbox//#', '-C', '1', '-v']);
  let out = '';
  sub.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<number | null>((r) => sub.on('exit', r));
  // mosquitto_sub's SUBSCRIBE cannot be observed from here: send until it printed the first one.
  let sent = 0;
  while (out === '' && sent < 500) {
    await send('lone', 'HELLO', 'world');
    sent++;
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.is(await exited, 0);
  assert.is(out.trim(), 'command/inbox//HELLO world');
  console.log(`  mosquitto_sub: received after ${sent} sends`);
});

test('offline queue: commands with a TTL reach a device that connects later, in order; without TTL they are dropped', async () => {
  for (const n of [1, 2, 3]) assert.is((await send('late', `c${n}`, String(n), { ttl: 'PT5M' })).outcome, 'queued');
  assert.is((await send('late', 'dropped', 'x')).outcome, 'offline');
  const late = await client('late@app1', 5, 'command/inbox//#');
  await until('three queued commands', () => late.got.length >= 3);
  assert.equal(late.got.map((g) => g.topic), ['command/inbox//c1', 'command/inbox//c2', 'command/inbox//c3']);
  await late.c.endAsync();
});

test('a command entering through the bus (broker ingress) takes the dispatch Trigger to the device', async () => {
  const dev = await client('dev@app1', 5, 'command/inbox//#');
  const ev = commandEvent({ id: 'via-bus-1', time: new Date().toISOString(), application: 'app1', device: 'dev', command: 'BUS', payload: Buffer.from('b') });
  const { headers, body } = encodeHttpBinary(ev);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(mooring.ingress.url, { method: 'POST', headers }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end(body);
  });
  assert.is(status, 202);
  await until('the bus command', () => dev.got.length === 1);
  assert.is(dev.got[0]!.topic, 'command/inbox//BUS');
  await dev.c.endAsync();
});

test('request/response over v5 (Response Topic, Correlation Data) and 3.1.1 (request id in the topic); only the addressed connections may answer', async () => {
  // v5: the device answers on the Response Topic with the Correlation Data.
  const v5 = await mqtt.connectAsync(url(), { username: 'dev@app1', password: 'secret', protocolVersion: 5, reconnectPeriod: 0 });
  open.push(v5);
  v5.on('message', (_topic, payload, packet) => {
    const rt = packet.properties?.responseTopic;
    if (rt === undefined) return;
    void v5.publishAsync(rt, `re:${payload.toString()}`, { qos: 1, properties: { correlationData: packet.properties!.correlationData, contentType: 'text/plain' } });
  });
  await v5.subscribeAsync('command/inbox//#');
  const r = await mooring.commands.sendCommand({ application: 'app1', device: 'dev', command: 'ASK', payload: Buffer.from('q1'), expectReply: true });
  assert.is(r.outcome, 'delivered');
  const answer = await r.awaitReply!(10_000);
  assert.equal([Buffer.from(answer.payload).toString(), answer.contentType, answer.sender], ['re:q1', 'text/plain', 'dev']);
  await v5.endAsync();
  // 3.1.1: the request id is the last topic level; the reply goes to command/reply/<id>.
  const v4 = await mqtt.connectAsync(url(), { username: 'lone@app1', password: 'secret', protocolVersion: 4, reconnectPeriod: 0 });
  open.push(v4);
  const seen: string[] = [];
  v4.on('message', (topic) => {
    seen.push(topic);
    const id = topic.split('/').at(-1)!;
    void v4.publishAsync(`command/reply/${id}`, 'pong', { qos: 0 });
  });
  await v4.subscribeAsync('command/inbox//#');
  const r4 = await mooring.commands.sendCommand({ application: 'app1', device: 'lone', command: 'PING', expectReply: true });
  const a4 = await r4.awaitReply!(10_000);
  assert.is(Buffer.from(a4.payload).toString(), 'pong');
  assert.equal(seen, [`command/inbox//PING/${r4.id}`]);
  // Another device may not answer: its reply is refused (v5 PUBACK 0x87) and the request times out.
  const other = await mqtt.connectAsync(url(), { username: 'late@app1', password: 'secret', protocolVersion: 5, reconnectPeriod: 0 });
  open.push(other);
  v4.removeAllListeners('message');
  const r3 = await mooring.commands.sendCommand({ application: 'app1', device: 'lone', command: 'NOREPLY', expectReply: true });
  const puback = await new Promise<number | undefined>((resolve) => {
    other.publish(`command/reply/${r3.id}`, 'forged', { qos: 1 }, (err, packet) => resolve(err ? (err as { code?: number }).code : (packet as { reasonCode?: number } | undefined)?.reasonCode));
  });
  assert.is(puback, 0x87);
  try {
    await r3.awaitReply!(100);
    assert.unreachable('a forged reply was taken');
  } catch (e) { assert.is((e as { code?: string }).code, 'MOORING_TIMEOUT'); }
  console.log(`  replies: v5 ${answer.sender}, 3.1.1 ${a4.sender}; forged reply refused with 0x${puback?.toString(16)}`);
  await v4.endAsync();
  await other.endAsync();
});

test.run();
