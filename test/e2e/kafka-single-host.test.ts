// Single-host mode end to end, as a user runs it: `MOORING_KAFKA_BROKERS=… npm start` (the same
// `node --import tsx cli/main.ts`), a message from the real mosquitto_pub at QoS 1, through Kafka
// (normalize and content-type consumers) to the application's push endpoint. With
// MOORING_KAFKA_APP_TOPICS=1 the application's final stream is also in `events-<app>` (Drogue's
// name, hashed for a long one), read here by a plain kafkajs consumer: binary mode,
// key = partitionkey, exactly the push endpoint's events.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { applicationEventsTopic } from '../../connectors/kafka/topics.ts';
import { startOwnKafka, type OwnKafka } from '../helpers/kafka.ts';
import { AppSink, freePort, MooringProcess, singleHostEnv, waitUntil, writeRegistry } from '../helpers/faults.ts';

interface Record { topic: string; key: string; value: string; headers: { [name: string]: string } }

let dir: string;
let kafka: OwnKafka | undefined;
let mooring: MooringProcess | undefined;
let consumer: Consumer | undefined;
let mqttPort: number;
const sink = new AppSink();
const records: Record[] = [];
// The second name is a valid application name too long for `events-<app>` (63): Drogue's hashed form.
const LONG = 'app-with-a-rather-long-name-that-needs-the-hashed-topic-name';
const APPS = ['app1', LONG];

function mosquittoPub(user: string, topic: string, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-u', user, '-P', 'secret', '-q', '1', '-t', topic, '-m', message],
      { timeout: 15_000 }, (err, _out, stderr) => (err ? reject(new Error(`mosquitto_pub: ${err.message} ${stderr}`)) : resolve()));
  });
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-single-host-'));
  kafka = await startOwnKafka('single-host');
  await sink.up();
  const registryPath = join(dir, 'registry.yaml');
  writeRegistry(registryPath, APPS.map((name) => ({ name, url: sink.url })), APPS.map((app) => ({ app, name: 'dev1', password: 'secret' })));
  mqttPort = await freePort();
  mooring = new MooringProcess({
    ...singleHostEnv({ brokers: kafka.brokers, registryPath, dataDir: dir, mqttPort }),
    MOORING_KAFKA_APP_TOPICS: '1',
  }, join(dir, 'mooring.log'));
  const t0 = Date.now();
  await mooring.start().catch((e: unknown) => { console.error(String(e)); throw e; });
  console.log(`[single-host] Mooring started on Kafka in ${Date.now() - t0} ms`);
  const plain = new Kafka({ clientId: 'plain-app', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  // Mooring creates an application's topic with its first event; this reader comes first.
  const admin = plain.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: APPS.map((app) => ({ topic: applicationEventsTopic(app), numPartitions: 4 })) });
  await admin.disconnect();
  consumer = plain.consumer({ groupId: 'plain-app', sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topics: APPS.map(applicationEventsTopic), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const headers: { [name: string]: string } = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      records.push({ topic, key: String(message.key), value: String(message.value), headers });
    },
  });
});

test.after(async () => {
  await consumer?.disconnect();
  await mooring?.stop();
  await sink.down();
  await kafka?.close();
  if (process.env.MOORING_TEST_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

test('mosquitto_pub → Kafka → normalize/content-type → push endpoint, and the same events in events-<app>', async () => {
  await mosquittoPub('dev1@app1', 'temperature', '{"d":"dev1","n":1}');
  await mosquittoPub(`dev1@${LONG}`, 'state', '{"d":"dev1-two","n":2}');
  assert.ok(await waitUntil(() => sink.delivered.has('dev1/1') && sink.delivered.has('dev1-two/2'), 30_000), 'the push endpoint got both events');
  const h = sink.lastHeaders.find((x) => x['ce-application'] === 'app1')!;
  assert.is(h['ce-type'], 'io.drogue.event.v1');
  assert.is(h['content-type'], 'application/json');

  // Each application's topic: its device event and its connection events (connected, disconnected).
  const want = (app: string) => records.filter((r) => r.topic === applicationEventsTopic(app));
  assert.ok(await waitUntil(() => APPS.every((app) => want(app).length >= 3), 30_000), `3 records per application topic, got ${records.length}`);
  assert.is(applicationEventsTopic('app1'), 'events-app1');
  assert.ok(applicationEventsTopic(LONG).startsWith('evt-'), 'a long name takes Drogue\'s hashed form');
  for (const app of APPS) {
    const got = want(app);
    assert.ok(got.every((r) => r.headers.ce_application === app), 'only this application\'s events');
    assert.ok(got.every((r) => r.key === r.headers.ce_partitionkey && r.key.endsWith('/dev1')), `key = partitionkey: ${got.map((r) => r.key).join(',')}`);
    assert.ok(got.every((r) => r.headers.mooringstage === undefined && r.headers.ce_mooringstage === undefined), 'the final form only');
    const event = got.find((r) => r.headers.ce_type === 'io.drogue.event.v1');
    assert.ok(event, 'the device event');
    assert.is(event!.headers['content-type'], 'application/json');
    assert.is(event!.headers.ce_specversion, '1.0');
    assert.is(event!.headers.ce_device, 'dev1');
    assert.ok(event!.headers.ce_source?.startsWith('drogue://') === true && event!.headers.ce_source.endsWith('/dev1'), event!.headers.ce_source);
    const connections = got.filter((r) => r.headers.ce_type === 'io.drogue.connection.v1').map((r) => JSON.parse(r.value).connected as boolean);
    assert.equal(connections.sort(), [false, true]);
    assert.is(got.filter((r) => r.headers.ce_type === 'io.mooring.publish.v1').length, 0, 'no raw publishes');
  }
  assert.is(records.find((r) => r.topic === 'events-app1')?.key, 'app1/dev1');
});

test.run();
