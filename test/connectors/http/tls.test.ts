// HTTPS: the X.509 client certificate (the application's trust anchor) and TLS-PSK forms, with
// curl and node's https, each with its failure; `as` is ignored for both (Drogue); Basic still
// works over TLS, and a certificate with a Basic header together is refused.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { PSKCallbackNegotation } from 'node:tls';
import { makeMqttPki, type MqttPki } from '../../helpers/mqtt-pki.ts';
import { app, device } from '../../helpers/memory-registry.ts';
import { PublishExt } from '../../../events/types.ts';
import { curl, httpFixture, type HttpFixture } from './fixture.ts';

const PSK = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

let pki: MqttPki;
let f: HttpFixture;
let tlsPort: number;

test.before(async () => {
  pki = makeMqttPki();
  f = await httpFixture({ tlsPort: 0, tls: { cert: pki.pem('server'), key: readFileSync(pki.path('server.key'), 'utf8') } }, [
    app('app1', { trustAnchors: { anchors: [{ certificate: pki.anchor('app-ca') }] } }),
    device('app1', 'device1', { authentication: { credentials: [{ pass: 'hey' }] } }),
    device('app1', 'sensor1', { gatewaySelector: { matchNames: ['device1'] } }),
    device('app1', 'pskdev', { authentication: { credentials: [{ psk: { key: PSK.toString('base64') } }] } }),
  ]);
  tlsPort = f.addresses.https!.port;
});

test.after(async () => {
  await f.close();
  pki.cleanup();
});

const last = () => f.bus.events[f.bus.events.length - 1]!;

function https(path: string, options: Record<string, unknown>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: tlsPort, path, method: 'POST', ca: pki.pem('server-ca'), servername: 'localhost', agent: false, ...options }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end('{"t":1}');
  });
}

const certArgs = () => ['--cacert', pki.path('server-ca.pem'), '--cert', pki.path('device1.pem'), '--key', pki.path('device1.key')];

test('client certificate (curl): application by trust anchor, device by subject; as ignored', async () => {
  const r = await curl([...certArgs(), '-d', '{"t":1}', `https://localhost:${tlsPort}/v1/cert?as=sensor1`]);
  assert.is(r.status, 202, r.body);
  assert.is(last().extensions[PublishExt.sender], 'device1');
  assert.is(last().extensions[PublishExt.device], 'device1');
});

test('client certificate with a Basic header, or with ?application=: 403', async () => {
  let r = await curl([...certArgs(), '-u', 'device1@app1:hey', '-d', 'x', `https://localhost:${tlsPort}/v1/cert`]);
  assert.is(r.status, 403);
  r = await curl([...certArgs(), '-d', 'x', `https://localhost:${tlsPort}/v1/cert?application=app1`]);
  assert.is(r.status, 403);
  assert.is(JSON.parse(r.body).error, 'MOORING_FORBIDDEN');
});

test('a certificate of another CA, or none: 403', async () => {
  const r = await curl(['--cacert', pki.path('server-ca.pem'), '--cert', pki.path('server.pem'), '--key', pki.path('server.key'), '-d', 'x', `https://localhost:${tlsPort}/v1/cert`]);
  assert.is(r.status, 403);
  const none = await curl(['--cacert', pki.path('server-ca.pem'), '-d', 'x', `https://localhost:${tlsPort}/v1/cert`]);
  assert.is(none.status, 403);
});

test('Basic over TLS (node https)', async () => {
  const r = await https('/v1/basic', { auth: 'device1@app1:hey' });
  assert.is(r.status, 202);
  assert.is(last().extensions[PublishExt.topic], 'basic');
});

const pskOptions = (key: Buffer) => ({
  ciphers: 'PSK-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' as const,
  checkServerIdentity: () => undefined,
  pskCallback: (): PSKCallbackNegotation => ({ psk: key, identity: 'pskdev@app1' }),
});

test('TLS-PSK (node https): identity device@app, key from the psk credential', async () => {
  const r = await https('/v1/psk', pskOptions(PSK));
  assert.is(r.status, 202, r.body);
  assert.is(last().extensions[PublishExt.sender], 'pskdev');
});

test('TLS-PSK with a wrong key: the handshake fails, nothing published', async () => {
  const before = f.bus.events.length;
  await https('/v1/psk', pskOptions(Buffer.from('deadbeef', 'hex'))).then(() => assert.unreachable('handshake should fail'), () => undefined);
  assert.is(f.bus.events.length, before);
});

test('TLS-PSK is not taken on the TTN routes: 403', async () => {
  const body = readFileSync(new URL('../../fixtures/ttn/v3-uplink.json', import.meta.url));
  const r = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: tlsPort, path: '/ttn/v3', method: 'POST', agent: false, ...pskOptions(PSK) }, (res) => { res.resume(); resolve(res.statusCode!); });
    req.on('error', reject);
    req.end(body);
  });
  assert.is(r, 403);
});

test.run();
