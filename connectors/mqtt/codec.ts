// The wire layer: frame boundaries, decoding and encoding. A frame's size is known from its fixed
// header (MQTT §2.1.4, Remaining Length), so the session checks it against the Maximum Packet
// Size before buffering a single byte of the body. Complete frames are decoded by ONE shared
// mqtt-packet parser (parsing is synchronous, so sharing it costs nothing and saves a parser and
// its buffer list per connection); the small acknowledgements are encoded directly.

import { generate, parser, writeToStream, type Packet } from 'mqtt-packet';
import { frameViolation, stringViolation } from './validate.ts';

// mqtt-packet otherwise fills a cache of 65,536 two-byte buffers (about 6.5 MB of heap) on the
// first packet it encodes; Mooring encodes only CONNACK, SUBACK and the like with it (the hot
// acknowledgements are encodeAck below), so numbers are encoded as needed.
writeToStream.cacheNumbers = false;

/** MQTT control packet types (§2.1.2), the high nibble of the first byte. */
export const PacketType = {
  connect: 1, connack: 2, publish: 3, puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7,
  subscribe: 8, suback: 9, unsubscribe: 10, unsuback: 11, pingreq: 12, pingresp: 13,
  disconnect: 14, auth: 15,
} as const;

/**
 * Total size of the frame starting at `off` (fixed header + Remaining Length), 0 when the header
 * is not complete yet, -1 when the Remaining Length takes more than four bytes (§1.5.5: malformed).
 */
export function frameLength(buf: Uint8Array, off: number): number {
  let multiplier = 1;
  let value = 0;
  let i = off + 1;
  for (let n = 0; n < 4; n++, i++) {
    if (i >= buf.length) return 0;
    const b = buf[i]!;
    value += (b & 0x7f) * multiplier;
    if ((b & 0x80) === 0) return value + (i - off + 1);
    multiplier *= 128;
  }
  return -1;
}

const shared = parser();
let decoded: Packet | undefined;
let decodeError: Error | undefined;
/** Bytes of the frame's body the parser read for the packet's fields (see frameViolation). */
let consumed = 0;
/** The first string of the frame that broke §1.5.3 / §1.5.4 (see stringViolation). */
let badString: string | undefined;

interface ParserInternals {
  _list: { length: number; slice(start: number, end: number): Buffer };
  _pos: number;
  packet: { length: number };
  _parseNum(): number;
  _parseString(): string | null;
  _resetState(): void;
  settings: object;
}
const internal = shared as unknown as ParserInternals;
shared.on('packet', (p: Packet) => { decoded = p; consumed = internal._pos; });
shared.on('error', (e: Error) => { decodeError = e; });
// mqtt-packet decodes strings leniently (ill-formed UTF-8 becomes U+FFFD, U+0000 passes): the
// shared parser reads them as it would, and every string's bytes are checked on the way.
internal._parseString = function parseString(this: ParserInternals): string | null {
  const length = this._parseNum();
  const end = length + this._pos;
  if (length === -1 || end > this._list.length || end > this.packet.length) return null;
  const bytes = this._list.slice(this._pos, end);
  this._pos = end;
  badString ??= stringViolation(bytes);
  return bytes.toString('utf8');
};
const V4 = Object.freeze({ protocolVersion: 4 });
const V5 = Object.freeze({ protocolVersion: 5 });

/** Decodes one complete frame; an Error when it is malformed. */
export function decode(frame: Buffer, protocolVersion: number): Packet | Error {
  // The commonest end of a connection, a bare DISCONNECT (flags 0, no body), as the parser reads it.
  if (frame.length === 2 && frame[0] === 0xe0 && frame[1] === 0) return bareDisconnect(protocolVersion);
  // The commonest start of one, a well-formed 3.1.1 CONNECT without a Will (see decodePlainConnect).
  if (frame[0] === 0x10) {
    const c = decodePlainConnect(frame);
    if (c !== undefined) return c;
  }
  decoded = undefined;
  decodeError = undefined;
  badString = undefined;
  // The parser keeps the settings of the last CONNECT it read; every frame states its own.
  internal.settings = protocolVersion === 5 ? V5 : V4;
  shared.parse(frame);
  const p = decoded;
  const e = decodeError;
  const bad = badString;
  decoded = undefined;
  decodeError = undefined;
  badString = undefined;
  if (e !== undefined) {
    reset();
    return e;
  }
  if (p === undefined) {
    reset();
    return new Error('incomplete packet');
  }
  const wrong = bad ?? frameViolation(p, consumed);
  return wrong === undefined ? p : new Error(wrong);
}

/** A UTF-8 string field of `frame` at `at` (length-prefixed), undefined when absent or not well-formed. */
function plainString(frame: Buffer, at: number, end: number): string | undefined {
  if (at + 2 > end) return undefined;
  const stop = at + 2 + ((frame[at]! << 8) | frame[at + 1]!);
  if (stop > end) return undefined;
  const bytes = frame.subarray(at + 2, stop);
  return stringViolation(bytes) === undefined ? bytes.toString('utf8') : undefined;
}

