// Issue 8 (compatibility): Drogue Cloud writes `source` as drogue://{app}/{device percent-encoded,
// NON_ALPHANUMERIC} — the application is not encoded — while `partitionkey` encodes both; and it
// sets applicationuid, deviceuid, senderuid whenever the registry has uids. Through the real
// gateway and push sink, for a device's own publish, a gateway publish and a connection event.

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

let dir: string;
let app: RecordingApp;
let mooring: Mooring;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-issue8-'));
  app = await startRecordingApp(() => 200);
  const registryPath = join(dir, 'registry.yaml');
  writeFileSync(registryPath, [
    `kind: Application\nmetadata:\n  name: my-app\n  uid: app-uid-1\nspec:\n  knative:\n    endpoint:\n      url: ${app.url}/in\n`,
    'kind: Device\nmetadata:\n  name: gw-1\n  application: my-app\n  uid: gw-uid-1\nspec:\n  authentication:\n    credentials:\n      - pass: secret\n',
    'kind: Device\nmetadata:\n  name: sensor-1\n  application: my-app\n  uid: sensor-uid-1\nspec:\n  gatewaySelector:\n    matchNames: [gw-1]\n',
  ].join('---\n'));
  const config = configFromEnv({}, { registryPath, dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, demoSinkPort: 0 });
  mooring = await startMooring(config, { logger: silentLogger });
});

test.after(async () => {
  await mooring?.close();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const header = (h: Record<string, unknown>, k: string) => (h[k] === undefined ? undefined : decodeURIComponent(String(h[k])));

test('source encodes only the device; partitionkey both; uids on device and connection events', async () => {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mooring.mqtt.mqtt!.port}`, {
    username: 'gw-1@my-app', password: 'secret', protocolVersion: 5, reconnectPeriod: 0,
  });
  await c.publishAsync('temp', '{"t":1}', { qos: 1 });
  await c.publishAsync('temp/sensor-1', '{"t":2}', { qos: 1 });
  const seen = await waitFor('three events', () => (app.received.length >= 3 ? app.received : undefined));
  await c.endAsync();

  const byType = (type: string, device: string) => seen.find((r) => r.headers['ce-type'] === type && header(r.headers, 'ce-device') === device);
  const connection = byType('io.drogue.connection.v1', 'gw-1');
  const own = byType('io.drogue.event.v1', 'gw-1');
  const child = byType('io.drogue.event.v1', 'sensor-1');
  assert.ok(connection && own && child, `got ${seen.map((r) => r.headers['ce-type']).join(', ')}`);

  for (const [r, src, deviceUid] of [[connection, 'drogue://my-app/gw%2D1', 'gw-uid-1'], [own, 'drogue://my-app/gw%2D1', 'gw-uid-1'], [child, 'drogue://my-app/sensor%2D1', 'sensor-uid-1']] as const) {
    const h = r!.headers;
    assert.is(header(h, 'ce-source'), src);
    assert.is(header(h, 'ce-partitionkey'), 'my%2Dapp/gw%2D1');
    assert.is(header(h, 'ce-applicationuid'), 'app-uid-1');
    assert.is(header(h, 'ce-deviceuid'), deviceUid);
    assert.is(header(h, 'ce-senderuid'), 'gw-uid-1');
  }
  console.log(`  events checked: ${seen.length}`);
});

test.run();
