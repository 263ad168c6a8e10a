// Presence and commands across instances: two gateways (instances A and B) on one connection
// directory and one bus. A device connecting to B while connected to A is taken over (A: v5
// DISCONNECT 0x8E; the application sees connected:false from A before connected:true from B);
// a routed command reaches only the instance holding the target; an instance that stops
// renewing its lease is reaped by the survivor, which publishes its devices' Wills and
// connected:false; the opt-in offline queue delivers in order on SUBSCRIBE and drops what expired.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IConnackPacket, IDisconnectPacket, IPublishPacket, ISubackPacket, Packet } from 'mqtt-packet';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { CommandExt, EventTypes } from '../../../events/types.ts';
import { createMqttGateway } from '../../../connectors/mqtt/index.ts';
import { InMemoryCommandQueue, InMemoryConnectionDirectory } from '../../../connectors/directory/index.ts';
import { createCommandService, type ReplyReceiver } from '../../../functions/command-dispatch/index.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';
import { connectPacket, mqttDocs } from '../../helpers/mqtt-fixtures.ts';
import { memoryRegistry } from '../../helpers/memory-registry.ts';
import { RecordingBus } from '../../helpers/mqtt-recording-bus.ts';
import { duplexPair, TestClient } from '../../helpers/mqtt-duplex.ts';
import { FakeClock } from '../../contracts/connection-directory.ts';

function twoInstances() {
  const clock = new FakeClock(Date.now());
  const bus = new RecordingBus();
  const registry = memoryRegistry(mqttDocs());
  const directory = new InMemoryConnectionDirectory({ clock, ttlMs: 10_000 });
  const queue = new InMemoryCommandQueue({ clock });
  // Each instance's own waiting requests: A's are the command service's (below), B has none.
  let receiveAtA: ReplyReceiver = () => false;
  const replies: Record<string, ReplyReceiver> = { A: (offer) => receiveAtA(offer), B: () => false };
  const make = (instanceId: string) => createMqttGateway({ bus, registry, directory, queue, instanceId, clock, replies: replies[instanceId] });
  const gws = { A: make('A'), B: make('B') };
  const clients: TestClient[] = [];
  const connect = async (gw: keyof typeof gws, username: string, password: string, version: 4 | 5 = 5, extra: Partial<Packet> = {}) => {
    const [server, near] = duplexPair();
    gws[gw].handle(server, { remoteAddress: 'test' });
    const c = new TestClient(near, version);
    clients.push(c);
    c.send(connectPacket(version, { username, password: Buffer.from(password), ...extra }));
    const ack = await c.next(10_000) as IConnackPacket;
    assert.is(ack?.cmd, 'connack');
    assert.is(version === 5 ? ack.reasonCode : ack.returnCode, 0);
    return c;
  };
  // The Triggers' job: each routed command to the instance it names, nowhere else.
  const routed: Record<string, number> = { A: 0, B: 0 };
  const commandBus = {
    publish: async (events: CloudEvent | CloudEvent[]) => {
      for (const e of Array.isArray(events) ? events : [events]) {
        const holder = String(e.extensions[CommandExt.holder]) as keyof typeof gws;
        routed[holder]!++;
        await gws[holder].deliverRouted(e);
      }
    },
  };
  const ctx = { registry, clock, logger: silentLogger, instance: 'drogue', newId: () => crypto.randomUUID() };
  const commands = createCommandService({ bus: commandBus, ctx, directory, queue, external: async () => ({ status: 500 }), instanceId: 'A' });
  receiveAtA = commands.receiveReply;
  const close = async () => {
    for (const c of clients) c.destroy();
    await gws.A.close();
    await gws.B.close();
  };
  return { clock, bus, directory, queue, gws, connect, commands, routed, close };
}

const connections = (bus: RecordingBus, device: string) => bus.events
  .filter((e) => e.type === EventTypes.connection && e.extensions.device === device)
  .map((e) => `${new TextDecoder().decode(e.data)}@${String(e.extensions.instance)}`);

async function subscribe(c: TestClient, topic: string): Promise<void> {
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] });
  const ack = await c.next() as ISubackPacket;
  assert.is(ack.cmd, 'suback');
}

