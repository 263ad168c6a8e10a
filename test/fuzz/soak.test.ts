// The short soak (test/fuzz/soak.ts): 45 s of MQTT connects and disconnects, QoS 1 and QoS 0
// publishes, HTTP publishes and commands against one Mooring. Nothing may be lost, every command
// is answered and reaches its device; the series (RSS, live heap, event-loop lag) is printed, not
// asserted (timings are the machine's). Longer by hand: `npm run soak -- --minutes 10`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSoak, soakSummary } from './soak.ts';

test('45 s soak: lost=0, every command answered and delivered, no internal failure', async () => {
  const r = await runSoak({ seconds: 45, intervalSeconds: 5, onInterval: (line) => console.log(line) });
  console.log(soakSummary(r));
  assert.ok(r.connects > 10 && r.qos1.sent > 100 && r.qos0.sent > 100 && r.http.sent > 100 && r.commands.sent > 10, 'every kind of traffic ran');
  assert.is(r.connectFailures, 0);
  assert.is(r.crashes, 0, r.examples.join('\n'));
  assert.is(r.qos1.lost, 0, 'QoS 1 lost');
  assert.is(r.http.accepted, r.http.sent, 'every HTTP publish accepted');
  assert.is(r.http.lost, 0, 'HTTP lost');
  // QoS 0 from a local client into the in-process bus: nothing in between drops it either.
  assert.is(r.qos0.lost, 0, 'QoS 0 lost');
  assert.is(r.commands.answered, r.commands.sent, 'every command answered (202 delivered)');
  assert.is(r.commands.received, r.commands.answered, 'every command reached the device');
});

test.run();
