// Every way a session ends (connectors/mqtt/ending.ts), each with its three outcomes: the v5
// DISCONNECT reason code sent (or a plain close), whether the Will is published, and the
// connection events (io.drogue.connection.v1) the application sees. First the table itself, then
// each reason driven through the protocol over an in-memory pair.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IDisconnectPacket, Packet } from 'mqtt-packet';
import { connectPacket, mqttFixture, type MqttFixture } from '../../helpers/mqtt-fixtures.ts';
import type { TestClient } from '../../helpers/mqtt-duplex.ts';
import { EventTypes } from '../../../events/types.ts';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { End, NO_PACKET, planEnd, type EndReason } from '../../../connectors/mqtt/ending.ts';

// ---- the table -------------------------------------------------------------------------------

const connected = { v5: true, connected: true, hasWill: true, announced: true };

test('planEnd: only a normal DISCONNECT (0x00, or any 3.1.1 DISCONNECT), pre-CONNECT ends and a revoked device skip the Will', () => {
  // revoked: the registry disabled or deleted the device; its Will would be a message from a
  // device that is refused everywhere.
  const noWill = new Set<EndReason>([End.clientDisconnect, End.aborted, End.connectRefused, End.revoked, End.leaseLost]);
  for (const [name, r] of Object.entries(End)) {
    assert.is(planEnd(r, connected).publishWill, !noWill.has(r), name);
    // leaseLost: another instance already sent the Will and the disconnected event.
    assert.is(planEnd(r, connected).disconnectedEvent, r !== End.leaseLost, name);
  }
});

test('planEnd: the v5 DISCONNECT reason code of each server-side end', () => {
  const expected: Record<string, number> = {
    clientDisconnect: NO_PACKET, clientDisconnectWithWill: NO_PACKET, connectionLost: NO_PACKET,
    keepAliveTimeout: 0x8d, takenOver: 0x8e, serverShutdown: 0x8b, aborted: NO_PACKET, connectRefused: NO_PACKET,
    publishRefused: NO_PACKET, protocolError: 0x82, malformed: 0x81, packetTooLarge: 0x95,
    receiveMaximumExceeded: 0x93, retainNotSupported: 0x9a, topicAliasInvalid: 0x94,
    subscriptionIdentifiersNotSupported: 0xa1, internalError: 0x80, revoked: 0x98, leaseLost: 0x8e, topicNameInvalid: 0x90, messageRateTooHigh: 0x96,
  };
  assert.equal(Object.keys(End).sort(), Object.keys(expected).sort(), 'every reason has its expected code here');
  for (const [name, r] of Object.entries(End)) assert.is(planEnd(r, connected).disconnect, expected[name], name);
});

test('[MQTT-4.8.0-1] planEnd: 3.1.1 has no server DISCONNECT; nor does a session not yet connected', () => {
  for (const r of Object.values(End)) {
    assert.is(planEnd(r, { ...connected, v5: false }).disconnect, NO_PACKET, r.name);
    assert.is(planEnd(r, { ...connected, connected: false }).disconnect, NO_PACKET, r.name);
  }
});

test('planEnd: no Will without one or before CONNECT completed; no disconnected event without a connected one', () => {
  for (const r of Object.values(End)) {
    assert.is(planEnd(r, { ...connected, hasWill: false }).publishWill, false, r.name);
    assert.is(planEnd(r, { ...connected, connected: false, announced: false }).publishWill, false, r.name);
    const silent = planEnd(r, { ...connected, announced: false });
    assert.is(silent.disconnectedEvent, false, r.name);
    assert.is(silent.publishWill, false, r.name);
  }
});

// ---- through the protocol --------------------------------------------------------------------

const will = { topic: 'status', payload: Buffer.from('gone'), qos: 0 as const, retain: false };
const pub = (topic: string, extra: Partial<Packet> = {}): Packet =>
  ({ cmd: 'publish', topic, payload: Buffer.from('1'), qos: 1, messageId: 1, dup: false, retain: false, ...extra }) as Packet;

