// CONNECT and protocol order, in memory over a duplex pair. Each test is named after the sentence
// of the MQTT spec (or Drogue Cloud's documented behaviour) it checks.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IConnackPacket, IDisconnectPacket } from 'mqtt-packet';
import { connectPacket, mqttFixture } from '../../helpers/mqtt-fixtures.ts';
import { EventTypes } from '../../../events/types.ts';

test('[MQTT-3.1.0-1] the first packet sent from the Client to the Server MUST be a CONNECT packet', async () => {
  const f = mqttFixture();
  const c = f.client();
  c.send({ cmd: 'pingreq' });
  await c.whenClosed();
  assert.is(f.gw.stats.protocolErrors, 1);
  await f.close();
});

test('[MQTT-3.1.0-2] a second CONNECT is a protocol violation: v5 DISCONNECT 0x82, then close', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send(connectPacket(5, { username: 'device1@app1', password: Buffer.from('hey') }));
  const d = await c.next() as IDisconnectPacket;
  assert.is(d.cmd, 'disconnect');
  assert.is(d.reasonCode, 0x82);
  await c.whenClosed();
  await f.close();
});

test('[MQTT-3.1.0-2] v3.1.1: a second CONNECT closes the network connection', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 4);
  c.send(connectPacket(4, { username: 'device1@app1', password: Buffer.from('hey') }));
  assert.is(await c.next(), undefined);
  await c.whenClosed();
  await f.close();
});

test('CONNACK v3.1.1 rc 0 for device@app + password; connected event published', async () => {
  const f = mqttFixture();
  await f.connected('device1@app1', 'hey', 4);
  await f.bus.waitFor(1);
  const e = f.bus.events[0]!;
  assert.is(e.type, EventTypes.connection);
  assert.is(e.subject, 'connection');
  assert.equal(JSON.parse(Buffer.from(e.data!).toString()), { connected: true });
  assert.is(e.extensions.application, 'app1');
  assert.is(e.extensions.device, 'device1');
  assert.is(e.extensions.partitionkey, 'app1/device1');
  assert.is(e.extensions.instance, 'drogue');
  await f.close();
});

test('username (no @) + password + client id device@app authenticates (Drogue form 2)', async () => {
  const f = mqttFixture();
  const c = f.client(4);
  c.send(connectPacket(4, { username: 'alice', password: Buffer.from('pw'), clientId: 'userdev@app1' }));
  assert.is((await c.next() as IConnackPacket).returnCode, 0);
  await f.bus.waitFor(1);
  assert.is(f.bus.events[0]!.extensions.device, 'userdev');
  await f.close();
});

test('bad password: v3.1.1 return code 4 (bad user name or password), then close [MQTT-3.2.2-5]', async () => {
  const f = mqttFixture();
  const c = f.client(4);
  c.send(connectPacket(4, { username: 'device1@app1', password: Buffer.from('nope') }));
  const ack = await c.next() as IConnackPacket;
  assert.is(ack.returnCode, 4);
  await c.whenClosed();
  assert.is(f.bus.events.length, 0);
  await f.close();
});

test('bad password: v5 reason code 0x86', async () => {
  const f = mqttFixture();
  const c = f.client(5);
  c.send(connectPacket(5, { username: 'device1@app1', password: Buffer.from('nope') }));
  const ack = await c.next() as IConnackPacket;
  assert.is(ack.reasonCode, 0x86);
  await c.whenClosed();
  await f.close();
});

test('disabled device: v3.1.1 return code 5 / v5 0x87 (not authorized)', async () => {
  const f = mqttFixture();
  const c4 = f.client(4);
  c4.send(connectPacket(4, { username: 'off@app1', password: Buffer.from('hey') }));
  assert.is((await c4.next() as IConnackPacket).returnCode, 5);
  const c5 = f.client(5);
  c5.send(connectPacket(5, { username: 'off@app1', password: Buffer.from('hey') }));
  assert.is((await c5.next() as IConnackPacket).reasonCode, 0x87);
  await f.close();
});

test('clean session false is refused (Drogue: clean session must be true): v3.1.1 rc 2, v5 0x83', async () => {
  const f = mqttFixture();
  const c4 = f.client(4);
  c4.send(connectPacket(4, { username: 'device1@app1', password: Buffer.from('hey'), clean: false }));
  assert.is((await c4.next() as IConnackPacket).returnCode, 2);
  await c4.whenClosed();
  const c5 = f.client(5);
  c5.send(connectPacket(5, { username: 'device1@app1', password: Buffer.from('hey'), clean: false }));
  assert.is((await c5.next() as IConnackPacket).reasonCode, 0x83);
  await c5.whenClosed();
  await f.close();
});

