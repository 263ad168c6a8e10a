// Single-host / cluster mode on DynamoDB, two Mooring instances sharing one DynamoDB (Local):
// instance A runs here (startMooring), instance B is `npm start` in a child process, both with
// MOORING_DYNAMODB_ENDPOINT and the same table prefix. The demo application is seeded once; a
// device created through A's management API connects to B's MQTT endpoint; its password changed
// through A's API is refused by B's MQTT endpoint within a bounded wait, although B caches verified
// secrets (B reads the device from DynamoDB on each connect, and its cache is keyed by the stored
// hash too; it is also emptied when the change reaches B through the changes table), and the new
// password is accepted. Access tokens live in DynamoDB too: a token created through A's API
// works on B's API at once, and one deleted through B's API is refused by A's.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { ensureDynamo, uniquePrefix, waitFor } from '../connectors/dynamodb/helper.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');

let dirA: string;
let dirB: string;
let a: Mooring;
let b: ChildProcess;
let bOut = '';
let bMqttPort = 0;
let bApiPort = 0;

test.before(async () => {
  const endpoint = await ensureDynamo();
  const prefix = uniquePrefix();
  dirA = mkdtempSync(join(tmpdir(), 'mooring-ddb-a-'));
  dirB = mkdtempSync(join(tmpdir(), 'mooring-ddb-b-'));
  a = await startMooring(configFromEnv({ MOORING_DYNAMODB_ENDPOINT: endpoint, MOORING_DYNAMODB_TABLE_PREFIX: prefix }, {
    dataDir: dirA, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0, demoSinkPort: 0,
  }), { logger: silentLogger });
  b = spawn(process.execPath, [TSX, join(ROOT, 'cli/main.ts')], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, MOORING_DYNAMODB_ENDPOINT: endpoint, MOORING_DYNAMODB_TABLE_PREFIX: prefix, MOORING_DATA_DIR: dirB,
      MOORING_HOST: '127.0.0.1', MOORING_MQTT_PORT: '0', MOORING_MQTT_WS_PORT: '0', MOORING_HTTP_PORT: '0', MOORING_INGRESS_PORT: '0',
      MOORING_API_PORT: '0', MOORING_MQTT_INTEGRATION_PORT: '0', MOORING_MQTT_INTEGRATION_WS_PORT: '0', MOORING_WS_INTEGRATION_PORT: '0', MOORING_DEMO_SINK_PORT: '0', MOORING_LOG_LEVEL: 'warn', MOORING_KAFKA_BROKERS: '',
    },
  });
  b.stdout!.on('data', (c: Buffer) => { bOut += c.toString(); });
  b.stderr!.on('data', (c: Buffer) => { bOut += c.toString(); });
  await waitFor(() => /MQTT\s+tcp:\/\/localhost:(\d+)/.test(bOut) || b.exitCode !== null, 60_000, 'instance B to start');
  const m = /MQTT\s+tcp:\/\/localhost:(\d+)/.exec(bOut);
  if (!m) throw new Error(`instance B did not start:\n${bOut}`);
  bMqttPort = Number(m[1]);
  const api = /management API\s+http:\/\/localhost:(\d+)/.exec(bOut);
  if (!api) throw new Error(`instance B printed no management API address:\n${bOut}`);
  bApiPort = Number(api[1]);
});

test.after(async () => {
  if (b && b.exitCode === null) {
    const exited = new Promise((r) => b.once('exit', r));
    b.kill('SIGTERM');
    const timer = setTimeout(() => b.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await a?.close();
  rmSync(dirA, { recursive: true, force: true });
  rmSync(dirB, { recursive: true, force: true });
});

const auth = () => `Basic ${Buffer.from(`${a.demoUser!.username}:${a.demoUser!.token}`).toString('base64')}`;
const DEVICE = `/api/registry/v1alpha1/apps/demo-app/devices`;
const call = (method: string, path: string, body?: unknown) => fetch(`http://127.0.0.1:${a.api!.port}${path}`, {
  method, headers: { authorization: auth(), ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
});

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function connectsToB(username: string, password: string): Promise<boolean> {
  try {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${bMqttPort}`, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
    await c.endAsync();
    return true;
  } catch {
    return false;
  }
}

test('the demo is seeded once in DynamoDB; a device created through A connects to B; a password changed through A is refused by B', async () => {
  assert.match(a.registryDescription, /^DynamoDB /);
  const apps = await a.registry.listApplications();
  assert.equal(apps.map((x) => x.metadata.name), ['demo-app'], 'seeded once although two instances started');
  assert.is((await a.registry.listDevices('demo-app')).length, 2);
  assert.ok(await connectsToB('demo-device@demo-app', 'demo-secret'), 'B serves the seeded demo device');

  const created = await call('POST', DEVICE, { metadata: { name: 'shared', application: 'demo-app' }, spec: { authentication: { credentials: [{ pass: 'first' }] } } });
  assert.is(created.status, 201);
  let attempts = 0;
  await until(async () => { attempts++; return connectsToB('shared@demo-app', 'first'); }, 10_000, 'B to accept the new device');
  assert.ok(await connectsToB('shared@demo-app', 'first'), 'B accepts it again (now from its cache of verified secrets)');

  const current = await (await call('GET', `${DEVICE}/shared`)).json() as { spec: { authentication: { credentials: unknown[] } } };
  current.spec.authentication.credentials = [{ pass: 'second' }];
  assert.is((await call('PUT', `${DEVICE}/shared`, current)).status, 204);
  const t0 = Date.now();
  let refusedAfter = 0;
  await until(async () => { refusedAfter++; return !(await connectsToB('shared@demo-app', 'first')); }, 10_000, 'B to refuse the old password');
  console.log(`  B accepted the new device after ${attempts} attempt(s); refused the old password after ${refusedAfter} attempt(s), ${Date.now() - t0} ms`);
  assert.ok(await connectsToB('shared@demo-app', 'second'), 'B accepts the new password');
});

test('an access token created through A\'s API works on B\'s; deleted through B\'s, A refuses it', async () => {
  const created = await call('POST', '/api/tokens/v1alpha1?description=shared');
  assert.is(created.status, 200);
  const { prefix, token } = await created.json() as { prefix: string; token: string };
  const asToken = (port: number, path: string, method = 'GET') => fetch(`http://127.0.0.1:${port}${path}`, {
    method, headers: { authorization: `Basic ${Buffer.from(`${a.demoUser!.username}:${token}`).toString('base64')}` },
  });
  const listed = await asToken(bApiPort, '/api/tokens/v1alpha1');
  assert.is(listed.status, 200, 'B knows the user and the token A issued');
  const prefixes = (await listed.json() as Array<{ prefix: string; description?: string }>);
  assert.ok(prefixes.some((t) => t.prefix === prefix && t.description === 'shared'), JSON.stringify(prefixes));
  const device = await asToken(bApiPort, '/api/registry/v1alpha1/apps/demo-app/devices/shared');
  assert.is(device.status, 200, 'B authorises the token for the demo application');
  assert.is((await asToken(bApiPort, `/api/tokens/v1alpha1/${prefix}`, 'DELETE')).status, 204);
  const refused = await asToken(a.api!.port, '/api/tokens/v1alpha1');
  assert.is(refused.status, 403, 'A no longer accepts a token deleted through B');
  const left = (await (await call('GET', '/api/tokens/v1alpha1')).json() as Array<{ prefix: string }>).map((t) => t.prefix);
  console.log(`  token ${prefix}: issued by A, used and deleted on B, refused by A; ${left.length} token(s) of the demo user left`);
  assert.not.ok(left.includes(prefix));
});

test.run();
