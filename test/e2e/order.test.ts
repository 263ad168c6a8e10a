// An application sees a device's connection and its events in the order they happened:
// connected → every event in publish order → disconnected, end to end through the MQTT gateway,
// the knative/ Triggers (normalize, content-type) and the push Trigger. The disconnect follows
// right after a burst of QoS 0 publishes, so a connection event taking a shorter path than the
// publishes would overtake them.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';

const N = 300;
let dir: string;
let app: Server;
let mooring: Mooring;
const seen: Array<{ headers: IncomingHttpHeaders; body: string }> = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-order-'));
  app = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/`;
  writeFileSync(join(dir, 'registry.yaml'),
    `kind: Application\nmetadata:\n  name: app1\nspec:\n  knative:\n    endpoint:\n      url: ${url}\n---\n`
    + 'kind: Device\nmetadata:\n  name: dev1\n  application: app1\nspec:\n  authentication:\n    credentials:\n      - pass: pw\n');
  mooring = await startMooring(configFromEnv({}, {
    registryPath: join(dir, 'registry.yaml'), dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, ingressPort: 0,
  }), { logger: silentLogger });
});

test.after(async () => {
  await mooring?.close();
  await new Promise<void>((r) => { app.closeAllConnections(); app.close(() => r()); });
  rmSync(dir, { recursive: true, force: true });
});

test('an application sees connected, then the device\'s events in order, then disconnected', async () => {
  const client = mqtt.connect({ host: '127.0.0.1', port: mooring.mqtt.mqtt!.port, username: 'dev1@app1', password: 'pw', reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject); });
  for (let i = 0; i < N; i++) client.publish('seq', String(i), { qos: 0 });
  await client.endAsync();

  const deadline = Date.now() + 20_000;
  while (!seen.some((s) => s.body === '{"connected":false}') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const story = seen.map((s) => (s.headers['ce-type'] === 'io.drogue.connection.v1' ? s.body : `#${s.body}`));
  assert.is(story.length, N + 2, `every event and both connection events arrive: ${story.length}`);
  assert.is(story[0], '{"connected":true}');
  assert.equal(story.slice(1, N + 1), Array.from({ length: N }, (_, i) => `#${i}`), 'events in publish order');
  assert.is(story[N + 1], '{"connected":false}', 'disconnected comes last');
  assert.ok(seen.every((s) => s.headers['ce-mooringstage'] === undefined), 'no pipeline marker reaches the app');
});

test.run();
