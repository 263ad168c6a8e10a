// Valid MQTT 3.1.1 and 5 packets of every type (encoded by mqtt-packet), the mutations the fuzzer
// applies to them, and the oracle: what mqtt-packet itself makes of the bytes the server will read.
// Everything is driven by a seeded PRNG so a run is reproducible from its seed.

import { generate, parser, type Packet } from 'mqtt-packet';

/** mulberry32: small, fast, good enough to drive mutations. */
export class Rng {
  constructor(private s: number) {}
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  bytes(n: number): Buffer { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = this.int(256); return b; }
}

export type Version = 4 | 5;

const TOPICS = ['temp', 'a/b', 'sensors/x/y', 'temp/other', 'command/reply/1', 'température', 'x'];
const FILTERS = ['command/inbox/#', 'command/inbox//#', 'command/inbox/+/#', 'temp/#', '#', '$share/g/command/inbox/#', 'a/+/b'];

function v5Props(r: Rng): Record<string, unknown> | undefined {
  if (r.int(2) === 0) return undefined;
  const p: Record<string, unknown> = {};
  if (r.int(2)) p.contentType = r.pick(['text/plain', 'application/json', 'application/octet-stream']);
  if (r.int(3) === 0) p.payloadFormatIndicator = r.int(2) === 1;
  if (r.int(3) === 0) p.userProperties = { k: 'v', n: ['1', '2'] };
  if (r.int(4) === 0) p.topicAlias = 1 + r.int(5);
  if (r.int(4) === 0) p.responseTopic = 'resp/x';
  if (r.int(4) === 0) p.correlationData = r.bytes(4);
  if (r.int(4) === 0) p.messageExpiryInterval = r.int(1000);
  return p;
}

/** A valid packet of a random type, encoded; `device` is the lane's CONNECT user. */
export function validPacket(r: Rng, v: Version, device: string): Buffer {
  const id = 1 + r.int(65535);
  const roll = r.int(100);
  let p: Packet;
  if (roll < 40) {
    const qos = r.int(3) as 0 | 1 | 2;
    p = { cmd: 'publish', topic: r.pick(TOPICS), payload: r.bytes(r.int(64)), qos, dup: false, retain: r.int(20) === 0, ...(qos > 0 ? { messageId: id } : {}) };
    if (v === 5) { const props = v5Props(r); if (props) p.properties = props; }
  } else if (roll < 50) {
    p = { cmd: 'subscribe', messageId: id, subscriptions: [{ topic: r.pick(FILTERS), qos: r.int(3) as 0 | 1 | 2 }] };
    if (r.int(2)) p.subscriptions.push({ topic: r.pick(FILTERS), qos: 0 });
  } else if (roll < 58) {
    p = { cmd: 'unsubscribe', messageId: id, unsubscriptions: [r.pick(FILTERS)] };
  } else if (roll < 70) {
    p = { cmd: r.pick(['puback', 'pubrec', 'pubrel', 'pubcomp'] as const), messageId: id } as Packet;
    if (v === 5 && r.int(2)) (p as { reasonCode?: number }).reasonCode = r.pick([0, 0x10, 0x80, 0x92]) & (p.cmd === 'pubrel' || p.cmd === 'pubcomp' ? 0x92 : 0xff);
  } else if (roll < 80) {
    p = { cmd: 'pingreq' };
  } else if (roll < 84) {
    p = connectPacket(r, v, device);
  } else if (roll < 87) {
    p = v === 5 ? { cmd: 'disconnect', reasonCode: r.pick([0, 4]) } : { cmd: 'disconnect' };
  } else if (roll < 96) {
    p = r.pick<Packet>([
      { cmd: 'connack', sessionPresent: false, ...(v === 5 ? { reasonCode: 0 } : { returnCode: 0 }) },
      { cmd: 'suback', messageId: id, granted: [0] },
      { cmd: 'unsuback', messageId: id, ...(v === 5 ? { granted: [0] } : {}) } as Packet,
      { cmd: 'pingresp' },
    ]);
  } else {
    p = v === 5 ? { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'x' } } as Packet : { cmd: 'pingreq' };
  }
  return generate(p, { protocolVersion: v });
}

