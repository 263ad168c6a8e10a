// An application sees a device's connection and its events in the order they happened:
// connected → every event in publish order → disconnected, end to end through the MQTT gateway,
// the knative/ Triggers (normalize, content-type) and the push Trigger. The disconnect follows
// right after a burst of QoS 0 publishes, so a connection event taking a shorter path than the
// publishes would overtake them.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { startRecordingApp, waitFor, type RecordingApp } from '../helpers/http-app.ts';

const N = 300;
let dir: string;
let app: RecordingApp;
let mooring: Mooring;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-order-'));
  app = await startRecordingApp();
  const url = `${app.url}/`;
  writeFileSync(join(dir, 'registry.yaml'),
    `kind: Application\nmetadata:\n  name: app1\nspec:\n  knative:\n    endpoint:\n      url: ${url}\n---\n`
    + 'kind: Device\nmetadata:\n  name: dev1\n  application: app1\nspec:\n  authentication:\n    credentials:\n      - pass: pw\n');
  mooring = await startMooring(configFromEnv({}, {
    registryPath: join(dir, 'registry.yaml'), dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0,
  }), { logger: silentLogger });
});

test.after(async () => {
  await mooring?.close();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('an application sees connected, then the device\'s events in order, then disconnected', async () => {
  const client = mqtt.connect({ host: '127.0.0.1', port: mooring.mqtt.mqtt!.port, username: 'dev1@app1', password: 'pw', reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject); });
  for (let i = 0; i < N; i++) client.publish('seq', String(i), { qos: 0 });
  await client.endAsync();

  const seen = app.received;
  await waitFor('the disconnected event', () => seen.some((s) => s.body === '{"connected":false}'), 20_000);
  const story = seen.map((s) => (s.headers['ce-type'] === 'io.drogue.connection.v1' ? s.body : `#${s.body}`));
  assert.is(story.length, N + 2, `every event and both connection events arrive: ${story.length}`);
  assert.is(story[0], '{"connected":true}');
  assert.equal(story.slice(1, N + 1), Array.from({ length: N }, (_, i) => `#${i}`), 'events in publish order');
  assert.is(story[N + 1], '{"connected":false}', 'disconnected comes last');
  assert.ok(seen.every((s) => s.headers['ce-mooringstage'] === undefined), 'no pipeline marker reaches the app');
});

test.run();