function summary(events: CloudEvent[]): string[] {
  return events.map((e) => e.type === EventTypes.connection
    ? (JSON.parse(Buffer.from(e.data!).toString()).connected ? 'connected' : 'disconnected')
    : `publish:${e.extensions.topic}`);
}

/** Every packet the client received until its connection closed; the DISCONNECT reason code if any. */
async function closing(c: TestClient): Promise<number | undefined> {
  let rc: number | undefined;
  for (let p = await c.next(); p !== undefined; p = await c.next()) {
    if (p.cmd === 'disconnect') rc = (p as IDisconnectPacket).reasonCode ?? 0;
  }
  await c.whenClosed();
  return rc;
}

interface Case {
  name: string;
  version: 4 | 5;
  options?: Parameters<typeof mqttFixture>[0];
  /** Makes the session end. */
  trigger(c: TestClient, f: MqttFixture): void | Promise<void>;
  /** The DISCONNECT reason code the client gets (undefined: closed without one). */
  rc: number | undefined;
  events: string[];
  protocolErrors?: number;
}

/** The Will is a device event on its topic, `status`. */
const WITH_WILL = ['connected', 'publish:status', 'disconnected'];
const WITHOUT_WILL = ['connected', 'disconnected'];

const cases: Case[] = [
  { name: '[MQTT-3.14.4-3] v5 DISCONNECT 0x00: no Will', version: 5, trigger: (c) => c.send({ cmd: 'disconnect', reasonCode: 0 }), rc: undefined, events: WITHOUT_WILL },
  { name: '[MQTT-3.1.2-10] 3.1.1 DISCONNECT: no Will', version: 4, trigger: (c) => c.send({ cmd: 'disconnect' }), rc: undefined, events: WITHOUT_WILL },
  { name: 'v5 DISCONNECT 0x04 (with Will Message): Will', version: 5, trigger: (c) => c.send({ cmd: 'disconnect', reasonCode: 0x04 }), rc: undefined, events: WITH_WILL },
  { name: 'v5 DISCONNECT with an error reason (0x80) from the client: Will', version: 5, trigger: (c) => c.send({ cmd: 'disconnect', reasonCode: 0x80 }), rc: undefined, events: WITH_WILL },
  { name: 'connection lost (3.1.1): Will', version: 4, trigger: (c) => c.destroy(), rc: undefined, events: WITH_WILL },
  { name: 'connection lost (v5): Will', version: 5, trigger: (c) => c.destroy(), rc: undefined, events: WITH_WILL },
  {
    name: '[MQTT-3.1.2-22] keep-alive timeout: v5 0x8D and the Will', version: 5,
    trigger: (_c, f) => { for (let i = 0; i < 4; i++) f.gw.sweepNow(); }, rc: 0x8d, events: WITH_WILL,
  },
  {
    name: '[MQTT-3.1.2-24] keep-alive timeout (3.1.1): closed, Will', version: 4,
    trigger: (_c, f) => { for (let i = 0; i < 4; i++) f.gw.sweepNow(); }, rc: undefined, events: WITH_WILL,
  },
  {
    name: '[MQTT-3.1.4-3] takeover: v5 0x8E, the Will, then the new connection announces itself', version: 5,
    trigger: async (_c, f) => { await f.connected('device1@app1', 'hey', 5); }, rc: 0x8e, events: [...WITH_WILL, 'connected'],
  },
  { name: 'server shutdown: v5 0x8B and the Will', version: 5, trigger: (_c, f) => { void f.gw.close(); }, rc: 0x8b, events: WITH_WILL },
  { name: 'server shutdown (3.1.1): closed, Will', version: 4, trigger: (_c, f) => { void f.gw.close(); }, rc: undefined, events: WITH_WILL },
  {
    name: '[MQTT-3.1.0-2] a second CONNECT: v5 0x82 (protocol error) and the Will', version: 5,
    trigger: (c) => c.send(connectPacket(5, { username: 'device1@app1', password: Buffer.from('hey') })), rc: 0x82, events: WITH_WILL, protocolErrors: 1,
  },
  {
    name: 'malformed packet: v5 0x81 and the Will', version: 5,
    trigger: (c) => c.raw([0x30, 0x05, 0x00, 0xc8, 0x61, 0x62, 0x63]), rc: 0x81, events: WITH_WILL, protocolErrors: 1,
  },
  {
    name: 'packet too large: v5 0x95 and the Will', version: 5, options: { maxPacketSize: 1024 },
    trigger: (c) => c.raw([0x30, 0xd0, 0x0f]), rc: 0x95, events: WITH_WILL, protocolErrors: 1,
  },
  {
    name: 'Receive Maximum exceeded: v5 0x93 and the Will', version: 5, options: { receiveMaximum: 1 },
    trigger: (c, f) => {
      f.bus.mode = 'hold';
      c.send(pub('temp', { messageId: 1 }));
      c.send(pub('temp', { messageId: 2 }));
    },
    // The held publish and the Will wait behind the bus; released below.
    rc: 0x93, events: ['connected', 'publish:temp', 'publish:status', 'disconnected'],
  },
  { name: 'retained PUBLISH: v5 0x9A and the Will', version: 5, trigger: (c) => c.send(pub('temp', { retain: true })), rc: 0x9a, events: WITH_WILL },
  {
    name: 'topic alias 0: v5 0x94 and the Will', version: 5,
    trigger: (c) => c.send(pub('temp', { properties: { topicAlias: 0 } } as never)), rc: 0x94, events: WITH_WILL,
  },
  {
    name: 'SUBSCRIBE with a subscription identifier: v5 0xA1 and the Will', version: 5,
    trigger: (c) => c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'command/inbox//#', qos: 0 }], properties: { subscriptionIdentifier: 1 } }),
    rc: 0xa1, events: WITH_WILL,
  },
  {
    name: '[MQTT-3.3.5-2] 3.1.1 PUBLISH the gateway does not take: closed without PUBACK, Will', version: 4,
    trigger: (c) => c.send(pub('a/b/c')), rc: undefined, events: WITH_WILL,
  },
];

