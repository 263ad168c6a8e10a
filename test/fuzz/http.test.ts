// Fuzzing the HTTP device endpoint and the management API (test/fuzz/http-fuzz.ts): at least
// 10,000 mutated requests while a control client publishes QoS 1 throughout. Nothing may crash,
// every answer is well-formed HTTP with the JSON error shape on 4xx/5xx, no 5xx to bad input, no
// control message is lost, memory stays bounded. Longer by hand: `npm run fuzz -- --http-requests 200000`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { httpSummary, runHttpFuzz } from './http-fuzz.ts';
import { assertRunClean } from './harness.ts';

test('10,000 mutated HTTP requests: crashes=0, violations=0, control lost=0, memory bounded', async () => {
  const r = await runHttpFuzz({ requests: 10_000, seed: 14 });
  console.log(httpSummary(r));
  assert.ok(r.requests >= 10_000);
  const count = (lo: number, hi: number): number => Object.entries(r.statuses).filter(([s]) => Number(s) >= lo && Number(s) < hi).reduce((n, [, c]) => n + c, 0);
  assert.ok(count(200, 300) > 500 && count(400, 500) > 3000, 'both served and refused requests');
  assert.ok(Object.keys(r.mutations).length >= 30, 'every mutation applied');
  // The registry the API fuzzing fills stays small (a few names): the live heap is back near
  // where it started (measured: 21 → 28 MiB).
  assertRunClean(r, 24);
});

test.run();
