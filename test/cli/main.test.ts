// `npm start` as a newcomer runs it: the embedded mode comes up with the demo registry, prints a
// mosquitto_pub line and a curl line, and each exact line delivers an event that the demo application's sink
// prints. SIGTERM stops it cleanly.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild, type Child } from '../helpers/process.ts';

execFileSync('bash', ['scripts/ensure-mosquitto-clients.sh'], { stdio: 'inherit' });

let dir: string;
let child: Child | undefined;

test.before(() => { dir = mkdtempSync(join(tmpdir(), 'mooring-start-')); });
test.after(async () => {
  await child?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('npm start prints a mosquitto_pub line and a curl line that reach the demo application\'s sink; SIGTERM stops it', async () => {
  child = startChild('npm', ['start'], {
    MOORING_DATA_DIR: dir, MOORING_MQTT_PORT: '0', MOORING_MQTT_WS_PORT: '0', MOORING_HTTP_PORT: '0', MOORING_INGRESS_PORT: '0', MOORING_API_PORT: '0',
    MOORING_DEMO_SINK_PORT: '0', MOORING_LOG_LEVEL: 'warn',
  });
  const [line] = await child.waitFor(/mosquitto_pub .*$/m, 60_000);
  assert.match(line, /-u 'demo-device@demo-app' -P demo-secret/);
  // Run the printed line as a user pastes it into a shell.
  execFileSync('bash', ['-c', line], { timeout: 10_000 });
  await child.waitFor(/\[demo-app sink\] io\.drogue\.event\.v1 demo-app\/demo-device channel=temperature content-type=application\/json \{"temp":21\.5\}/);
  assert.match(child.output(), /MQTT +tcp:\/\/localhost:\d+/);
  // The printed curl line: the HTTP endpoint answers 202 only after the bus took the event.
  const [curl] = await child.waitFor(/curl -u 'demo-device@demo-app:demo-secret' .*$/m);
  const status = execFileSync('bash', ['-c', `${curl} -s -o /dev/null -w '%{http_code}'`], { timeout: 10_000 }).toString();
  assert.is(status, '202');
  await child.waitFor(/\[demo-app sink\] io\.drogue\.event\.v1 demo-app\/demo-device channel=temperature content-type=application\/json \{"temp":22\.5\}/);
  await child.stop('SIGTERM'); // npm itself dies of the signal; Mooring must shut down cleanly
  assert.match(child.output(), /SIGTERM: stopping Mooring/);
  assert.not.match(child.output(), /Error|error while closing/);
});

test.run();
