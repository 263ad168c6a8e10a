// Commands (subscribe side): the accepted filters, the exact delivered topics (Drogue Cloud's five
// end-to-end cases), refusals in SUBACK, UNSUBSCRIBE, and subscription identifiers.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IDisconnectPacket, IPublishPacket, ISubackPacket, IUnsubackPacket } from 'mqtt-packet';
import { mqttFixture } from '../../helpers/mqtt-fixtures.ts';
import type { TestClient } from '../../helpers/mqtt-duplex.ts';
import { parseCommandFilter } from '../../../connectors/mqtt/commands.ts';

async function subscribe(c: TestClient, ...topics: string[]): Promise<number[]> {
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: topics.map((topic) => ({ topic, qos: 1 as const })) });
  const ack = await c.next() as ISubackPacket;
  assert.is(ack.cmd, 'suback');
  return ack.granted as number[];
}

async function received(c: TestClient): Promise<{ topic: string; payload: string }> {
  const p = await c.next() as IPublishPacket;
  assert.is(p.cmd, 'publish');
  return { topic: p.topic, payload: Buffer.from(p.payload as Buffer).toString() };
}

test('filter grammar: only the command filters parse', () => {
  assert.equal(parseCommandFilter('command/inbox/#'), { kind: 'all' });
  assert.equal(parseCommandFilter('command/inbox/+/#'), { kind: 'all' });
  assert.equal(parseCommandFilter('command/inbox//#'), { kind: 'own' });
  assert.equal(parseCommandFilter('command/inbox/dev/#'), { kind: 'device', device: 'dev' });
  for (const bad of ['#', 'command/#', 'command/inbox/dev/SET', 'command/inbox/+/SET', 'command/inbox/a/b/#', 'temp']) {
    assert.is(parseCommandFilter(bad), undefined, bad);
  }
});

test('Drogue case 1: own commands via command/inbox/# arrive as command/inbox//SET', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey');
  assert.equal(await subscribe(c, 'command/inbox/#'), [0]);
  assert.is(f.gw.deliverCommand('app1', 'device1', 'SET', Buffer.from('on')), 1);
  assert.equal(await received(c), { topic: 'command/inbox//SET', payload: 'on' });
  await f.close();
});

test('Drogue case 2: own commands via command/inbox/device1/# arrive as command/inbox/device1/SET', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey');
  assert.equal(await subscribe(c, 'command/inbox/device1/#'), [0]);
  assert.is(f.gw.deliverCommand('app1', 'device1', 'SET', Buffer.from('on')), 1);
  assert.equal(await received(c), { topic: 'command/inbox/device1/SET', payload: 'on' });
  await f.close();
});

test('Drogue case 3: own commands via command/inbox//# arrive as command/inbox//SET', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  assert.equal(await subscribe(c, 'command/inbox//#'), [0]);
  assert.is(f.gw.deliverCommand('app1', 'device1', 'SET', Buffer.from('on'), { contentType: 'text/plain' }), 1);
  const p = await c.next() as IPublishPacket;
  assert.is(p.topic, 'command/inbox//SET');
  assert.is(p.properties?.contentType, 'text/plain');
  await f.close();
});

test('Drogue case 4: a gateway with command/inbox/# gets its device\'s commands as command/inbox/device2/SET', async () => {
  const f = mqttFixture();
  const g = await f.connected('gateway1@app1', 'gw');
  assert.equal(await subscribe(g, 'command/inbox/#'), [0]);
  // The gateway has not published for device2 yet: the gateway looks device2 up (late delivery).
  f.gw.deliverCommand('app1', 'device2', 'SET', Buffer.from('a'));
  assert.equal(await received(g), { topic: 'command/inbox/device2/SET', payload: 'a' });
  // Now device2's gateways are known: delivered (and counted) at once.
  assert.is(f.gw.deliverCommand('app1', 'device2', 'SET', Buffer.from('b')), 1);
  assert.equal(await received(g), { topic: 'command/inbox/device2/SET', payload: 'b' });
  // With the gateways given by the caller.
  assert.is(f.gw.deliverCommand('app1', 'device2', 'SET', Buffer.from('c'), { gateways: ['gateway1'] }), 1);
  assert.equal(await received(g), { topic: 'command/inbox/device2/SET', payload: 'c' });
  await f.close();
});

