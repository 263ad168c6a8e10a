// Fault test: the Mooring process (`node --import tsx cli/main.ts`, single-host mode on a Kafka of
// the test's own) is killed with SIGKILL while devices publish at QoS 1, and started again.
// Nothing that was PUBACKed is lost: it was in Kafka before the PUBACK, and every Trigger commits
// an offset only after the event's outcome was final, so the restarted process picks up where the
// killed one had committed (duplicates allowed and counted). Devices re-publish what was not
// acknowledged when the connection broke.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOwnKafka, type OwnKafka } from '../helpers/kafka.ts';
import {
  AppSink, freePort, MooringProcess, printCounts, singleHostEnv, sleep, tally, TestDevice, waitUntil, writeRegistry,
} from '../helpers/faults.ts';

const APP = 'crash';
const TOTAL = 120;

let dir: string;
let kafka: OwnKafka | undefined;
let mooring: MooringProcess | undefined;
const sink = new AppSink();
const devices: TestDevice[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-kafka-crash-'));
  kafka = await startOwnKafka('crash');
  await sink.up();
  const names = ['v5-a', 'v5-b', 'v3-a', 'v3-b'];
  const registryPath = join(dir, 'registry.yaml');
  writeRegistry(registryPath, [{ name: APP, url: sink.url }], names.map((name) => ({ app: APP, name, password: 'secret' })));
  const mqttPort = await freePort();
  mooring = new MooringProcess(
    singleHostEnv({ brokers: kafka.brokers, registryPath, dataDir: dir, mqttPort }),
    join(dir, 'mooring.log'),
  );
  await mooring.start();
  for (const name of names) {
    devices.push(new TestDevice({
      url: `mqtt://127.0.0.1:${mqttPort}`, app: APP, device: name, password: 'secret', version: name.startsWith('v5') ? 5 : 4,
    }));
  }
});

test.after(async () => {
  await Promise.all(devices.map((d) => d.close()));
  await mooring?.stop();
  await sink.down();
  await kafka?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('Mooring killed (SIGKILL) mid-stream and restarted: nothing PUBACKed is lost', async () => {
  const deadline = Date.now() + 100_000;
  const runs = devices.map((d) => d.run(TOTAL, 30, deadline));
  await waitUntil(() => devices.every((d) => d.acked.size >= 30), 30_000);
  const ackedAtKill = devices.reduce((n, d) => n + d.acked.size, 0);
  const deliveredAtKill = sink.delivered.size;
  await mooring!.kill();
  await sleep(1000);
  await mooring!.start();
  await Promise.all(runs);
  await Promise.all(devices.map((d) => d.complete(TOTAL, Date.now() + 40_000)));
  const all = devices.length * TOTAL;
  await waitUntil(() => sink.delivered.size >= all, 60_000, 100);
  await sleep(1000);
  const counts = tally(devices, TOTAL, sink.delivered);
  const reconnects = devices.reduce((n, d) => n + d.connections - 1, 0);
  printCounts('mooring-sigkill', { ...counts, ackedAtKill, deliveredAtKill, reconnects, starts: mooring!.starts });
  if (counts.lost > 0) console.log(readFileSync(join(dir, 'mooring.log'), 'utf8').slice(-4000));
  assert.ok(ackedAtKill < all, 'the kill happened mid-stream');
  assert.ok(reconnects >= devices.length, 'every device lost its connection and came back');
  assert.is(counts.acknowledged, all);
  assert.is(counts.lost, 0, 'every acknowledged message reached the application');
  assert.is(counts.delivered, all);
});

test.run();
