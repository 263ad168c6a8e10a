// PUBLISH: the raw event on the bus, acknowledgements after the bus, refusals per version, QoS 2,
// MQTT 5 properties, topic aliases, Receive Maximum, Maximum Packet Size, dialects, backpressure.

import { parseTraceparent } from '../../../events/trace.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IDisconnectPacket, IPubackPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { mqttFixture } from '../../helpers/mqtt-fixtures.ts';
import { EventTypes } from '../../../events/types.ts';
import { authorizeAs } from '../../../functions/authz/authorize-as.ts';
import type { AuthorizeAs } from '../../../connectors/mqtt/options.ts';

function pub(topic: string, payload: string, qos: 0 | 1 | 2 = 0, messageId?: number, extra: Partial<IPublishPacket> = {}): Packet {
  return { cmd: 'publish', topic, payload: Buffer.from(payload), qos, dup: false, retain: false, ...(qos > 0 ? { messageId } : {}), ...extra } as Packet;
}

const publishes = (f: ReturnType<typeof mqttFixture>) => f.bus.ofType(EventTypes.publish);

test('QoS 1: PUBACK is sent only after the bus accepted the event', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey');
  f.bus.mode = 'hold';
  c.send(pub('temp', '{"t":1}', 1, 1));
  assert.ok(await c.silentFor(100), 'no PUBACK while the bus holds the event');
  f.bus.release();
  const ack = await c.next() as IPubackPacket;
  assert.is(ack.cmd, 'puback');
  assert.is(ack.messageId, 1);
  await f.close();
});

test('the raw event: io.mooring.publish.v1, payload as data, MQTT metadata in extensions', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey');
  c.send(pub('temp', '{"t":1}', 1, 1));
  await c.next();
  const [e] = publishes(f);
  assert.is(e!.type, 'io.mooring.publish.v1');
  assert.is(Buffer.from(e!.data!).toString(), '{"t":1}');
  const { traceparent, ...rest } = e!.extensions;
  assert.equal(
    rest,
    { application: 'app1', sender: 'device1', topic: 'temp', qos: 1, retain: false, dialect: 'drogue/v1', endpoint: 'mqtt', partitionkey: 'app1/device1' },
  );
  // A 3.1.1 device cannot send a trace context: a new trace.
  assert.ok(parseTraceparent(traceparent), `a valid traceparent: ${String(traceparent)}`);
  assert.is(e!.datacontenttype, undefined);
  await f.close();
});

test('v5: content type → datacontenttype; payload format indicator and user properties carried', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send(pub('temp', 'hello', 1, 1, { properties: { contentType: 'text/plain', payloadFormatIndicator: true, userProperties: { a: '1', b: ['2', '3'] } } }));
  const ack = await c.next() as IPubackPacket;
  assert.is(ack.reasonCode ?? 0, 0);
  const [e] = publishes(f);
  assert.is(e!.datacontenttype, 'text/plain');
  assert.is(e!.extensions.payloadformat, 1);
  assert.equal(JSON.parse(String(e!.extensions.userproperties)), [['a', '1'], ['b', '2'], ['b', '3']]);
  await f.close();
});

test('v5: a JSON content type with a body that is not JSON is rejected with 0x80', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send(pub('temp', '{not json', 1, 3, { properties: { contentType: 'application/json' } }));
  const ack = await c.next() as IPubackPacket;
  assert.is(ack.reasonCode, 0x80);
  assert.is(publishes(f).length, 0);
  await f.close();
});

test('v5: a topic that does not parse in the dialect gets 0x90 (topic name invalid)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send(pub('a/b/c', 'x', 1, 4));
  assert.is((await c.next() as IPubackPacket).reasonCode, 0x90);
  c.send(pub('a/b/c', 'x', 0));
  c.send({ cmd: 'pingreq' });
  assert.is((await c.next())?.cmd, 'pingresp', 'QoS 0 with a bad topic is dropped silently');
  assert.is(publishes(f).length, 0);
  assert.is(f.gw.stats.publishesDropped, 1);
  await f.close();
});