const will = { topic: 'status', payload: Buffer.from('gone'), qos: 0 as const, retain: false };

test('takeover across instances: A ends with 0x8E and says goodbye before B says hello', async () => {
  const t = twoInstances();
  const onA = await t.connect('A', 'device1@app1', 'hey', 5, { will } as never);
  assert.is((await t.directory.lookup('app1', 'device1'))?.instance, 'A');
  await t.connect('B', 'device1@app1', 'hey');
  const d = await onA.next() as IDisconnectPacket;
  assert.is(d.cmd, 'disconnect');
  assert.is(d.reasonCode, 0x8e);
  assert.is((await t.directory.lookup('app1', 'device1'))?.instance, 'B');
  const seq = t.bus.events.filter((e) => e.extensions.device === 'device1' || e.extensions.sender === 'device1')
    .map((e) => e.type === EventTypes.connection ? new TextDecoder().decode(e.data) : `will:${String(e.extensions.topic)}`);
  assert.equal(seq, ['{"connected":true}', 'will:status', '{"connected":false}', '{"connected":true}']);
  assert.is(t.gws.B.stats.takeovers, 1);
  console.log(`  events seen by the application: ${seq.length} (${seq.join(', ')})`);
  await t.close();
});

test('a routed command reaches only the instance holding the target; its gateway on the other instance gets its own copy', async () => {
  const t = twoInstances();
  const dev = await t.connect('B', 'device1@app1', 'hey');
  await subscribe(dev, 'command/inbox//#');
  const gw = await t.connect('A', 'gateway1@app1', 'gw');
  await subscribe(gw, 'command/inbox/#');
  const r = await t.commands.sendCommand({ application: 'app1', device: 'device1', command: 'SET', payload: Buffer.from('on'), contentType: 'text/plain' });
  assert.is(r.outcome, 'delivered');
  assert.equal(r.targets.map((x) => [x.target, x.instance]), [['device1', 'B']]);
  const p = await dev.next() as IPublishPacket;
  assert.equal([p.topic, p.payload.toString(), p.properties?.contentType], ['command/inbox//SET', 'on', 'text/plain']);
  assert.equal(t.routed, { A: 0, B: 1 }, 'instance A never saw the command');
  // device2 lists gateway1 (on A) as its gateway: only A gets that one.
  const r2 = await t.commands.sendCommand({ application: 'app1', device: 'device2', command: 'GO' });
  assert.equal(r2.targets.map((x) => [x.target, x.outcome]), [['device2', 'offline'], ['gateway1', 'delivered']]);
  assert.is((await gw.next() as IPublishPacket).topic, 'command/inbox/device2/GO');
  assert.equal(t.routed, { A: 1, B: 1 });
  console.log(`  routed: A ${t.routed.A}, B ${t.routed.B}; delivered A ${t.gws.A.stats.commandsDelivered}, B ${t.gws.B.stats.commandsDelivered}`);
  await t.close();
});

test('an instance that stops renewing is reaped: the survivor publishes its devices\' Wills and connected:false', async () => {
  const t = twoInstances();
  await t.connect('A', 'device1@app1', 'hey', 5, { will } as never);
  await t.connect('B', 'gateway1@app1', 'gw');
  const before = t.bus.events.length;
  t.clock.advance(10_001);
  await t.gws.B.heartbeat();
  const after = t.bus.events.slice(before);
  assert.equal(after.map((e) => e.type === EventTypes.connection ? `${String(e.extensions.device)}:${new TextDecoder().decode(e.data)}` : `will:${String(e.extensions.topic)}`),
    ['will:status', 'device1:{"connected":false}']);
  assert.is(await t.directory.lookup('app1', 'device1'), undefined);
  assert.ok(await t.directory.lookup('app1', 'gateway1'), 'B renewed its lease');
  // A comes back: it ends the reaped connection without a second goodbye.
  const n = t.bus.events.length;
  await t.gws.A.heartbeat();
  await new Promise((r) => setImmediate(r));
  assert.equal(connections(t.bus, 'device1').slice(-1), ['{"connected":false}@drogue']);
  assert.is(t.bus.events.length, n, 'no event from the returning instance');
  console.log(`  survivor published ${after.length} events for the dead instance`);
  await t.close();
});

