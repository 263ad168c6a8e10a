// The wire layer: frame sizes from the fixed header, and the shared decoder recovering after a
// malformed frame (one bad client must not break decoding for the others).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generate, parser, type Packet } from 'mqtt-packet';
import { CONNACK_ACCEPTED_V4, decode, encode, encodeAck, frameLength } from '../../../connectors/mqtt/codec.ts';

test('[MQTT-1.5.5] frame length from the Remaining Length: incomplete → 0, more than four bytes → -1', () => {
  assert.is(frameLength(Buffer.from([0xc0, 0x00]), 0), 2);
  assert.is(frameLength(Buffer.from([0x30, 0xd0, 0x0f]), 0), 2000 + 3);
  assert.is(frameLength(Buffer.from([0x30, 0x80]), 0), 0);
  assert.is(frameLength(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 0), -1);
});

test('the shared decoder recovers after a malformed frame', () => {
  assert.instance(decode(Buffer.from([0x30, 0x05, 0x00, 0xc8, 0x61, 0x62, 0x63]), 5), Error);
  const p = decode(generate({ cmd: 'pingreq' }), 5);
  assert.not.instance(p, Error);
  assert.is((p as { cmd: string }).cmd, 'pingreq');
  const pub = decode(generate({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 3, dup: false, retain: false }), 4);
  assert.is((pub as { topic: string }).topic, 't');
});

test('acknowledgements: v5 omits a 0x00 reason code (§3.4.2.1)', () => {
  assert.equal([...encodeAck(0x40, 258, 0, true)], [0x40, 2, 1, 2]);
  assert.equal([...encodeAck(0x40, 258, 0x87, true)], [0x40, 3, 1, 2, 0x87]);
  assert.equal([...encodeAck(0x40, 258, 0x87, false)], [0x40, 2, 1, 2]);
});

test('the fast paths give what mqtt-packet gives: a bare DISCONNECT decoded, the 3.1.1 CONNACK accepted', () => {
  for (const protocolVersion of [4, 5]) {
    const p = parser({ protocolVersion });
    let parsed: Packet | undefined;
    p.on('packet', (x: Packet) => { parsed = x; });
    p.parse(Buffer.from([0xe0, 0x00]));
    assert.equal({ ...(decode(Buffer.from([0xe0, 0x00]), protocolVersion) as Packet) }, { ...parsed! }, `v${protocolVersion}`);
  }
  assert.equal(CONNACK_ACCEPTED_V4, encode({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 4));
});


/** What a fresh mqtt-packet parser makes of `frame` (a packet, or its error). */
function parsedByMqttPacket(frame: Buffer): Packet | Error | undefined {
  const p = parser({ protocolVersion: 4 });
  let out: Packet | Error | undefined;
  p.on('packet', (x: Packet) => { out = x; });
  p.on('error', (e: Error) => { out = e; });
  p.parse(frame);
  return out;
}

test('a 3.1.1 CONNECT decodes as mqtt-packet decodes it, the fast path and the parser alike', () => {
  const base = { cmd: 'connect' as const, protocolId: 'MQTT' as const, protocolVersion: 4 as const, keepalive: 30 };
  const packets = [
    { ...base, clean: true, clientId: 'dev1' },
    { ...base, clean: false, clientId: 'kept' },
    { ...base, clean: true, clientId: '' },
    { ...base, clean: true, clientId: 'dev7@bench', username: 'dev7@bench', password: Buffer.from('pw-7') },
    { ...base, clean: true, clientId: 'ü'.repeat(100), username: 'u', password: Buffer.alloc(300, 1), keepalive: 65535 },
    { ...base, clean: true, clientId: 'c', username: 'only-user' },
    { ...base, clean: true, clientId: 'c', will: { topic: 'w', payload: Buffer.from('bye'), qos: 1 as const, retain: false } },
  ];
  let compared = 0;
  for (const packet of packets) {
    const frame = generate(packet);
    const ours = decode(frame, 4);
    assert.not.instance(ours, Error);
    assert.equal({ ...(ours as Packet) }, { ...(parsedByMqttPacket(frame) as Packet) }, JSON.stringify(packet.clientId));
    compared++;
  }
  // Password without username (flag 0x40 alone), as mqtt-packet reads it too.
  const pwOnly = Buffer.from([0x10, 0x13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x42, 0, 10, 0, 1, 0x63, 0, 4, 0x70, 0x77, 0x21, 0x21]);
  assert.equal({ ...(decode(pwOnly, 4) as Packet) }, { ...(parsedByMqttPacket(pwOnly) as Packet) });
  compared++;
  // Malformed ones stay malformed: trailing bytes, a short string, U+0000, ill-formed UTF-8, reserved bit.
  const good = generate({ ...base, clean: true, clientId: 'abc', username: 'u', password: Buffer.from('p') });
  const bad = [
    Buffer.concat([Buffer.from([0x10, good[1]! + 1]), good.subarray(2), Buffer.from([0])]),
    Buffer.from([0x10, 0x0d, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 10, 0, 9, 0x61]),
    Buffer.from([0x10, 0x0f, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 10, 0, 3, 0x61, 0x00, 0x62]),
    Buffer.from([0x10, 0x0e, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 10, 0, 2, 0xc3, 0x28]),
    Buffer.from([0x10, 0x0f, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x03, 0, 10, 0, 3, 0x61, 0x62, 0x63]),
  ];
  for (const frame of bad) {
    assert.instance(decode(frame, 4), Error, frame.toString('hex'));
    compared++;
  }
  // Still decoded correctly after the malformed ones.
  assert.is((decode(good, 4) as { clientId: string }).clientId, 'abc');
  console.log(`connect frames compared with mqtt-packet: ${compared}`);
});

test.run();
