// The server MUSTs of MQTT 3.1.1 and 5.0 that docs/mqtt-conformance.md cites and no other test
// proves: CONNECT edge cases, Session Present, identifiers, subscriptions, enhanced authentication,
// WebSocket frames. Each test is named after the clauses it checks.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { generate, type IConnackPacket, type IDisconnectPacket, type IPublishPacket, type ISubackPacket, type IUnsubackPacket, type Packet } from 'mqtt-packet';
import { connectPacket, mqttFixture } from '../../helpers/mqtt-fixtures.ts';
import type { TestClient } from '../../helpers/mqtt-duplex.ts';
import { EventTypes } from '../../../events/types.ts';
import { errorCodes } from '../../../events/errors.ts';
import { RC } from '../../../connectors/mqtt/reason-codes.ts';
import { listenWs } from '../../../connectors/mqtt/listeners/ws.ts';

const creds = { username: 'device1@app1', password: Buffer.from('hey') };

async function closedWithoutConnack(c: TestClient): Promise<void> {
  assert.is(await c.next(), undefined, 'no CONNACK');
  await c.whenClosed();
}

async function disconnectedWith(c: TestClient, rc: number): Promise<void> {
  const d = await c.next() as IDisconnectPacket;
  assert.is(d?.cmd, 'disconnect');
  assert.is(d.reasonCode, rc);
  await c.whenClosed();
}

test('[MQTT-3.1.2-1] a protocol name other than MQTT closes the connection without a CONNACK', async () => {
  const f = mqttFixture();
  for (const version of [4, 5] as const) {
    const c = f.client(version);
    const frame = generate(connectPacket(version, creds), { protocolVersion: version });
    frame.write('MQTX', frame.indexOf('MQTT'));
    c.raw(frame);
    await closedWithoutConnack(c);
  }
  await f.close();
});

test('[MQTT-3.1.2-3] [MQTT-3.1.4-1] the CONNECT reserved flag set closes the connection without a CONNACK', async () => {
  const f = mqttFixture();
  for (const version of [4, 5] as const) {
    const c = f.client(version);
    const frame = generate(connectPacket(version, creds), { protocolVersion: version });
    frame[frame.indexOf('MQTT') + 5]! |= 0x01;
    c.raw(frame);
    await closedWithoutConnack(c);
  }
  await f.close();
});

test('[MQTT-3.1.3-5] a client identifier of 1 to 23 letters and digits is allowed', async () => {
  const f = mqttFixture();
  for (const version of [4, 5] as const) {
    for (const clientId of ['a', 'abcXYZ0123456789abcdefg']) {
      const c = f.client(version);
      c.send(connectPacket(version, { ...creds, clientId }));
      const ack = await c.next() as IConnackPacket;
      assert.is(version === 5 ? ack.reasonCode : ack.returnCode, 0, clientId);
    }
  }
  await f.close();
});

test('[MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16] a zero-length client identifier is accepted; v5 gets an Assigned Client Identifier', async () => {
  const f = mqttFixture();
  const c4 = f.client(4);
  c4.send(connectPacket(4, { ...creds, clientId: '' }));
  assert.is((await c4.next() as IConnackPacket).returnCode, 0);
  const c5 = f.client(5);
  c5.send(connectPacket(5, { ...creds, clientId: '' }));
  const ack = await c5.next() as IConnackPacket;
  assert.is(ack.reasonCode, 0);
  assert.is(ack.properties?.assignedClientIdentifier, 'device1@app1');
  await f.close();
});

test('[MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-4] [MQTT-3.2.2-6] Session Present is 0 on every CONNACK, accepted or refused', async () => {
  const f = mqttFixture();
  for (const version of [4, 5] as const) {
    for (const password of ['hey', 'wrong']) {
      const c = f.client(version);
      c.send(connectPacket(version, { ...creds, password: Buffer.from(password) }));
      const ack = await c.next() as IConnackPacket;
      assert.is(ack.cmd, 'connack');
      assert.is(ack.sessionPresent, false, `v${version} ${password}`);
    }
  }
  await f.close();
});

