// Malformed packets and protocol violations (connectors/mqtt/validate.ts): each test is named after
// the sentence of MQTT 3.1.1 / 5.0 it checks. A violation closes the connection (v5: DISCONNECT
// with the spec's reason code first, once CONNACK was sent) and never reaches the application.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generate, type IDisconnectPacket, type Packet } from 'mqtt-packet';
import { connectPacket, mqttFixture, type MqttFixture } from '../../helpers/mqtt-fixtures.ts';
import type { TestClient } from '../../helpers/mqtt-duplex.ts';
import { EventTypes } from '../../../events/types.ts';

/** `packet` encoded, with the bytes of `marker` (its first occurrence) replaced by `bytes` of the same length. */
function patched(packet: Packet, version: 4 | 5, marker: string, bytes: number[]): Buffer {
  const buf = generate(packet, { protocolVersion: version });
  const at = buf.indexOf(marker);
  if (at < 0 || bytes.length !== marker.length) throw new Error(`marker ${marker} not in the packet`);
  Buffer.from(bytes).copy(buf, at);
  return buf;
}

const ILL_FORMED = [0xc3, 0x28]; // a two-byte lead followed by an ASCII byte
const SURROGATE = [0xed, 0xa0, 0x80]; // U+D800 encoded
const NUL = [0x61, 0x00];

const publish = (topic: string, qos: 0 | 1 = 1, extra: Partial<Packet> = {}): Packet =>
  ({ cmd: 'publish', topic, payload: Buffer.from('x'), qos, dup: false, retain: false, ...(qos > 0 ? { messageId: 7 } : {}), ...extra } as Packet);

/** The connection ends as the spec says: v5 DISCONNECT `rc` then close, 3.1.1 a close without a word. */
async function endsWith(c: TestClient, version: 4 | 5, rc: number): Promise<void> {
  const p = await c.next();
  if (version === 5) {
    assert.is(p?.cmd, 'disconnect', 'a v5 DISCONNECT first');
    assert.is((p as IDisconnectPacket).reasonCode, rc);
  } else {
    assert.is(p, undefined, 'no packet before the close');
  }
  await c.whenClosed();
}

function noPublishReached(f: MqttFixture): void {
  assert.is(f.bus.ofType(EventTypes.publish).length, 0, 'nothing reached the application');
}

