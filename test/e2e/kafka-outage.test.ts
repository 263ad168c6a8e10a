// Fault test: Kafka stops for a few seconds and comes back while devices publish at QoS 1 (MQTT 5
// and 3.1.1, MQTT.js). Nothing acknowledged is lost: every PUBACKed message reaches the
// application at least once; no publish written while Kafka is down is PUBACKed before it is back
// (the gateway answers 0x80 in MQTT 5 or closes a 3.1.1 connection when the bus cannot take it);
// the devices re-publish what was not acknowledged until every message is acknowledged and
// delivered. An HTTP device posts beside them: nothing answered 202 is lost either, and no request
// made while Kafka is down is answered 202 before it is back. The test stops a broker of its own
// (the suite's shared one stays up).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { KafkaEventBus } from '../../connectors/kafka/bus.ts';
import { startOwnKafka, type OwnKafka } from '../helpers/kafka.ts';
import {
  AppSink, printCounts, sleep, tally, testLogger, TestDevice, waitUntil, writeRegistry,
} from '../helpers/faults.ts';
import { HttpTestDevice } from '../helpers/http-device.ts';

const APP = 'outage';
const TOTAL = 100;
const INTERVAL_MS = 40;
const OUTAGE_MS = 5000;

let dir: string;
let kafka: OwnKafka | undefined;
let mooring: Mooring | undefined;
const sink = new AppSink();
const devices: TestDevice[] = [];
let httpDevice: HttpTestDevice;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-kafka-outage-'));
  kafka = await startOwnKafka('outage');
  await sink.up();
  const names = ['v5-a', 'v5-b', 'v3-a', 'v3-b'];
  const registryPath = join(dir, 'registry.yaml');
  writeRegistry(registryPath, [{ name: APP, url: sink.url }], [...names, 'http-a'].map((name) => ({ app: APP, name, password: 'secret' })));
  const logger = testLogger();
  // A publish Kafka cannot take within 3 s is refused (the default is 10 s): the outage then
  // produces refusals the devices must answer by re-publishing.
  const bus = new KafkaEventBus({ brokers: kafka.brokers, namespace: 'default', broker: 'mooring', publishTimeoutMs: 3000, logger });
  const config = configFromEnv({}, {
    registryPath, dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, demoSinkPort: 0,
    kafkaBrokers: kafka.brokers,
  });
  mooring = await startMooring(config, { logger, bus });
  const url = `mqtt://127.0.0.1:${mooring.mqtt.mqtt!.port}`;
  for (const name of names) {
    devices.push(new TestDevice({ url, app: APP, device: name, password: 'secret', version: name.startsWith('v5') ? 5 : 4 }));
  }
  httpDevice = new HttpTestDevice({ url: `http://127.0.0.1:${mooring.httpAddresses.http!.port}`, app: APP, device: 'http-a', password: 'secret' });
});

test.after(async () => {
  await Promise.all(devices.map((d) => d.close()));
  httpDevice?.close();
  await mooring?.close();
  await sink.down();
  await kafka?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('Kafka stopped and restarted while devices publish at QoS 1: every PUBACKed message is delivered, none PUBACKed while Kafka is down', async () => {
  const deadline = Date.now() + 90_000;
  const runs = [...devices.map((d) => d.run(TOTAL, INTERVAL_MS, deadline)), httpDevice.run(TOTAL, INTERVAL_MS, deadline)];
  // Let a part go through, then take Kafka away.
  await waitUntil(() => devices.every((d) => d.acked.size >= 10) && httpDevice.acked.size >= 10, 30_000);
  await kafka!.stop();
  const outageStart = Date.now();
  await sleep(OUTAGE_MS);
  const outageEnd = Date.now();
  await kafka!.restart();
  await Promise.all(runs);
  await Promise.all([...devices.map((d) => d.complete(TOTAL, Date.now() + 60_000)), httpDevice.complete(TOTAL, Date.now() + 60_000)]);
  const all = (devices.length + 1) * TOTAL;
  await waitUntil(() => sink.delivered.size >= all, 60_000, 100);
  await sleep(1000); // room for late duplicates to be counted

  let sentDuringOutage = 0;
  let ackedDuringOutage = 0;
  for (const d of [...devices, httpDevice]) {
    sentDuringOutage += d.sends.filter((t) => t >= outageStart && t < outageEnd).length;
    // Written after Kafka was gone and acknowledged before it was back: must not exist.
    ackedDuringOutage += d.acks.filter((a) => a.sentAt >= outageStart && a.ackAt < outageEnd).length;
  }
  const counts = tally([...devices, httpDevice], TOTAL, sink.delivered);
  const http = tally([httpDevice], TOTAL, new Map([...sink.delivered].filter(([k]) => k.startsWith('http-a/'))));
  const reconnects = devices.reduce((n, d) => n + d.connections - 1, 0);
  printCounts('kafka-outage', { ...counts, sentDuringOutage, ackedDuringOutage, reconnects, sink503: sink.refused });
  printCounts('kafka-outage-http', { ...http, http503: httpDevice.refusals });

  assert.is(ackedDuringOutage, 0, 'no publish written while Kafka was down is PUBACKed before it is back');
  assert.ok(sentDuringOutage > 0, 'devices did publish during the outage');
  assert.is(counts.acknowledged, all, 're-publishing completed the set: every message acknowledged');
  assert.is(counts.lost, 0, 'every acknowledged message reached the application');
  assert.is(http.lost, 0, 'every message answered 202 reached the application');
  assert.is(counts.delivered, all);
});

test.run();
