// The TLS listener refuses TLS 1.0 and 1.1 by default (the server answers a protocol_version
// alert), and takes TLS 1.2 and 1.3.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { connect, type SecureVersion } from 'node:tls';
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

test.run();