for (const k of cases) {
  test(`end: ${k.name}`, async () => {
    const f = mqttFixture(k.options);
    const c = await f.connected('device1@app1', 'hey', k.version, { will, keepalive: 1 } as never);
    await k.trigger(c, f);
    const rc = await closing(c);
    if (f.bus.mode === 'hold') f.bus.release();
    await f.bus.waitFor(k.events.length);
    const events = summary(f.bus.events);
    assert.is(rc, k.rc, 'DISCONNECT reason code');
    assert.equal(events, k.events, 'Will and connection events');
    assert.is(f.gw.stats.protocolErrors, k.protocolErrors ?? 0, 'protocol errors counted');
    await f.close();
  });
}

test('end: first packet not CONNECT [MQTT-3.1.0-1]: closed, no events, a protocol error', async () => {
  const f = mqttFixture();
  const c = f.client(5);
  c.send({ cmd: 'pingreq' });
  assert.is(await closing(c), undefined);
  await f.close();
  assert.equal(f.bus.events, []);
  assert.is(f.gw.stats.protocolErrors, 1);
});

test('end: no CONNECT within the connect timeout: closed, no events', async () => {
  const f = mqttFixture({ connectTimeoutMs: 1000 });
  const c = f.client(5);
  for (let i = 0; i < 3; i++) f.gw.sweepNow();
  assert.is(await closing(c), undefined);
  await f.close();
  assert.equal(f.bus.events, []);
});

test('end: CONNECT refused: the CONNACK carries the code, then a close; no Will, no events', async () => {
  const f = mqttFixture();
  const c = f.client(5);
  c.send(connectPacket(5, { username: 'device1@app1', password: Buffer.from('bad'), will } as never));
  const ack = await c.next();
  assert.is(ack?.cmd, 'connack');
  assert.is((ack as { reasonCode?: number }).reasonCode, 0x86);
  assert.is(await closing(c), undefined);
  await f.close();
  assert.equal(f.bus.events, []);
});

test.run();
