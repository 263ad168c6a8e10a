// The TLS listener refuses TLS 1.0 and 1.1 by default (the server answers a protocol_version
// alert), and takes TLS 1.2 and 1.3; of TLS 1.2 it takes only forward-secret AEAD suites (and the
// PSK ones): CBC with SHA-1 or SHA-256, 3DES, NULL and RC4 are refused (connectors/mqtt/listeners/tls.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { connect, createServer, type SecureVersion } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { mqttFixture } from '../../helpers/mqtt-fixtures.ts';
import { makeMqttPki } from '../../helpers/mqtt-pki.ts';

function handshake(port: number, ca: string, version: SecureVersion): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' });
    s.once('secureConnect', () => { resolve(s.getProtocol() ?? 'unknown'); s.destroy(); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

test('TLS listener: TLS 1.0 and 1.1 are refused with a protocol_version alert; 1.2 and 1.3 are taken', async () => {
  const pki = makeMqttPki();
  const f = mqttFixture({
    listeners: { port: false, wsPort: false, tlsPort: 0, host: '127.0.0.1', tls: { cert: pki.pem('server'), key: readFileSync(pki.path('server.key'), 'utf8') } },
  });
  try {
    const addr = await f.gw.listen();
    const port = addr.mqtts!.port;
    const ca = pki.pem('server-ca');
    const results: Record<string, string> = {};
    for (const v of ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const) results[v] = await handshake(port, ca, v);
    console.log(`tls versions: ${JSON.stringify(results)}`);
    assert.is(results['TLSv1.2'], 'TLSv1.2');
    assert.is(results['TLSv1.3'], 'TLSv1.3');
    for (const old of ['TLSv1', 'TLSv1.1']) {
      // The server's alert; a client library that cannot even offer the version says so instead.
      assert.ok(['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_NO_PROTOCOLS_AVAILABLE'].includes(results[old]!), `${old}: ${results[old]}`);
    }
  } finally {
    await f.close();
    pki.cleanup();
  }
});

/** A TLS 1.2 handshake offering only `cipher`: the negotiated suite, or the error code. */
function withCipher(port: number, ca: string, cipher: string): Promise<string> {
  return new Promise((resolve) => {
    let s: ReturnType<typeof connect>;
    try {
      s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2', ciphers: `${cipher}:@SECLEVEL=0` });
    } catch (err) {
      return resolve(`client cannot offer it (${(err as Error).message})`);
    }
    s.once('secureConnect', () => { resolve(`accepted ${s.getCipher().name}`); s.destroy(); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const WEAK = ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-DES-CBC3-SHA', 'ECDHE-ECDSA-NULL-SHA', 'ECDHE-ECDSA-RC4-SHA'];
const STRONG = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305'];

test('TLS listener: weak TLS 1.2 suites (CBC-SHA1, CBC-SHA256, 3DES, NULL, RC4) are refused by default; AEAD suites and TLS 1.3 are taken', async () => {
  const pki = makeMqttPki();
  const cert = pki.pem('server');
  const key = readFileSync(pki.path('server.key'), 'utf8');
  const f = mqttFixture({ listeners: { port: false, wsPort: false, tlsPort: 0, host: '127.0.0.1', tls: { cert, key } } });
  // Control: a server with node's own defaults takes CBC-SHA1, so the refusals below are the listener's choice.
  const control = createServer({ cert, key }, (s) => s.end());
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
  try {
    const port = (await f.gw.listen()).mqtts!.port;
    const ca = pki.pem('server-ca');
    const refused: Record<string, string> = {};
    for (const c of WEAK) refused[c] = await withCipher(port, ca, c);
    const taken: Record<string, string> = {};
    for (const c of STRONG) taken[c] = await withCipher(port, ca, c);
    const tls13 = await handshake(port, ca, 'TLSv1.3');
    const controlCbc = await withCipher((control.address() as AddressInfo).port, ca, 'ECDHE-ECDSA-AES128-SHA');
    console.log(`weak suites: ${JSON.stringify(refused)}`);
    console.log(`strong suites: ${JSON.stringify(taken)}; TLS 1.3: ${tls13}; node-defaults control with ECDHE-ECDSA-AES128-SHA: ${controlCbc}`);
    for (const [c, r] of Object.entries(refused)) assert.not.ok(r.startsWith('accepted'), `${c}: ${r}`);
    // The suites the client can offer are refused by the server itself (a handshake_failure alert).
    for (const c of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-NULL-SHA']) {
      assert.is(refused[c], 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', c);
    }
    for (const [c, r] of Object.entries(taken)) assert.is(r, `accepted ${c}`);
    assert.is(tls13, 'TLSv1.3');
    assert.is(controlCbc, 'accepted ECDHE-ECDSA-AES128-SHA');
  } finally {
    control.close();
    await f.close();
    pki.cleanup();
  }
});

test.run();