export function connectPacket(r: Rng, v: Version, device: string): Packet {
  const p: Packet = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: v, clean: true, clientId: `c${r.int(1000)}`, keepalive: 0, username: device, password: Buffer.from('pw') };
  if (r.int(3) === 0) p.will = { topic: r.pick(TOPICS), payload: r.bytes(8), qos: r.int(3) as 0 | 1 | 2, retain: false };
  if (v === 5 && r.int(2)) p.properties = { receiveMaximum: 10, maximumPacketSize: 65536, topicAliasMaximum: 5, userProperties: { a: 'b' } };
  return p;
}

// ---- mutations ----------------------------------------------------------------------------------

function encodeLength(n: number): number[] {
  const out: number[] = [];
  do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; out.push(b); } while (n > 0 && out.length < 4);
  return out;
}

/** The fixed header's byte count and the body of a well-formed frame. */
function split(b: Buffer): { first: number; body: Buffer } {
  let i = 1;
  while (i < b.length && (b[i]! & 0x80) !== 0) i++;
  return { first: b[0]!, body: b.subarray(i + 1) };
}

function frame(first: number, body: Buffer, length = body.length): Buffer {
  return Buffer.concat([Buffer.from([first, ...encodeLength(length)]), body]);
}

/** Overwrites bytes inside an ASCII run (a string field, most likely) of the body. */
function intoString(r: Rng, b: Buffer, bytes: number[]): Buffer {
  const { first, body } = split(b);
  const runs: number[] = [];
  for (let i = 0; i + 1 < body.length; i++) if (body[i]! >= 0x61 && body[i]! <= 0x7a && body[i + 1]! >= 0x61 && body[i + 1]! <= 0x7a) runs.push(i);
  if (runs.length === 0) return b;
  const out = Buffer.from(body);
  const at = r.pick(runs);
  for (let k = 0; k < bytes.length && at + k < out.length; k++) out[at + k] = bytes[k]!;
  return frame(first, out);
}

const BAD_UTF8 = [[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];

/** v5 property blocks that break a rule: duplicate, unknown, not allowed, truncated, oversized. */
const BAD_PROPS: number[][] = [
  [0x03, 0, 1, 0x61, 0x03, 0, 1, 0x62], // Content Type twice
  [0x7f, 0, 0], // unknown identifier
  [0x11, 0, 0, 0, 1], // Session Expiry Interval: CONNECT/DISCONNECT only
  [0x0b, 1], // Subscription Identifier from a client
  [0x02, 0, 0], // Message Expiry Interval cut short
  [0x23, 0, 0], // Topic Alias 0
  [0x26, 0, 1, 0x61], // User Property without its value
  [0x01, 1, 0x01, 1], // Payload Format Indicator twice
];

/** A v5 PUBLISH (or SUBSCRIBE) with a property block of `props`, its length stated as `claimed`. */
function withProps(r: Rng, props: number[], claimed = props.length): Buffer {
  const topic = Buffer.from(r.pick(TOPICS));
  if (r.int(4) === 0) {
    const body = Buffer.concat([Buffer.from([0, 7, ...encodeLength(claimed), ...props, 0, 15]), Buffer.from('command/inbox/#'), Buffer.from([0])]);
    return frame(0x82, body);
  }
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from([0, 1, ...encodeLength(claimed), ...props]), Buffer.from('x')]);
  return frame(0x32, body);
}