/**
 * A 3.1.1 CONNECT (protocol name MQTT, level 4) without a Will, whose fields are well-formed and
 * fill its Remaining Length exactly, decoded directly into the packet mqtt-packet makes of it (the
 * same fields in the same order); undefined for anything else, which then takes the parser and its
 * precise error. Every connect takes this path, so the parser's buffer list and state machine are
 * not paid per connection.
 */
function decodePlainConnect(frame: Buffer): Packet | undefined {
  const total = frameLength(frame, 0);
  if (total !== frame.length) return undefined;
  const start = frame[1]! & 0x80 ? (frame[2]! & 0x80 ? (frame[3]! & 0x80 ? 5 : 4) : 3) : 2;
  const end = frame.length;
  // Protocol name "MQTT" (00 04 4d 51 54 54), level 4, then the flags and Keep Alive.
  if (start + 10 > end || frame[start] !== 0 || frame[start + 1] !== 4 || frame[start + 2] !== 0x4d
    || frame[start + 3] !== 0x51 || frame[start + 4] !== 0x54 || frame[start + 5] !== 0x54 || frame[start + 6] !== 4) return undefined;
  const flags = frame[start + 7]!;
  // Reserved bit, Will flag, Will QoS and Will Retain all zero; otherwise the parser decides.
  if ((flags & 0x3d) !== 0) return undefined;
  const keepalive = (frame[start + 8]! << 8) | frame[start + 9]!;
  let at = start + 10;
  const clientId = plainString(frame, at, end);
  if (clientId === undefined) return undefined;
  at += 2 + ((frame[at]! << 8) | frame[at + 1]!);
  let username: string | undefined;
  if (flags & 0x80) {
    username = plainString(frame, at, end);
    if (username === undefined) return undefined;
    at += 2 + ((frame[at]! << 8) | frame[at + 1]!);
  }
  let password: Buffer | undefined;
  if (flags & 0x40) {
    if (at + 2 > end) return undefined;
    const stop = at + 2 + ((frame[at]! << 8) | frame[at + 1]!);
    if (stop > end) return undefined;
    // A copy: the frame may be a view of a larger read buffer that authentication should not pin.
    password = Buffer.from(frame.subarray(at + 2, stop));
    at = stop;
  }
  if (at !== end) return undefined;
  const p = {
    cmd: 'connect', retain: false, qos: 0, dup: false, length: end - start, topic: null, payload: null,
    protocolId: 'MQTT', protocolVersion: 4, clean: (flags & 0x02) !== 0, keepalive, clientId,
  } as Packet & { username?: string; password?: Buffer };
  if (username !== undefined) p.username = username;
  if (password !== undefined) p.password = password;
  return p;
}

/** What the parser makes of `e0 00`: v5 adds the implied reason code 0x00 (§3.14.2.1). */
function bareDisconnect(protocolVersion: number): Packet {
  const p = { cmd: 'disconnect', retain: false, qos: 0, dup: false, length: 0, topic: null, payload: null } as Packet & { reasonCode?: number };
  if (protocolVersion === 5) p.reasonCode = 0;
  return p;
}

/** After a failed parse: a clean state, including the read position _resetState leaves behind. */
function reset(): void {
  internal._resetState();
  internal._pos = 0;
}

/** Encodes any packet (CONNACK, SUBACK, DISCONNECT, command PUBLISH…) with mqtt-packet. */
export function encode(packet: Packet, protocolVersion: number): Buffer {
  return generate(packet, protocolVersion === 5 ? V5 : V4);
}

/**
 * PUBACK (0x40), PUBREC (0x50), PUBREL (0x62), PUBCOMP (0x70) with a packet identifier. v5 omits
 * the reason code when it is 0x00 and there are no properties (§3.4.2.1).
 */
export function encodeAck(firstByte: number, packetId: number, reasonCode: number, v5: boolean): Buffer {
  if (v5 && reasonCode !== 0) {
    const b = Buffer.allocUnsafe(5);
    b[0] = firstByte; b[1] = 3; b[2] = packetId >> 8; b[3] = packetId & 0xff; b[4] = reasonCode;
    return b;
  }
  const b = Buffer.allocUnsafe(4);
  b[0] = firstByte; b[1] = 2; b[2] = packetId >> 8; b[3] = packetId & 0xff;
  return b;
}

export const ACK = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

/** 3.1.1 CONNACK accepted, no session present (§3.2): the same four bytes for every connection. */
export const CONNACK_ACCEPTED_V4 = Buffer.from([0x20, 0x02, 0x00, 0x00]);

/** PINGRESP (§3.13): two bytes, the same for every connection. */
export const PINGRESP = Buffer.from([0xd0, 0x00]);
