// Fault test: the application's endpoint goes away while devices publish at QoS 1 on Kafka. Within
// the push Trigger's retry budget (knative/templates/app-trigger.yaml: 5 retries, exponential,
// PT0.5S, i.e. waits of 1, 2, 4, 8, 16 s) every event is delivered once the endpoint is back, none
// lost, none dead-lettered. Beyond the budget each event goes to the dead-letter sink (the
// `mooring-dead-letter` topic in single-host mode): counted there, not silently lost. That second
// case compresses the backoff waits 20-fold (the bus's injectable sleep): same attempts, less time.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { realSleep, type Sleep } from '../../connectors/knative/delivery.ts';
import { KafkaEventBus } from '../../connectors/kafka/bus.ts';
import { DEAD_LETTER_TOPIC } from '../../connectors/kafka/sink.ts';
import { ensureKafka, uniqueName } from '../helpers/kafka.ts';
import {
  AppSink, printCounts, sleep, tally, testLogger, TestDevice, waitUntil, writeRegistry,
} from '../helpers/faults.ts';

let dir: string;
const cleanups: Array<() => Promise<void>> = [];

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-sink-outage-'));
});

test.after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** Mooring on the shared Kafka with a topic and consumer groups no other test uses. */
async function start(app: string, sink: AppSink, deviceNames: string[], sleepFn: Sleep = realSleep): Promise<{ mooring: Mooring; devices: TestDevice[] }> {
  const kafka = await ensureKafka();
  const registryPath = join(dir, `${app}.yaml`);
  writeRegistry(registryPath, [{ name: app, url: sink.url }], deviceNames.map((name) => ({ app, name, password: 'secret' })));
  const prefix = uniqueName(app);
  const logger = testLogger();
  const bus = new KafkaEventBus({
    brokers: kafka.brokers, topic: `${prefix}-broker`, groupId: (t) => `${prefix}-${t.name}`, sleep: sleepFn, logger,
  });
  const config = configFromEnv({}, {
    registryPath, dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, demoSinkPort: 0,
    kafkaBrokers: kafka.brokers,
  });
  const mooring = await startMooring(config, { logger, bus });
  const url = `mqtt://127.0.0.1:${mooring.mqtt.mqtt!.port}`;
  const devices = deviceNames.map((name, i) => new TestDevice({ url, app, device: name, password: 'secret', version: i % 2 === 0 ? 5 : 4 }));
  cleanups.push(async () => {
    await Promise.all(devices.map((d) => d.close()));
    await mooring.close();
  });
  return { mooring, devices };
}

test('the application down within the retry budget: every event is delivered once it is back, none lost or dead-lettered', async () => {
  const sink = new AppSink();
  await sink.up();
  cleanups.push(() => sink.down());
  const TOTAL = 40;
  const { mooring, devices } = await start('sinkdown', sink, ['d1', 'd2', 'd3']);
  const deadline = Date.now() + 60_000;
  const runs = devices.map((d) => d.run(TOTAL, 50, deadline));
  await waitUntil(() => sink.delivered.size >= 10, 30_000);
  // Connection refused for 3 s, then 503 for 3 s: both retried.
  await sink.down();
  await sleep(3000);
  sink.mode = 'unavailable';
  await sink.up();
  await sleep(3000);
  const acknowledgedWhileDown = devices.reduce((n, d) => n + d.acked.size, 0);
  const backlog = acknowledgedWhileDown - sink.delivered.size;
  sink.mode = 'ok';
  await Promise.all(runs);
  await Promise.all(devices.map((d) => d.complete(TOTAL, Date.now() + 30_000)));
  const all = devices.length * TOTAL;
  await waitUntil(() => sink.delivered.size >= all, 60_000, 100);
  await sleep(500);
  const deadLetters = mooring.deadLetters.events.filter((e) => e.extensions.application === 'sinkdown').length;
  const counts = tally(devices, TOTAL, sink.delivered);
  printCounts('sink-outage', { ...counts, backlog, sink503: sink.refused, deadLetters });
  assert.is(counts.acknowledged, all);
  assert.ok(backlog > 0, 'events were waiting for the endpoint when it came back');
  assert.is(deadLetters, 0, 'within the retry budget nothing is dead-lettered');
  assert.is(counts.lost, 0);
  assert.is(counts.delivered, all);
});