test('[MQTT-3.1.4-6] [MQTT-3.1.4-5] [MQTT-3.2.2-7] a refused CONNECT: nothing the client sent after it is processed, and the connection closes', async () => {
  const f = mqttFixture();
  for (const version of [4, 5] as const) {
    const c = f.client(version);
    const opts = { protocolVersion: version };
    c.raw(Buffer.concat([
      generate(connectPacket(version, { ...creds, password: Buffer.from('wrong') }), opts),
      generate({ cmd: 'publish', topic: 'temp', payload: Buffer.from('x'), qos: 0, dup: false, retain: false }, opts),
      generate({ cmd: 'pingreq' }, opts),
    ]));
    const ack = await c.next() as IConnackPacket;
    assert.is(version === 5 ? ack.reasonCode : ack.returnCode, version === 5 ? 0x86 : 4);
    assert.is(await c.next(), undefined, 'no PINGRESP');
    await c.whenClosed();
  }
  assert.is(f.bus.events.length, 0, 'no event of a refused connection');
  await f.close();
});

test('[MQTT-3.1.2-23] [MQTT-4.1.0-2] v5: the CONNACK sets Session Expiry Interval 0 when the client asked for more (no session outlives its connection)', async () => {
  const f = mqttFixture();
  const c = f.client(5);
  c.send(connectPacket(5, { ...creds, properties: { sessionExpiryInterval: 3600 } }));
  const ack = await c.next() as IConnackPacket;
  assert.is(ack.reasonCode, 0);
  assert.is(ack.properties?.sessionExpiryInterval, 0);
  await f.close();
});

test('[MQTT-3.3.2-7] v5: topic aliases are not carried from one connection to another', async () => {
  const f = mqttFixture();
  const first = await f.connected('device1@app1', 'hey', 5);
  first.send({ cmd: 'publish', topic: 'temp', payload: Buffer.from('1'), qos: 1, messageId: 1, dup: false, retain: false, properties: { topicAlias: 1 } });
  assert.is((await first.next())?.cmd, 'puback');
  first.end();
  await first.whenClosed();
  const second = await f.connected('device1@app1', 'hey', 5);
  second.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 1, messageId: 1, dup: false, retain: false, properties: { topicAlias: 1 } });
  await disconnectedWith(second, 0x82);
  assert.is(f.bus.ofType(EventTypes.publish).length, 1);
  await f.close();
});

test('[MQTT-4.3.2-5] [MQTT-4.3.3-12] after PUBACK, and after PUBCOMP, a PUBLISH with the same identifier is a new message', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  const pub = (qos: 1 | 2, dup: boolean): Packet => ({ cmd: 'publish', topic: 'temp', payload: Buffer.from('x'), qos, messageId: 9, dup, retain: false });
  c.send(pub(1, false));
  assert.is((await c.next())?.cmd, 'puback');
  c.send(pub(1, true));
  assert.is((await c.next())?.cmd, 'puback');
  c.send(pub(2, false));
  assert.is((await c.next())?.cmd, 'pubrec');
  c.send({ cmd: 'pubrel', messageId: 9 });
  assert.is((await c.next())?.cmd, 'pubcomp');
  c.send(pub(2, true));
  assert.is((await c.next())?.cmd, 'pubrec');
  assert.is(f.bus.ofType(EventTypes.publish).length, 4, 'four messages, none dropped as a duplicate');
  await f.close();
});

test('[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1] [MQTT-3.10.4-4] [MQTT-3.10.4-6] [MQTT-3.11.3-1] SUBACK and UNSUBACK carry the request\'s identifier and one code per filter, in order', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send({ cmd: 'subscribe', messageId: 4242, subscriptions: [{ topic: 'temp/#', qos: 1 }, { topic: 'command/inbox//#', qos: 2 }, { topic: '#', qos: 0 }] });
  const suback = await c.next() as ISubackPacket;
  assert.is(suback.messageId, 4242);
  assert.equal(suback.granted, [0x8f, 0, 0x8f]);
  c.send({ cmd: 'unsubscribe', messageId: 4243, unsubscriptions: ['command/inbox//#', 'temp/#'] });
  const unsuback = await c.next() as IUnsubackPacket;
  assert.is(unsuback.messageId, 4243);
  assert.equal(unsuback.granted, [0, 0x11]);
  await f.close();
});

test('[MQTT-3.8.4-3] [MQTT-3.10.4-1] [MQTT-3.10.4-2] the same filter twice replaces the subscription (one delivery); after UNSUBSCRIBE nothing is delivered', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 4);
  for (const messageId of [1, 2]) {
    c.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic: 'command/inbox//#', qos: 0 }] });
    assert.is((await c.next())?.cmd, 'suback');
  }
  assert.is(f.gw.deliverCommand('app1', 'device1', 'SET', Buffer.from('on')), 1);
  const p = await c.next() as IPublishPacket;
  assert.is(p.topic, 'command/inbox//SET');
  assert.ok(await c.silentFor(100), 'delivered once');
  c.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['command/inbox//#'] });
  assert.is((await c.next())?.cmd, 'unsuback');
  assert.is(f.gw.deliverCommand('app1', 'device1', 'SET', Buffer.from('off')), 0);
  await f.close();
});