test('[MQTT-3.3.5-2] v3.1.1: a QoS 1 PUBLISH the server does not take closes the connection (never a false PUBACK)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 4);
  c.send(pub('a/b/c', 'x', 1, 4));
  assert.is(await c.next(), undefined);
  await c.whenClosed();
  await f.close();
});

test('gateway publishes for a device that lists it: accepted, sender is the gateway', async () => {
  const f = mqttFixture();
  const c = await f.connected('gateway1@app1', 'gw', 5);
  c.send(pub('temp/device2', '1', 1, 1));
  assert.is((await c.next() as IPubackPacket).reasonCode ?? 0, 0);
  const [e] = publishes(f);
  assert.is(e!.extensions.sender, 'gateway1');
  assert.is(e!.extensions.topic, 'temp/device2');
  assert.is(e!.extensions.partitionkey, 'app1/gateway1');
  await f.close();
});

test('gateway publish denied: QoS 0 dropped, QoS 1 0x87 (not authorized)', async () => {
  const f = mqttFixture();
  const c = await f.connected('gateway1@app1', 'gw', 5);
  c.send(pub('temp/device3', '1', 0));
  c.send(pub('temp/device3', '1', 1, 2));
  assert.is((await c.next() as IPubackPacket).reasonCode, 0x87);
  assert.is(publishes(f).length, 0);
  assert.is(f.gw.stats.publishesDropped, 1);
  await f.close();
});

test('publish-as decisions are cached per session (positive and negative) and dropped when the registry changes', async () => {
  let calls = 0;
  const counting: AuthorizeAs = (req, reg) => { calls++; return authorizeAs(req, reg); };
  const f = mqttFixture({ authorizeAs: counting });
  const c = await f.connected('gateway1@app1', 'gw', 5);
  for (let i = 1; i <= 3; i++) c.send(pub('temp/device2', '1', 1, i));
  for (let i = 4; i <= 6; i++) c.send(pub('temp/device3', '1', 1, i));
  const codes: number[] = [];
  for (let i = 0; i < 6; i++) codes.push((await c.next() as IPubackPacket).reasonCode ?? 0);
  assert.equal(codes, [0, 0, 0, 0x87, 0x87, 0x87]);
  assert.is(calls, 2);
  f.registry.set([...(await f.registry.listApplications()), ...(await f.registry.listDevices('app1'))]);
  c.send(pub('temp/device2', '1', 1, 7));
  await c.next();
  assert.is(calls, 3);
  await f.close();
});

test('v5: bus full → PUBACK 0x97 (quota exceeded)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  f.bus.mode = 'full';
  c.send(pub('temp', '1', 1, 9));
  assert.is((await c.next() as IPubackPacket).reasonCode, 0x97);
  await f.close();
});

test('[MQTT-4.6.0-2] PUBACKs are sent in the order the PUBLISH packets were received', async () => {
  const f = mqttFixture();
  const c = await f.connected('gateway1@app1', 'gw', 5);
  // 1 is own (no decision), 2 needs a decision, 3 is own again: acks must still be 1, 2, 3.
  c.send(pub('temp', '1', 1, 1));
  c.send(pub('temp/device2', '2', 1, 2));
  c.send(pub('temp', '3', 1, 3));
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await c.next() as IPubackPacket).messageId);
  assert.equal(ids, [1, 2, 3]);
  assert.equal(publishes(f).map((e) => Buffer.from(e.data!).toString()), ['1', '2', '3']);
  await f.close();
});