test('Drogue case 5: a gateway with command/inbox/device2/# gets command/inbox/device2/SET', async () => {
  const f = mqttFixture();
  const g = await f.connected('gateway1@app1', 'gw', 5);
  assert.equal(await subscribe(g, 'command/inbox/device2/#'), [0]);
  assert.is(f.gw.deliverCommand('app1', 'device2', 'SET', Buffer.from('x')), 1);
  assert.equal(await received(g), { topic: 'command/inbox/device2/SET', payload: 'x' });
  await f.close();
});

test('a filter for a device that does not list the subscriber as gateway is refused: v5 0x87, v3.1.1 0x80', async () => {
  const f = mqttFixture();
  const g5 = await f.connected('gateway1@app1', 'gw', 5);
  assert.equal(await subscribe(g5, 'command/inbox/device3/#'), [0x87]);
  const g4 = await f.connected('device1@app1', 'hey', 4);
  assert.equal(await subscribe(g4, 'command/inbox/device3/#'), [0x80]);
  assert.is(f.gw.deliverCommand('app1', 'device3', 'SET', Buffer.from('x')), 0);
  await f.close();
});

test('other filters are refused in SUBACK: v5 0x8F (topic filter invalid) / 0x9E shared, v3.1.1 0x80', async () => {
  const f = mqttFixture();
  const c5 = await f.connected('device1@app1', 'hey', 5);
  assert.equal(await subscribe(c5, '#', 'command/inbox/dev/SET', '$share/g/command/inbox/#', 'command/inbox//#'), [0x8f, 0x8f, 0x9e, 0]);
  const c4 = await f.connected('gateway1@app1', 'gw', 4);
  assert.equal(await subscribe(c4, 'temp/#'), [0x80]);
  await f.close();
});

test('a gateway and the device itself both get the command, each on its topic', async () => {
  const f = mqttFixture();
  const d = await f.connected('device1@app1', 'hey');
  const g = await f.connected('gateway1@app1', 'gw');
  // Pretend gateway1 is device1's gateway by passing the gateways explicitly.
  await subscribe(d, 'command/inbox//#');
  await subscribe(g, 'command/inbox/#');
  assert.is(f.gw.deliverCommand('app1', 'device1', 'SET', Buffer.from('z'), { gateways: ['gateway1'] }), 2);
  assert.is((await received(d)).topic, 'command/inbox//SET');
  assert.is((await received(g)).topic, 'command/inbox/device1/SET');
  await f.close();
});

test('no subscription, no delivery', async () => {
  const f = mqttFixture();
  await f.connected('device1@app1', 'hey');
  assert.is(f.gw.deliverCommand('app1', 'device1', 'SET', Buffer.from('z')), 0);
  assert.is(f.gw.deliverCommand('app1', 'nobody', 'SET', Buffer.from('z')), 0);
  await f.close();
});

test('[MQTT-3.10.4-5] UNSUBSCRIBE is always answered; v5 says 0x11 for a filter that had no subscription', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  await subscribe(c, 'command/inbox//#');
  c.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['command/inbox//#', 'command/inbox/#'] });
  const ack = await c.next() as IUnsubackPacket;
  assert.is(ack.cmd, 'unsuback');
  assert.equal(ack.granted, [0, 0x11]);
  assert.is(f.gw.deliverCommand('app1', 'device1', 'SET', Buffer.from('z')), 0);
  await f.close();
});

test('v5: a SUBSCRIBE with a Subscription Identifier (not available) gets DISCONNECT 0xA1', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send({ cmd: 'subscribe', messageId: 1, properties: { subscriptionIdentifier: 3 }, subscriptions: [{ topic: 'command/inbox/#', qos: 0 }] });
  assert.is((await c.next() as IDisconnectPacket).reasonCode, 0xa1);
  await f.close();
});

test('[MQTT-3.1.2-25] a command larger than the client\'s Maximum Packet Size is discarded', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5, { properties: { maximumPacketSize: 100 } } as never);
  await subscribe(c, 'command/inbox//#');
  assert.is(f.gw.deliverCommand('app1', 'device1', 'BIG', Buffer.alloc(500)), 0);
  assert.is(f.gw.deliverCommand('app1', 'device1', 'SMALL', Buffer.alloc(5)), 1);
  assert.is((await received(c)).topic, 'command/inbox//SMALL');
  await f.close();
});

test.run();