test('the application down beyond the retry budget: every event is dead-lettered to the mooring-dead-letter topic, none silently lost', async () => {
  const sink = new AppSink();
  sink.mode = 'unavailable';
  await sink.up();
  cleanups.push(() => sink.down());
  const TOTAL = 10;
  const compressed: Sleep = (ms, signal) => realSleep(ms / 20, signal);
  const kafka = await ensureKafka();
  // Read the dead-letter topic from the beginning, keeping only this run's application's records.
  const reader = new Kafka({ clientId: 'dead-letter-reader', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  const deadInKafka = new Map<string, number>();
  let wrongCode = 0;
  let deadLetterRecords = 0;
  // An application name of this run only: the dead-letter topic is shared with earlier runs.
  const app = uniqueName('deadend');
  const { mooring, devices } = await start(app, sink, ['d1', 'd2'], compressed);
  // The topic exists once Mooring wrote a dead letter; create it first so the reader can join.
  await (mooring.bus as KafkaEventBus).ensureTopic(DEAD_LETTER_TOPIC);
  const consumer = reader.consumer({ groupId: uniqueName('dead-reader'), sessionTimeout: 10_000 });
  cleanups.push(async () => { await consumer.disconnect(); });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
  consumer.on(consumer.events.CRASH, (e) => console.log(`[sink-beyond-budget] dead-letter reader crashed: ${e.payload.error?.message}`));
  await consumer.connect();
  await consumer.subscribe({ topics: [DEAD_LETTER_TOPIC], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const h = (n: string) => message.headers?.[n]?.toString();
      if (h('ce_application') !== app) return;
      deadLetterRecords++;
      if (h('ce_type') !== 'io.drogue.event.v1') return; // the connection events are dead letters too
      const m = JSON.parse(message.value?.toString() ?? '{}') as { d?: string; n?: number };
      const key = `${m.d}/${m.n}`;
      deadInKafka.set(key, (deadInKafka.get(key) ?? 0) + 1);
      if (h('ce_knativeerrorcode') !== '503') wrongCode++;
    },
  });
  assert.ok(await waitUntil(() => joined, 30_000), 'the dead-letter reader joined its group');
  const deadline = Date.now() + 60_000;
  await Promise.all(devices.map((d) => d.run(TOTAL, 20, deadline)));
  await Promise.all(devices.map((d) => d.complete(TOTAL, Date.now() + 30_000)));
  const all = devices.length * TOTAL;
  await waitUntil(() => deadInKafka.size >= all, 90_000, 100);
  const counts = tally(devices, TOTAL, sink.delivered);
  const deadLettered = deadInKafka.size;
  const recorded = mooring.deadLetters.events.filter((e) => e.extensions.application === app).length;
  let lost = 0;
  for (const d of devices) for (const seq of d.acked.keys()) if (!deadInKafka.has(`${d.name}/${seq}`) && !sink.delivered.has(`${d.name}/${seq}`)) lost++;
  printCounts('sink-beyond-budget', { ...counts, lost, deadLettered, deadLetterRecords, recorded, sink503: sink.refused });
  assert.is(counts.acknowledged, all);
  assert.is(counts.delivered, 0, 'the endpoint never answered 2xx');
  assert.is(deadLettered, all, 'every acknowledged event is in the dead-letter topic');
  assert.is(wrongCode, 0, 'each dead letter says the endpoint answered 503');
  assert.is(sink.refused, deadLetterRecords * 6, 'each event: the first attempt and 5 retries, then the dead letter');
  assert.is(lost, 0);
});

test.run();