test('QoS 2: PUBREC after the bus, PUBREL → PUBCOMP, a retransmitted PUBLISH is not delivered twice [MQTT-4.3.3-10]', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send(pub('temp', 'q2', 2, 11));
  const rec = await c.next();
  assert.is(rec?.cmd, 'pubrec');
  c.send(pub('temp', 'q2', 2, 11, { dup: true }));
  assert.is((await c.next())?.cmd, 'pubrec');
  c.send({ cmd: 'pubrel', messageId: 11 });
  const comp = await c.next();
  assert.is(comp?.cmd, 'pubcomp');
  assert.is(comp?.messageId, 11);
  assert.is(publishes(f).length, 1);
  // The identifier is free again: a new QoS 2 PUBLISH with it is a new message.
  c.send(pub('temp', 'again', 2, 11));
  assert.is((await c.next())?.cmd, 'pubrec');
  assert.is(publishes(f).length, 2);
  await f.close();
});

test('QoS 2 over v3.1.1 works too', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 4);
  c.send(pub('temp', 'q2', 2, 5));
  assert.is((await c.next())?.cmd, 'pubrec');
  c.send({ cmd: 'pubrel', messageId: 5 });
  assert.is((await c.next())?.cmd, 'pubcomp');
  assert.is(publishes(f).length, 1);
  await f.close();
});

test('v5 topic aliases: set once, used with an empty topic', async () => {
  const f = mqttFixture({ topicAliasMaximum: 4 });
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send(pub('temp', '1', 1, 1, { properties: { topicAlias: 2 } }));
  c.send(pub('', '2', 1, 2, { properties: { topicAlias: 2 } }));
  await c.next(); await c.next();
  assert.equal(publishes(f).map((e) => e.extensions.topic), ['temp', 'temp']);
  await f.close();
});

test('[MQTT-3.3.2-10] a topic alias above the announced Topic Alias Maximum: DISCONNECT 0x94', async () => {
  const f = mqttFixture({ topicAliasMaximum: 4 });
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send(pub('temp', '1', 0, undefined, { properties: { topicAlias: 5 } }));
  const d = await c.next() as IDisconnectPacket;
  assert.is(d.cmd, 'disconnect');
  assert.is(d.reasonCode, 0x94);
  await c.whenClosed();
  await f.close();
});

test('a topic alias used before it was set is a protocol error (0x82)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send(pub('', '1', 0, undefined, { properties: { topicAlias: 1 } }));
  assert.is((await c.next() as IDisconnectPacket).reasonCode, 0x82);
  await f.close();
});

test('v5: more unacknowledged QoS 1 publishes than the Receive Maximum: DISCONNECT 0x93', async () => {
  const f = mqttFixture({ receiveMaximum: 2 });
  const c = await f.connected('device1@app1', 'hey', 5);
  f.bus.mode = 'hold';
  c.send(pub('temp', '1', 1, 1));
  c.send(pub('temp', '2', 1, 2));
  c.send(pub('temp', '3', 1, 3));
  const d = await c.next() as IDisconnectPacket;
  assert.is(d.reasonCode, 0x93);
  f.bus.release();
  await f.close();
});

test('v5: a retained PUBLISH (Retain Available 0) gets DISCONNECT 0x9A; 3.1.1 carries the flag', async () => {
  const f = mqttFixture();
  const c5 = await f.connected('device1@app1', 'hey', 5);
  c5.send(pub('temp', '1', 0, undefined, { retain: true }));
  assert.is((await c5.next() as IDisconnectPacket).reasonCode, 0x9a);
  const c4 = await f.connected('gateway1@app1', 'gw', 4);
  c4.send(pub('temp', '1', 1, 1, { retain: true }));
  await c4.next();
  assert.is(publishes(f)[0]!.extensions.retain, true);
  await f.close();
});

test('Maximum Packet Size: v5 DISCONNECT 0x95, decided from the fixed header before the body arrives', async () => {
  const f = mqttFixture({ maxPacketSize: 1024 });
  const c = await f.connected('device1@app1', 'hey', 5);
  // Only the fixed header of a 2000-byte PUBLISH: the gateway must not wait for (or buffer) the body.
  c.raw([0x30, 0xd0, 0x0f]);
  const d = await c.next() as IDisconnectPacket;
  assert.is(d.cmd, 'disconnect');
  assert.is(d.reasonCode, 0x95);
  await c.whenClosed();
  await f.close();
});

