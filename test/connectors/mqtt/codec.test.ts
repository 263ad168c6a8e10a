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

test.run();