test('offline queue: queued commands arrive in order on SUBSCRIBE; an expired one is dropped and counted; without TTL, offline', async () => {
  const t = twoInstances();
  assert.is((await t.commands.sendCommand({ application: 'app1', device: 'device1', command: 'short', ttl: 'PT1S' })).outcome, 'queued');
  for (const n of [1, 2, 3]) {
    assert.is((await t.commands.sendCommand({ application: 'app1', device: 'device1', command: `c${n}`, payload: Buffer.from(String(n)), ttl: 'PT1H' })).outcome, 'queued');
  }
  assert.is((await t.commands.sendCommand({ application: 'app1', device: 'device1', command: 'lost' })).outcome, 'offline');
  t.clock.advance(2000);
  const c = await t.connect('A', 'device1@app1', 'hey', 4);
  await subscribe(c, 'command/inbox//#');
  const got: string[] = [];
  for (let i = 0; i < 3; i++) got.push((await c.next() as IPublishPacket).topic);
  assert.equal(got, ['command/inbox//c1', 'command/inbox//c2', 'command/inbox//c3']);
  assert.ok(await c.silentFor(50), 'neither the expired nor the TTL-less command arrives');
  assert.equal(t.queue.stats(), { queued: 0, taken: 3, expired: 1, refused: 0 });
  console.log(`  queue: delivered ${got.length} in order, expired ${t.queue.stats().expired}`);
  await t.close();
});

test('connected but not subscribed: a routed command with a TTL waits in the queue for the SUBSCRIBE', async () => {
  const t = twoInstances();
  const c = await t.connect('B', 'device1@app1', 'hey');
  assert.is((await t.commands.sendCommand({ application: 'app1', device: 'device1', command: 'later', ttl: 'PT1M' })).outcome, 'delivered');
  assert.is(t.queue.stats().queued, 1);
  await subscribe(c, 'command/inbox/#');
  assert.is((await c.next() as IPublishPacket).topic, 'command/inbox//later');
  await t.close();
});

test('request/response across instances: sent through A, answered on B, the reply is routed to A; another connection\'s reply is refused 0x87', async () => {
  const t = twoInstances();
  try {
    const dev = await t.connect('B', 'device1@app1', 'hey', 4);
    const other = await t.connect('B', 'gateway1@app1', 'gw', 5);
    await subscribe(dev, 'command/inbox//#');
    const sent = await t.commands.sendCommand({ application: 'app1', device: 'device1', command: 'ping', payload: Buffer.from('hi'), expectReply: true });
    assert.is(sent.outcome, 'delivered');
    const cmd = await dev.next() as IPublishPacket;
    assert.is(cmd.topic, `command/inbox//ping/${sent.id}`, '3.1.1: the request id as the last level');
    // A connection the command did not go to may not answer it.
    other.send({ cmd: 'publish', topic: `command/reply/${sent.id}`, payload: Buffer.from('forged'), qos: 1, messageId: 7, retain: false, dup: false });
    const refused = await other.next() as { cmd: string; reasonCode?: number };
    assert.equal([refused.cmd, refused.reasonCode], ['puback', 0x87]);
    dev.send({ cmd: 'publish', topic: `command/reply/${sent.id}`, payload: Buffer.from('pong'), qos: 1, messageId: 8, retain: false, dup: false });
    assert.is((await dev.next() as { cmd: string }).cmd, 'puback');
    const routedReplies = t.bus.events.filter((e) => e.type === EventTypes.commandReply);
    assert.is(routedReplies.length, 1, 'one reply event, from B');
    assert.is(routedReplies[0]!.extensions[CommandExt.holder], 'A', 'addressed to the waiting instance');
    assert.ok(t.commands.receiveRoutedReply(routedReplies[0]!), 'A\'s waiting command takes it');
    const reply = await sent.awaitReply!(5000);
    assert.is(Buffer.from(reply.payload).toString(), 'pong');
    assert.is(reply.sender, 'device1');
    console.log(`  reply routed B → A: ${routedReplies.length} event, forged reply refused 0x87`);
  } finally {
    await t.close();
  }
});

test.run();