export const MUTATIONS = {
  bitflip: (r: Rng, b: Buffer) => { const o = Buffer.from(b); for (let n = 1 + r.int(4); n > 0; n--) o[r.int(o.length)]! ^= 1 << r.int(8); return o; },
  reservedFlags: (r: Rng, b: Buffer) => { const o = Buffer.from(b); o[0] = (o[0]! & 0xf0) | r.int(16); return o; },
  qos3: (_r: Rng, b: Buffer) => { const o = Buffer.from(b); o[0] = o[0]! | 0x06; return o; },
  truncate: (r: Rng, b: Buffer) => { const { first, body } = split(b); return frame(first, body.subarray(0, r.int(body.length + 1))); },
  cut: (r: Rng, b: Buffer) => b.subarray(0, 1 + r.int(b.length)),
  wrongLength: (r: Rng, b: Buffer) => { const { first, body } = split(b); return frame(first, body, Math.max(0, body.length + r.pick([-3, -2, -1, 1, 2, 3, 200, 70000]))); },
  longLength: (_r: Rng, b: Buffer) => Buffer.concat([Buffer.from([b[0]!, 0xff, 0xff, 0xff, 0xff, 0x7f]), split(b).body]),
  invalidUtf8: (r: Rng, b: Buffer) => intoString(r, b, r.pick(BAD_UTF8)),
  nul: (r: Rng, b: Buffer) => intoString(r, b, [0]),
  wildcard: (r: Rng, b: Buffer) => intoString(r, b, [r.pick([0x2b, 0x23])]),
  zeroId: (_r: Rng, b: Buffer) => {
    const { first, body } = split(b);
    const type = first >> 4;
    const o = Buffer.from(body);
    const at = type === 3 ? 2 + ((o[0]! << 8) | o[1]!) : 0;
    if ((type === 3 && (first & 0x06) === 0) || at + 1 >= o.length) return b;
    o[at] = 0; o[at + 1] = 0;
    return frame(first, o);
  },
  noFilters: (r: Rng, _b: Buffer, v: Version) => frame(r.pick([0x82, 0xa2]), Buffer.from(v === 5 ? [0, 9, 0] : [0, 9])),
  badProps: (r: Rng, b: Buffer, v: Version) => (v === 5 ? withProps(r, r.pick(BAD_PROPS)) : b),
  oversizedProps: (r: Rng, b: Buffer, v: Version) => (v === 5 ? withProps(r, [0x03, 0, 1, 0x61], r.pick([50, 16383, 268435455])) : b),
  garbage: (r: Rng) => Buffer.concat([Buffer.from([r.int(256), 1 + r.int(60)]), r.bytes(1 + r.int(60))]),
  splice: (r: Rng, b: Buffer, v: Version, device: string) => {
    const other = validPacket(r, v, device);
    return Buffer.concat([b.subarray(0, 1 + r.int(b.length)), other.subarray(r.int(other.length))]);
  },
} satisfies Record<string, (r: Rng, b: Buffer, v: Version, device: string) => Buffer>;

export type MutationName = keyof typeof MUTATIONS;
const NAMES = Object.keys(MUTATIONS) as MutationName[];

export function mutate(r: Rng, packet: Buffer, v: Version, device: string): { name: MutationName; bytes: Buffer } {
  const name = r.pick(NAMES);
  return { name, bytes: MUTATIONS[name](r, packet, v, device) };
}

// ---- oracle -------------------------------------------------------------------------------------

export type Verdict = 'malformed' | 'incomplete' | 'parsed';

/**
 * What a server must make of `bytes` followed by a PINGREQ on a connection of version `v`, judged
 * by mqtt-packet: the stream is cut into frames by their Remaining Length (a frame not complete
 * yet: 'incomplete', the server waits for the rest); each complete frame is parsed on its own;
 * an error, or a frame whose fields do not parse, is 'malformed' (the server MUST close); else
 * 'parsed', with the packets (the server may still refuse one on a rule mqtt-packet does not check).
 */
export function oracle(bytes: Buffer, v: Version): { verdict: Verdict; packets: Packet[] } {
  const stream = Buffer.concat([bytes, PINGREQ]);
  const packets: Packet[] = [];
  let version: number = v;
  for (let off = 0; off < stream.length;) {
    let length = 0;
    let i = off + 1;
    for (let mul = 1, n = 0; ; n++, i++, mul *= 128) {
      if (n === 4) return { verdict: 'malformed', packets };
      if (i >= stream.length) return { verdict: 'incomplete', packets };
      length += (stream[i]! & 0x7f) * mul;
      if ((stream[i]! & 0x80) === 0) break;
    }
    const end = i + 1 + length;
    if (end > stream.length) return { verdict: 'incomplete', packets };
    const p = parser({ protocolVersion: version });
    let got: Packet | undefined;
    let failed = false;
    p.on('packet', (x: Packet) => { got ??= x; });
    p.on('error', () => { failed = true; });
    p.parse(stream.subarray(off, end));
    if (failed || got === undefined) return { verdict: 'malformed', packets };
    if (got.cmd === 'connect' && packets.length === 0) version = got.protocolVersion === 5 ? 5 : 4;
    packets.push(got);
    off = end;
  }
  return { verdict: 'parsed', packets };
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);