for (const version of [4, 5] as const) {
  test(`[MQTT-1.5.4-1] [MQTT-1.5.3-1] v${version}: a PUBLISH whose topic is ill-formed UTF-8 closes the connection (v5 DISCONNECT 0x81), never reaching the application`, async () => {
    for (const [marker, bytes] of [['ZZ', ILL_FORMED], ['ZZZ', SURROGATE]] as const) {
      const f = mqttFixture();
      const c = await f.connected('device1@app1', 'hey', version);
      c.raw(patched(publish(marker), version, marker, [...bytes]));
      await endsWith(c, version, 0x81);
      noPublishReached(f);
      assert.is(f.gw.stats.protocolErrors, 1);
      await f.close();
    }
  });

  test(`[MQTT-1.5.4-2] [MQTT-1.5.3-2] v${version}: U+0000 in a topic closes the connection (QoS 0 too)`, async () => {
    for (const qos of [0, 1] as const) {
      const f = mqttFixture();
      const c = await f.connected('device1@app1', 'hey', version);
      c.raw(patched(publish('temZ', qos), version, 'mZ', NUL));
      await endsWith(c, version, 0x81);
      noPublishReached(f);
      await f.close();
    }
  });

  test(`[MQTT-3.3.2-2] v${version}: a wildcard in a PUBLISH topic name closes the connection (v5 DISCONNECT 0x90), QoS 0 and 1`, async () => {
    for (const [topic, qos] of [['temp/+', 1], ['temp/#', 0], ['#', 1]] as const) {
      const f = mqttFixture();
      const c = await f.connected('device1@app1', 'hey', version);
      c.send(publish(topic, qos));
      await endsWith(c, version, 0x90);
      noPublishReached(f);
      await f.close();
    }
  });

  test(`[MQTT-2.3.1-1] v${version}: SUBSCRIBE, UNSUBSCRIBE and a QoS 1 PUBLISH with packet identifier 0 close the connection (v5 DISCONNECT 0x82)`, async () => {
    const packets: Packet[] = [
      { cmd: 'subscribe', messageId: 0, subscriptions: [{ topic: 'command/inbox/#', qos: 0 }] },
      { cmd: 'unsubscribe', messageId: 0, unsubscriptions: ['command/inbox/#'] },
      publish('temp', 1, { messageId: 0 }),
    ];
    for (const p of packets) {
      const f = mqttFixture();
      const c = await f.connected('device1@app1', 'hey', version);
      c.send(p);
      await endsWith(c, version, 0x82);
      noPublishReached(f);
      await f.close();
    }
  });

  test(`[MQTT-3.8.3-3] [MQTT-3.10.3-2] v${version}: a SUBSCRIBE or UNSUBSCRIBE without a topic filter is a protocol violation, not an internal error`, async () => {
    // Identifier 5 and, in v5, an empty property length: nothing else.
    const bodies = version === 5 ? [[0x82, 3, 0, 5, 0], [0xa2, 3, 0, 5, 0]] : [[0x82, 2, 0, 5], [0xa2, 2, 0, 5]];
    for (const bytes of bodies) {
      const f = mqttFixture();
      const c = await f.connected('device1@app1', 'hey', version);
      c.raw(bytes);
      await endsWith(c, version, 0x82);
      assert.is(f.gw.stats.protocolErrors, 1);
      await f.close();
    }
  });

  test(`[MQTT-4.7.3-1] v${version}: an empty topic name without a topic alias closes the connection (v5 DISCONNECT 0x82)`, async () => {
    const f = mqttFixture();
    const c = await f.connected('device1@app1', 'hey', version);
    c.send(publish('', 0));
    await endsWith(c, version, 0x82);
    noPublishReached(f);
    await f.close();
  });

  test(`[MQTT-1.5.4-1] [MQTT-1.5.3-1] v${version}: ill-formed UTF-8 or U+0000 in a topic filter closes the connection`, async () => {
    for (const cmd of ['subscribe', 'unsubscribe'] as const) {
      for (const bytes of [ILL_FORMED, NUL]) {
        const f = mqttFixture();
        const c = await f.connected('device1@app1', 'hey', version);
        const p: Packet = cmd === 'subscribe'
          ? { cmd, messageId: 3, subscriptions: [{ topic: 'command/inbox/ZZ', qos: 0 }] }
          : { cmd, messageId: 3, unsubscriptions: ['command/inbox/ZZ'] };
        c.raw(patched(p, version, 'ZZ', bytes));
        await endsWith(c, version, 0x81);
        await f.close();
      }
    }
  });

  test(`[MQTT-1.5.4-1] [MQTT-1.5.3-1] [MQTT-3.1.4-1] [MQTT-3.1.3-4] [MQTT-3.1.3-10] [MQTT-3.1.3-11] v${version}: ill-formed UTF-8 or U+0000 in the client id, user name or Will topic closes the connection without a CONNACK`, async () => {
    const fields: Array<Partial<Packet>> = [
      { clientId: 'ZZ', username: 'device1@app1', password: Buffer.from('hey') },
      { username: 'device1@appZZ', password: Buffer.from('hey') },
      { username: 'device1@app1', password: Buffer.from('hey'), will: { topic: 'ZZ', payload: Buffer.from('w'), qos: 0, retain: false } },
    ];
    for (const extra of fields) {
      for (const bytes of [ILL_FORMED, NUL]) {
        const f = mqttFixture();
        const c = f.client(version);
        c.raw(patched(connectPacket(version, extra), version, 'ZZ', bytes));
        assert.is(await c.next(), undefined, 'no CONNACK');
        await c.whenClosed();
        assert.is(f.bus.events.length, 0, 'no connected event');
        await f.close();
      }
    }
  });

  test(`[MQTT-2.2.2-2] v${version}: reserved fixed-header flags close the connection`, async () => {
    // SUBSCRIBE, UNSUBSCRIBE and PUBREL with flags 0000 instead of 0010; PINGREQ and PUBACK with a flag set.
    const frames = [[0x80, 2 + 2 + 15 + 1, 0, 1, 0, 15, ...Buffer.from('command/inbox/#'), 0], [0xa0, 2 + 2 + 1, 0, 1, 0, 1, 0x23],
      [0x60, 2, 0, 1], [0xc1, 0], [0x41, 2, 0, 1]];
    for (const frame of frames) {
      if (version === 5 && (frame[0]! & 0xf0) !== 0x60 && (frame[0]! & 0xf0) !== 0xc0 && (frame[0]! & 0xf0) !== 0x40) {
        frame.splice(4, 0, 0); // the v5 property length
        frame[1]!++;
      }
      const f = mqttFixture();
      const c = await f.connected('device1@app1', 'hey', version);
      c.raw(frame);
      await endsWith(c, version, 0x81);
      await f.close();
    }
  });

  test(`[MQTT-3.3.1-4] [MQTT-3.8.3-4] [MQTT-3.1.2-14] v${version}: QoS 3 in a PUBLISH, a subscription or a Will closes the connection`, async () => {
    const f = mqttFixture();
    const c = await f.connected('device1@app1', 'hey', version);
    const pub = generate(publish('temp', 1), { protocolVersion: version });
    pub[0] = 0x36;
    c.raw(pub);
    await endsWith(c, version, 0x81);
    noPublishReached(f);

    const c2 = await f.connected('device1@app1', 'hey', version);
    const sub = generate({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'command/inbox/#', qos: 0 }] }, { protocolVersion: version });
    sub[sub.length - 1] = 0x03;
    c2.raw(sub);
    await endsWith(c2, version, 0x81);

    const c3 = f.client(version);
    const connect = generate(connectPacket(version, { username: 'device1@app1', password: Buffer.from('hey'), will: { topic: 'w', payload: Buffer.from('w'), qos: 0, retain: false } }), { protocolVersion: version });
    const flagsAt = connect.indexOf('MQTT') + 5;
    connect[flagsAt] = connect[flagsAt]! | 0x18;
    c3.raw(connect);
    assert.is(await c3.next(), undefined, 'no CONNACK');
    await c3.whenClosed();
    await f.close();
  });

  test(`[MQTT-3.3.1-2] v${version}: DUP set on a QoS 0 PUBLISH closes the connection`, async () => {
    const f = mqttFixture();
    const c = await f.connected('device1@app1', 'hey', version);
    c.send(publish('temp', 0, { dup: true }));
    await endsWith(c, version, 0x81);
    noPublishReached(f);
    await f.close();
  });

  test(`[MQTT-2.1.4] v${version}: bytes left over after a packet's fields make it malformed (PINGREQ with a body, CONNECT with trailing bytes)`, async () => {
    const f = mqttFixture();
    const c = await f.connected('device1@app1', 'hey', version);
    c.raw([0xc0, 1, 0]);
    await endsWith(c, version, 0x81);
    const c2 = f.client(version);
    const connect = generate(connectPacket(version, { username: 'device1@app1', password: Buffer.from('hey') }), { protocolVersion: version });
    connect[1]!++;
    c2.raw(Buffer.concat([connect, Buffer.from([0])]));
    assert.is(await c2.next(), undefined, 'no CONNACK');
    await c2.whenClosed();
    await f.close();
  });
}

