// The gateway's readiness follows the bus (issue 13): in single-host Kafka mode as `npm start`
// wires it, /health/readiness is 200 while Kafka answers, 503 while the broker is stopped (so a
// Service sends new devices to another instance), and 200 again once it is back; /metrics shows
// the same in `mooring_bus_reachable` and the push Trigger's consumer group in
// `mooring_bus_consumer_lag`. The broker is the test's own (startOwnKafka), stopped and restarted.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { startOwnKafka, type OwnKafka } from '../helpers/kafka.ts';
import { startRecordingApp, waitFor, type RecordingApp } from '../helpers/http-app.ts';
import { writeRegistry } from '../helpers/faults.ts';
import { samples } from '../connectors/metrics/samples.ts';

let dir: string;
let kafka: OwnKafka;
let sink: RecordingApp;
let mooring: Mooring;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-readiness-'));
  kafka = await startOwnKafka('readiness');
  sink = await startRecordingApp();
  writeRegistry(join(dir, 'registry.yaml'), [{ name: 'app1', url: sink.url }], [{ app: 'app1', name: 'd1', password: 'secret' }]);
  mooring = await startMooring(configFromEnv({}, {
    registryPath: join(dir, 'registry.yaml'), dataDir: dir, host: '127.0.0.1', kafkaBrokers: kafka.brokers,
    mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0, demoSinkPort: 0,
  }), { logger: silentLogger });
});

test.after(async () => {
  await mooring?.close();
  await sink?.close();
  await kafka?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('readiness is 503 while Kafka is stopped and 200 again after its restart', async () => {
  const base = mooring.ingress.url.replace(/\/$/, '');
  const readiness = () => fetch(`${base}/health/readiness`).then((r) => r.status);
  const scrape = async () => samples(await (await fetch(`${base}/metrics`)).text());
  const t0 = Date.now();
  await waitFor('readiness 200 with Kafka up', async () => (await readiness()) === 200, 30_000);
  const up = await scrape();
  const lagSeries = [...up.keys()].filter((k) => k.startsWith('mooring_bus_consumer_lag{'));
  console.log(`with Kafka up: reachable=${up.get('mooring_bus_reachable')} lag series: ${lagSeries.join(' ')}`);
  assert.is(up.get('mooring_bus_reachable'), 1);
  assert.ok(lagSeries.some((k) => k.includes('app1')), 'the push Trigger\'s consumer group has a lag series');

  await kafka.stop();
  const stoppedAt = Date.now();
  await waitFor('readiness 503 with Kafka stopped', async () => (await readiness()) === 503, 60_000);
  const notReadyAfter = Date.now() - stoppedAt;
  assert.is((await scrape()).get('mooring_bus_reachable'), 0);
  assert.is((await fetch(`${base}/health/liveness`)).status, 200, 'still alive: only not ready');

  await kafka.restart();
  const restartedAt = Date.now();
  await waitFor('readiness 200 after the restart', async () => (await readiness()) === 200, 60_000);
  console.log(`not ready ${notReadyAfter} ms after the stop, ready ${Date.now() - restartedAt} ms after the restart (test ${Date.now() - t0} ms)`);
  assert.is((await scrape()).get('mooring_bus_reachable'), 1);
});

test.run();
