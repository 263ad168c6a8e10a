// No secret in any log line or error body, at debug level: an embedded Mooring (as `npm start`
// composes it, with pino at `debug`) gets devices with a password, a user name/password and a PSK
// through the management API (the demo token), MQTT connects with right and wrong passwords
// (3.1.1 and 5, plain and over TLS), HTTP device posts with right and wrong passwords, TLS-PSK handshakes with the right and a wrong key, and API
// calls with a wrong token; then every log line and every error body is scanned for each secret.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pino from 'pino';
import mqtt from 'mqtt';
import type { Logger } from '../../functions/ports/runtime.ts';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { DEMO_APPLICATION } from '../../connectors/registry/index.ts';
import { makeMqttPki, type MqttPki } from '../helpers/mqtt-pki.ts';

const run = promisify(execFile);

const PASS = `pass-${randomBytes(9).toString('hex')}`;
const USER_PW = `userpw-${randomBytes(9).toString('hex')}`;
const WRONG_PW = `wrongpw-${randomBytes(9).toString('hex')}`;
const WRONG_TOKEN = `wrongtoken-${randomBytes(9).toString('hex')}`;
const BEARER = `bearer-${randomBytes(9).toString('hex')}`;
const PSK = randomBytes(16);
const WRONG_PSK = randomBytes(16);

let dir: string;
let pki: MqttPki;
let mooring: Mooring;
const lines: string[] = [];
const bodies: string[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-secrets-'));
  pki = makeMqttPki();
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== '')); cb(); } });
  const logger = pino({ level: 'debug', base: { service: 'mooring' } }, sink) as unknown as Logger;
  mooring = await startMooring(configFromEnv({}, {
    dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttsPort: 0, mqttWsPort: 0, httpPort: 0, httpsPort: 0, ingressPort: 0, apiPort: 0, demoSinkPort: 0,
    mqttIntegrationPort: 0, mqttIntegrationTlsPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0,
    tlsCert: pki.pem('server'), tlsKey: readFileSync(pki.path('server.key'), 'utf8'), logLevel: 'debug',
  }), { logger });
});

test.after(async () => {
  await mooring?.close();
  pki?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const api = (path: string): string => `http://127.0.0.1:${mooring.api!.port}${path}`;
const basic = (user: string, secret: string): string => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

async function call(method: string, path: string, authorization: string, body?: unknown): Promise<number> {
  const res = await fetch(api(path), {
    method, headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 400) bodies.push(text);
  return res.status;
}

async function connect(username: string, password: string, version: 4 | 5, tls = false, clientId?: string): Promise<boolean> {
  const port = tls ? mooring.mqtt.mqtts!.port : mooring.mqtt.mqtt!.port;
  const client = mqtt.connect({
    protocol: tls ? 'mqtts' : 'mqtt', host: '127.0.0.1', port, username, password, protocolVersion: version, ...(clientId ? { clientId } : {}),
    reconnectPeriod: 0, connectTimeout: 5000, ...(tls ? { ca: pki.pem('server-ca'), servername: 'localhost' } : {}),
  });
  const ok = await new Promise<boolean>((resolve) => {
    client.once('connect', () => resolve(true));
    client.once('error', (err) => { bodies.push(err.message); resolve(false); });
    client.once('close', () => resolve(false));
  });
  if (ok) await client.publishAsync('temp', 'x', { qos: 1 });
  await client.endAsync(true);
  return ok;
}

test('passwords, tokens and PSK keys never appear in a log line or an error body at debug level', async () => {
  const token = mooring.demoUser!.token;
  const auth = basic(mooring.demoUser!.username, token);
  const devices = `/api/registry/v1alpha1/apps/${DEMO_APPLICATION}/devices`;
  const create = (name: string, credential: unknown): Promise<number> =>
    call('POST', devices, auth, { metadata: { name, application: DEMO_APPLICATION }, spec: { authentication: { credentials: [credential] } } });
  assert.is(await create('pwdev', { pass: PASS }), 201);
  assert.is(await create('userdev', { user: { username: 'alice', password: USER_PW } }), 201);
  assert.is(await create('pskdev', { psk: { key: PSK.toString('base64') } }), 201);
  // Refused creations with a password in them (a duplicate; a credential of an unknown form): the errors name no secret.
  assert.is(await create('pwdev', { pass: WRONG_PW }), 409);
  assert.ok(await create('other', { pass: WRONG_PW, bogus: PASS }) >= 400);
  for (const wrong of [basic(mooring.demoUser!.username, WRONG_TOKEN), `Bearer ${BEARER}`, basic('nobody', token)]) {
    assert.ok(await call('GET', devices, wrong) >= 400);
    assert.ok(await call('POST', devices, wrong, { metadata: { name: 'x' }, spec: { authentication: { credentials: [{ pass: PASS }] } } }) >= 400);
  }

  const app = DEMO_APPLICATION;
  for (const version of [4, 5] as const) {
    assert.ok(await connect(`pwdev@${app}`, PASS, version));
    assert.not.ok(await connect(`pwdev@${app}`, WRONG_PW, version));
    assert.ok(await connect('alice', USER_PW, version, false, `userdev@${app}`));
    assert.not.ok(await connect('alice', WRONG_PW, version, false, `userdev@${app}`));
    assert.ok(await connect(`pwdev@${app}`, PASS, version, true));
    assert.not.ok(await connect(`pwdev@${app}`, WRONG_PW, version, true));
  }
  for (const key of [PSK, WRONG_PSK]) {
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mooring.mqtt.mqtts!.port), '--psk', key.toString('hex'),
      '--psk-identity', `pskdev@${app}`, '--tls-version', 'tlsv1.2', '-q', '1', '-t', 'psk', '-m', 'x'], { timeout: 10000 }).catch(() => undefined);
  }
  // The HTTP device endpoint: basic auth with the right and a wrong password.
  const http = `http://127.0.0.1:${mooring.httpAddresses.http!.port}/v1/temp`;
  for (const pw of [PASS, WRONG_PW]) {
    const res = await fetch(http, { method: 'POST', headers: { authorization: basic(`pwdev@${app}`, pw), 'content-type': 'application/json' }, body: '{"t":1}' });
    const text = await res.text();
    if (res.status >= 400) bodies.push(text);
    assert.is(res.status >= 400, pw === WRONG_PW, `HTTP ${res.status}`);
  }
  await new Promise((r) => setTimeout(r, 500));

  const secrets: Record<string, string> = {
    password: PASS, 'user password': USER_PW, 'wrong password': WRONG_PW, token, 'wrong token': WRONG_TOKEN, bearer: BEARER,
    'PSK (hex)': PSK.toString('hex'), 'PSK (base64)': PSK.toString('base64'), 'wrong PSK (hex)': WRONG_PSK.toString('hex'),
    'Basic header': auth.slice('Basic '.length), 'server private key': readFileSync(pki.path('server.key'), 'utf8').split('\n')[1]!,
  };
  const found: string[] = [];
  for (const [what, secret] of Object.entries(secrets)) {
    for (const l of lines) if (l.includes(secret)) found.push(`log line has the ${what}: ${l.slice(0, 200)}`);
    for (const b of bodies) if (b.includes(secret)) found.push(`error body has the ${what}: ${b.slice(0, 200)}`);
  }
  console.log(`secrets: ${lines.length} log lines (${lines.filter((l) => l.includes('"level":20')).length} debug), ${bodies.length} error bodies, ${Object.keys(secrets).length} secrets, found=${found.length}`);
  assert.ok(lines.length > 20 && lines.some((l) => l.includes('"level":20')), 'debug logging was on');
  assert.equal(found, []);
});

test.run();
