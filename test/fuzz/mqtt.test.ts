// Fuzzing the MQTT gateway (test/fuzz/mqtt-fuzz.ts): at least 100,000 mutated MQTT 3.1.1 and 5
// packets over many connections while a control client publishes QoS 1 throughout. Nothing may
// crash, every malformed packet closes its connection, every answer is well-formed, no control
// message is lost, and memory stays bounded. Longer by hand: `npm run fuzz -- --packets 1000000`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runMqttFuzz, summary } from './mqtt-fuzz.ts';

test('100,000 mutated MQTT packets: crashes=0, violations=0, control lost=0, RSS bounded', async () => {
  const r = await runMqttFuzz({ packets: 100_000, seed: 14 });
  console.log(summary(r));
  assert.ok(r.packets >= 100_000);
  assert.ok(r.connections > 1000, `${r.connections} connections`);
  assert.ok(r.answered > 10_000 && r.closedByServer > 1000, 'both served and refused packets');
  assert.is(r.crashes, 0, 'no internal failure');
  assert.is(r.violations, 0, r.examples.join('\n'));
  assert.ok(r.control.sent > 0);
  assert.is(r.control.lost, 0, 'every control QoS 1 message reached the application');
  // Bounded: once the connections are gone and garbage is collected, the live heap is back near
  // where it started (the recording sink keeps each control event, about 1 KiB apiece); RSS, which
  // the allocator does not give back at once, stays within a generous bound.
  assert.ok(r.heapMiB.after - r.heapMiB.before < 64, `heap grew from ${r.heapMiB.before} to ${r.heapMiB.after} MiB`);
  assert.ok(r.rssMiB.after - r.rssMiB.before < 400, `RSS grew from ${r.rssMiB.before} to ${r.rssMiB.after} MiB`);
});

test.run();