test('Maximum Packet Size: v3.1.1 closes the connection', async () => {
  const f = mqttFixture({ maxPacketSize: 1024 });
  const c = await f.connected('device1@app1', 'hey', 4);
  c.send(pub('temp', 'x'.repeat(2000), 0));
  assert.is(await c.next(), undefined);
  await c.whenClosed();
  assert.is(publishes(f).length, 0);
  await f.close();
});

test('a packet split across many chunks is reassembled', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 4);
  const { generate } = await import('mqtt-packet');
  const bytes = generate(pub('temp', 'y'.repeat(3000), 1, 1));
  for (let i = 0; i < bytes.length; i += 7) c.raw(bytes.subarray(i, i + 7));
  assert.is((await c.next())?.cmd, 'puback');
  assert.is(Buffer.from(publishes(f)[0]!.data!).length, 3000);
  await f.close();
});

test('a malformed packet closes only that client (v5 DISCONNECT 0x81); others carry on', async () => {
  const f = mqttFixture();
  const bad = await f.connected('device1@app1', 'hey', 5);
  const good = await f.connected('gateway1@app1', 'gw', 5);
  // PUBLISH whose topic length says 200 bytes in a 5-byte body.
  bad.raw([0x30, 0x05, 0x00, 0xc8, 0x61, 0x62, 0x63]);
  const d = await bad.next() as IDisconnectPacket;
  assert.is(d.reasonCode, 0x81);
  await bad.whenClosed();
  good.send(pub('temp', '1', 1, 1));
  assert.is((await good.next())?.cmd, 'puback');
  await f.close();
});

test('dialects: plainTopic (application), plainTopic (device override), plainTopic with device prefix', async () => {
  const f = mqttFixture();
  const a = await f.connected('dev@plain', 'hey', 5);
  a.send(pub('foo/bar/baz', '1', 1, 1));
  assert.is((await a.next() as IPubackPacket).reasonCode ?? 0, 0);
  const b = await f.connected('plaindev@app1', 'hey', 5);
  b.send(pub('x/y/z', '1', 1, 1));
  assert.is((await b.next() as IPubackPacket).reasonCode ?? 0, 0);
  const p = await f.connected('gw@prefixed', 'hey', 5);
  p.send(pub('sensor/bar/baz//bam/bum', '1', 1, 1));
  assert.is((await p.next() as IPubackPacket).reasonCode ?? 0, 0);
  p.send(pub('single', '1', 1, 2));
  assert.is((await p.next() as IPubackPacket).reasonCode, 0x90);
  p.send(pub('other/ch', '1', 1, 3));
  assert.is((await p.next() as IPubackPacket).reasonCode, 0x87);
  assert.equal(publishes(f).map((e) => e.extensions.dialect), ['plainTopic', 'plainTopic', 'plainTopic;devicePrefix']);
  await f.close();
});

test('backpressure: with the bus slow, the gateway stops reading at maxInFlight and resumes when it drains', async () => {
  const f = mqttFixture({ maxInFlight: 2 });
  const c = await f.connected('device1@app1', 'hey', 4);
  await f.bus.waitFor(1);
  f.bus.mode = 'hold';
  for (let i = 0; i < 10; i++) c.send(pub('temp', String(i), 0));
  c.send({ cmd: 'pingreq' });
  assert.ok(await c.silentFor(100), 'the PINGREQ behind the held publishes is not read yet');
  assert.is(f.bus.heldCount, 2);
  f.bus.release();
  assert.is((await c.next())?.cmd, 'pingresp');
  await f.bus.waitFor(11);
  assert.equal(publishes(f).map((e) => Buffer.from(e.data!).toString()), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  await f.close();
});

test('[MQTT-3.12.4-1] PINGREQ is answered with PINGRESP', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 4);
  c.send({ cmd: 'pingreq' });
  assert.is((await c.next())?.cmd, 'pingresp');
  await f.close();
});

test.run();
