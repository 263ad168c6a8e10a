// Lifecycle: connection events in order, the Will, takeover, keep-alive, shutdown.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IDisconnectPacket } from 'mqtt-packet';
import { connectPacket, mqttFixture } from '../../helpers/mqtt-fixtures.ts';
import { EventTypes } from '../../../events/types.ts';
import type { CloudEvent } from '../../../events/cloudevent.ts';

const will = { topic: 'status', payload: Buffer.from('gone'), qos: 0 as const, retain: false };

function summary(events: CloudEvent[]): string[] {
  return events.map((e) => e.type === EventTypes.connection
    ? `${e.extensions.device}:${JSON.parse(Buffer.from(e.data!).toString()).connected ? 'connected' : 'disconnected'}`
    : `${e.extensions.sender}:${e.extensions.topic}=${Buffer.from(e.data!).toString()}`);
}

test('an application sees connected, then the device\'s events, then disconnected, on one partition key', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey');
  c.send({ cmd: 'publish', topic: 'temp', payload: Buffer.from('1'), qos: 1, messageId: 1, dup: false, retain: false });
  await c.next();
  c.send({ cmd: 'disconnect' });
  await f.bus.waitFor(3);
  assert.equal(summary(f.bus.events), ['device1:connected', 'device1:temp=1', 'device1:disconnected']);
  assert.equal(new Set(f.bus.events.map((e) => e.extensions.partitionkey)), new Set(['app1/device1']));
  await f.close();
});

test('the Will is published as a device event on its topic when the connection drops', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 4, { will } as never);
  c.destroy();
  await f.bus.waitFor(3);
  assert.equal(summary(f.bus.events), ['device1:connected', 'device1:status=gone', 'device1:disconnected']);
  assert.is(f.bus.events[1]!.type, EventTypes.publish);
  await f.close();
});

test('[MQTT-3.14.4-3] no Will after a normal DISCONNECT (v3.1.1, and v5 reason 0x00)', async () => {
  const f = mqttFixture();
  const c4 = await f.connected('device1@app1', 'hey', 4, { will } as never);
  c4.send({ cmd: 'disconnect' });
  await c4.whenClosed();
  const c5 = await f.connected('gateway1@app1', 'gw', 5, { will } as never);
  c5.send({ cmd: 'disconnect', reasonCode: 0 });
  await c5.whenClosed();
  await f.bus.waitFor(4);
  assert.equal(summary(f.bus.events), ['device1:connected', 'device1:disconnected', 'gateway1:connected', 'gateway1:disconnected']);
  await f.close();
});

test('v5 DISCONNECT 0x04 (disconnect with Will Message) publishes the Will', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5, { will } as never);
  c.send({ cmd: 'disconnect', reasonCode: 0x04 });
  await f.bus.waitFor(3);
  assert.equal(summary(f.bus.events), ['device1:connected', 'device1:status=gone', 'device1:disconnected']);
  await f.close();
});

test('[MQTT-3.1.4-3] takeover: the old connection gets DISCONNECT 0x8E and is closed; its Will is published; events stay in order', async () => {
  const f = mqttFixture();
  const old = await f.connected('device1@app1', 'hey', 5, { will } as never);
  const fresh = await f.connected('device1@app1', 'hey', 5);
  const d = await old.next() as IDisconnectPacket;
  assert.is(d.cmd, 'disconnect');
  assert.is(d.reasonCode, 0x8e);
  await old.whenClosed();
  await f.bus.waitFor(4);
  assert.equal(summary(f.bus.events), ['device1:connected', 'device1:status=gone', 'device1:disconnected', 'device1:connected']);
  assert.is(f.gw.stats.takeovers, 1);
  // Commands now go to the new connection.
  fresh.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'command/inbox//#', qos: 0 }] });
  await fresh.next();
  assert.is(f.gw.deliverCommand('app1', 'device1', 'X', Buffer.from('1')), 1);
  await f.close();
});

test('takeover over v3.1.1: the old connection is closed [MQTT-3.1.4-2]', async () => {
  const f = mqttFixture();
  const old = await f.connected('device1@app1', 'hey', 4);
  await f.connected('device1@app1', 'hey', 4);
  await old.whenClosed();
  await f.close();
});

test('v3.1.1 [MQTT-3.1.2-24] / v5 [MQTT-3.1.2-22]: nothing within 1.5 × Keep Alive closes the connection; the Will is published', async () => {
  const f = mqttFixture({ timerResolutionMs: 50 });
  const c4 = await f.connected('device1@app1', 'hey', 4, { keepalive: 1, will } as never);
  const c5 = await f.connected('gateway1@app1', 'gw', 5, { keepalive: 1 } as never);
  await c4.whenClosed(5000);
  const d = await c5.next(5000) as IDisconnectPacket;
  assert.is(d.reasonCode, 0x8d);
  await c5.whenClosed();
  await f.bus.waitFor(5);
  assert.ok(summary(f.bus.events).includes('device1:status=gone'));
  await f.close();
});

test('keep-alive: a client that pings stays connected', async () => {
  const f = mqttFixture({ timerResolutionMs: 50 });
  const c = await f.connected('device1@app1', 'hey', 4, { keepalive: 1 } as never);
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 400));
    c.send({ cmd: 'pingreq' });
    assert.is((await c.next())?.cmd, 'pingresp');
  }
  assert.is(c.closed, false);
  await f.close();
});

test('gateway close: v5 clients get DISCONNECT 0x8B (server shutting down); disconnected events published', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  await f.gw.close();
  assert.is((await c.next() as IDisconnectPacket).reasonCode, 0x8b);
  await f.bus.waitFor(2);
  assert.equal(summary(f.bus.events), ['device1:connected', 'device1:disconnected']);
});

test('a connection that never completed CONNECT produces no connection events', async () => {
  const f = mqttFixture();
  const c = f.client(4);
  c.send(connectPacket(4, { username: 'device1@app1', password: Buffer.from('bad') }));
  await c.whenClosed();
  assert.is(f.bus.events.length, 0);
  await f.close();
});

test.run();