test('[MQTT-3.1.2-2] an unsupported protocol level gets CONNACK 0x01 and a close', async () => {
  const f = mqttFixture();
  const c = f.client(4);
  c.send(connectPacket(4, { protocolVersion: 3, protocolId: 'MQIsdp', username: 'device1@app1', password: Buffer.from('hey') } as never));
  assert.is((await c.next() as IConnackPacket).returnCode, 1);
  await c.whenClosed();
  await f.close();
});

test('a dialect that does not parse refuses the connection', async () => {
  const f = mqttFixture();
  const c = f.client(5);
  c.send(connectPacket(5, { username: 'baddialect@app1', password: Buffer.from('hey') }));
  const ack = await c.next() as IConnackPacket;
  assert.ok(ack.reasonCode! >= 0x80);
  await c.whenClosed();
  await f.close();
});

test('v5 CONNACK: Retain Available 0, wildcard yes, shared and subscription identifiers no, limits announced', async () => {
  const f = mqttFixture({ maxPacketSize: 4096, topicAliasMaximum: 8, receiveMaximum: 10 });
  const c = f.client(5);
  c.send(connectPacket(5, { username: 'device1@app1', password: Buffer.from('hey'), clientId: '' }));
  const ack = await c.next() as IConnackPacket;
  assert.is(ack.reasonCode, 0);
  assert.is(ack.sessionPresent, false);
  assert.is(ack.properties?.retainAvailable, false);
  assert.is(ack.properties?.wildcardSubscriptionAvailable, true);
  assert.is(ack.properties?.sharedSubscriptionAvailable, false);
  assert.is(ack.properties?.subscriptionIdentifiersAvailable, false);
  assert.is(ack.properties?.maximumPacketSize, 4096);
  assert.is(ack.properties?.topicAliasMaximum, 8);
  assert.is(ack.properties?.receiveMaximum, 10);
  // [MQTT-3.2.2-16] a zero-length client id is answered with an Assigned Client Identifier.
  assert.is(ack.properties?.assignedClientIdentifier, 'device1@app1');
  await f.close();
});

test('v5: a Will with Retain is refused with 0x9A (Retain not supported)', async () => {
  const f = mqttFixture();
  const c = f.client(5);
  c.send(connectPacket(5, { username: 'device1@app1', password: Buffer.from('hey'), will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: true } }));
  assert.is((await c.next() as IConnackPacket).reasonCode, 0x9a);
  await f.close();
});

test('CONNECT must arrive within the connect timeout', async () => {
  const f = mqttFixture({ connectTimeoutMs: 100, timerResolutionMs: 20 });
  const c = f.client(4);
  await c.whenClosed(3000);
  await f.close();
});

test('maxConnections: a connection beyond the limit is refused (v3.1.1 rc 3, v5 0x9F)', async () => {
  const f = mqttFixture({ maxConnections: 1 });
  await f.connected('device1@app1', 'hey', 4);
  const c4 = f.client(4);
  c4.send(connectPacket(4, { username: 'gateway1@app1', password: Buffer.from('gw') }));
  assert.is((await c4.next() as IConnackPacket).returnCode, 3);
  await c4.whenClosed();
  const c5 = f.client(5);
  c5.send(connectPacket(5, { username: 'gateway1@app1', password: Buffer.from('gw') }));
  assert.is((await c5.next() as IConnackPacket).reasonCode, 0x9f);
  await f.close();
});

test('packets sent right after CONNECT wait for its outcome and are then processed in order', async () => {
  const f = mqttFixture();
  const c = f.client(4);
  c.send(connectPacket(4, { username: 'device1@app1', password: Buffer.from('hey') }));
  c.send({ cmd: 'publish', topic: 'temp', payload: Buffer.from('1'), qos: 1, messageId: 7, dup: false, retain: false });
  c.send({ cmd: 'pingreq' });
  assert.is((await c.next())?.cmd, 'connack');
  // PINGRESP may overtake the PUBACK (which waits for the bus): no order is defined between them.
  const answers = [(await c.next())?.cmd, (await c.next())?.cmd].sort();
  assert.equal(answers, ['pingresp', 'puback']);
  assert.is(f.bus.events[0]!.type, EventTypes.connection);
  assert.is(f.bus.events[1]!.type, EventTypes.publish);
  await f.close();
});

test.run();