test('[MQTT-3.8.3-4] v5: No Local on a shared subscription is a protocol error (DISCONNECT 0x82)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/command/inbox/#', qos: 0, nl: true }] });
  await disconnectedWith(c, 0x82);
  await f.close();
});

test('[MQTT-3.8.3-5] v5: reserved bits of the subscription options make the SUBSCRIBE malformed (DISCONNECT 0x81)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  const frame = generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'command/inbox/#', qos: 0 }] }, { protocolVersion: 5 });
  frame[frame.length - 1] = 0x40;
  c.raw(frame);
  await disconnectedWith(c, 0x81);
  await f.close();
});

test('[MQTT-3.14.1-1] [MQTT-3.15.1-1] [MQTT-3.6.1-1] reserved flags of DISCONNECT, AUTH and PUBREL close the connection', async () => {
  const f = mqttFixture();
  for (const [version, frame] of [[4, [0xe1, 0]], [5, [0xe1, 0]], [5, [0xf1, 1, 0]], [4, [0x62 | 0x01, 2, 0, 1]]] as const) {
    const c = await f.connected('device1@app1', 'hey', version);
    c.raw([...frame]);
    if (version === 5) await disconnectedWith(c, 0x81);
    else await closedWithoutConnack(c);
  }
  await f.close();
});

test('[MQTT-4.12.0-1] v5: a CONNECT with an Authentication Method gets CONNACK 0x8C (bad authentication method) and a close', async () => {
  const f = mqttFixture();
  const c = f.client(5);
  c.send(connectPacket(5, { ...creds, properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('x') } }));
  const ack = await c.next() as IConnackPacket;
  assert.is(ack.reasonCode, 0x8c);
  await c.whenClosed();
  assert.is(f.bus.events.length, 0);
  await f.close();
});

test('[MQTT-4.12.0-7] [MQTT-4.12.1-1] v5: an AUTH packet on a connection without an Authentication Method is a protocol error (DISCONNECT 0x82)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send({ cmd: 'auth', reasonCode: 0x19 } as Packet);
  await disconnectedWith(c, 0x82);
  await f.close();
});

test('[MQTT-3.3.2-14] v5: a wildcard in a Response Topic is a protocol error (DISCONNECT 0x82)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send({ cmd: 'publish', topic: 'temp', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: false, properties: { responseTopic: 'reply/#' } });
  await disconnectedWith(c, 0x82);
  assert.is(f.bus.ofType(EventTypes.publish).length, 0);
  await f.close();
});

test('[MQTT-1.5.4-3] [MQTT-1.5.3-3] [MQTT-4.7.3-4] U+FEFF in a topic is kept, not stripped; topics are not normalized', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 4);
  for (const topic of ['\ufefftemp', 'cafe\u0301']) {
    c.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: false });
    assert.is((await c.next())?.cmd, 'puback');
  }
  assert.equal(f.bus.ofType(EventTypes.publish).map((e) => e.extensions.topic), ['\ufefftemp', 'cafe\u0301']);
  await f.close();
});

test('[MQTT-3.4.2-1] [MQTT-3.5.2-1] every reason code Mooring can put in a PUBACK or PUBREC is a PUBACK/PUBREC reason code', () => {
  const valid = new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);
  for (const [code, e] of Object.entries(errorCodes)) assert.ok(valid.has(e.mqtt), `${code}: 0x${e.mqtt.toString(16)}`);
  for (const rc of [RC.success, RC.unspecified, RC.notAuthorized, RC.topicNameInvalid, RC.quotaExceeded]) assert.ok(valid.has(rc));
});

test('[MQTT-6.0.0-1] [MQTT-6.0.0-4] WebSocket: subprotocol mqtt; a text frame closes the connection', async () => {
  const f = mqttFixture();
  const ws = await listenWs((stream, info) => f.gw.handle(stream, info), 0, '127.0.0.1');
  const socket = new WebSocket(`ws://127.0.0.1:${ws.address.port}/mqtt`, 'mqtt');
  await new Promise<void>((resolve, reject) => { socket.once('open', () => resolve()); socket.once('error', reject); });
  assert.is(socket.protocol, 'mqtt');
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.send('not binary');
  assert.is(await closed, 1003);
  await ws.close();
  await f.close();
});

test.run();