test('[MQTT-3.1.2-22] v3.1.1: a password without a user name closes the connection without a CONNACK', async () => {
  const f = mqttFixture();
  const c = f.client(4);
  const connect = generate(connectPacket(4, { username: 'u', password: Buffer.from('hey') }), { protocolVersion: 4 });
  // Drop the user name flag (0x80) and the user name field (2 + 1 bytes) before the password.
  const flagsAt = connect.indexOf('MQTT') + 5;
  connect[flagsAt] = connect[flagsAt]! & 0x7f;
  const at = connect.indexOf('u', flagsAt + 7) - 2;
  const frame = Buffer.concat([connect.subarray(0, at), connect.subarray(at + 3)]);
  frame[1] = frame.length - 2;
  c.raw(frame);
  assert.is(await c.next(), undefined, 'no CONNACK');
  await c.whenClosed();
  await f.close();
});

test('[MQTT-2.2.2-2] v5: a property not allowed in the packet is malformed (DISCONNECT 0x81); a property given twice is a protocol error (0x82)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  // PUBLISH with Session Expiry Interval (0x11), a CONNECT-only property.
  c.raw([0x32, 2 + 4 + 2 + 1 + 5 + 1, 0, 4, ...Buffer.from('temp'), 0, 9, 5, 0x11, 0, 0, 0, 1, 0x78]);
  await endsWith(c, 5, 0x81);
  const c2 = await f.connected('device1@app1', 'hey', 5);
  // PUBLISH with Content Type (0x03) twice.
  c2.raw([0x32, 2 + 4 + 2 + 1 + 8 + 1, 0, 4, ...Buffer.from('temp'), 0, 9, 8, 0x03, 0, 1, 0x61, 0x03, 0, 1, 0x62, 0x78]);
  await endsWith(c2, 5, 0x82);
  noPublishReached(f);
  await f.close();
});

test('[MQTT-3.3.4-6] v5: a PUBLISH from a client with a Subscription Identifier is a protocol error (DISCONNECT 0x82)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.raw([0x32, 2 + 4 + 2 + 1 + 2 + 1, 0, 4, ...Buffer.from('temp'), 0, 9, 2, 0x0b, 1, 0x78]);
  await endsWith(c, 5, 0x82);
  noPublishReached(f);
  await f.close();
});

test('[MQTT-1.5.4-1] v5: ill-formed UTF-8 in a user property closes the connection (DISCONNECT 0x81)', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.raw(patched(publish('temp', 1, { properties: { userProperties: { k: 'ZZ' } } }), 5, 'ZZ', ILL_FORMED));
  await endsWith(c, 5, 0x81);
  noPublishReached(f);
  await f.close();
});

test('well-formed UTF-8 beyond ASCII (and U+FFFD itself) is accepted in a topic', async () => {
  const f = mqttFixture();
  const c = await f.connected('device1@app1', 'hey', 5);
  c.send(publish('températ\u00fcre\ufffd', 1));
  const ack = await c.next();
  assert.is(ack?.cmd, 'puback');
  assert.is(f.bus.ofType(EventTypes.publish)[0]!.extensions.topic, 'températ\u00fcre\ufffd');
  await f.close();
});

test.run();
