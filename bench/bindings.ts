// Micro-benchmark of the CloudEvents bindings (events/bindings/) on a typical raw publish: the
// per-event cost of each encoder and decoder on the hot path. Prints a table; asserts nothing.
// Run: npx tsx bench/bindings.ts [iterations per round, default 200000]

import { performance } from 'node:perf_hooks';
import { publishEvent } from '../events/constructors.ts';
import { binaryHeaderLines, decodeHttp, encodeHttpBinary, encodeHttpStructured } from '../events/bindings/http.ts';
import { decodeKafka, encodeKafkaBinary } from '../events/bindings/kafka.ts';

const event = publishEvent({
  id: 'e1', time: '2026-01-01T00:00:00.000Z', application: 'app', sender: 'dev1', topic: 'telemetry/temp',
  payload: Buffer.from('{"temp":21.5}'), qos: 1, retain: false, payloadFormat: 1, endpoint: 'mqtt',
});
const http = encodeHttpBinary(event);
const structured = encodeHttpStructured(event);
const record = encodeKafkaBinary(event);
// kafkajs hands a consumer Buffers for the key and every header.
const received = {
  key: Buffer.from(record.key!), value: record.value,
  headers: Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, Buffer.from(v)])),
};

const cases: Array<[string, () => unknown]> = [
  ['http binary encode', () => encodeHttpBinary(event)],
  ['http header lines', () => binaryHeaderLines(event)],
  ['http binary decode', () => decodeHttp(http)],
  ['http structured encode', () => encodeHttpStructured(event)],
  ['http structured decode', () => decodeHttp(structured)],
  ['kafka binary encode', () => encodeKafkaBinary(event)],
  ['kafka binary decode', () => decodeKafka(received)],
];

const n = Number(process.argv[2] ?? 200_000);
const rounds = 5;
console.log(`| binding | median ns/event | best ns/event |  (${rounds} rounds of ${n})`);
console.log('|---|---:|---:|');
for (const [name, run] of cases) {
  for (let i = 0; i < 20_000; i++) run();
  const perEvent: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) run();
    perEvent.push(((performance.now() - t) * 1e6) / n);
  }
  perEvent.sort((a, b) => a - b);
  console.log(`| ${name} | ${perEvent[rounds >> 1]!.toFixed(0)} | ${perEvent[0]!.toFixed(0)} |`);
}
