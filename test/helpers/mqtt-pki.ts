// Certificates for the MQTT TLS tests, generated with the openssl CLI at test time: a server CA
// and a server certificate for 127.0.0.1/localhost, an application CA (the trust anchor) and a
// device certificate with CN=device1 signed by it.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MqttPki {
  dir: string;
  path(name: string): string;
  pem(name: string): string;
  /** base64 of the PEM: `spec.trustAnchors.anchors[].certificate`. */
  anchor(name: string): string;
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ca(dir: string, name: string, subject: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`,
    '-out', `${name}.pem`, '-days', '30', '-subj', subject,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

function leaf(dir: string, name: string, subject: string, issuer: string, ext: string): void {
  openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`,
    '-out', `${name}.csr`, '-subj', subject]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '10', '-extfile', `${name}.ext`]);
}

export function makeMqttPki(): MqttPki {
  const dir = mkdtempSync(join(tmpdir(), 'mooring-mqtt-pki-'));
  ca(dir, 'server-ca', '/CN=Mooring test server CA');
  leaf(dir, 'server', '/CN=localhost', 'server-ca',
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
  ca(dir, 'app-ca', '/O=Drogue IoT/OU=app1/CN=app1 CA');
  leaf(dir, 'device1', '/O=Drogue IoT/OU=app1/CN=device1', 'app-ca',
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  return {
    dir,
    path: (name) => join(dir, name),
    pem: (name) => readFileSync(join(dir, `${name}.pem`), 'utf8'),
    anchor: (name) => Buffer.from(readFileSync(join(dir, `${name}.pem`), 'utf8')).toString('base64'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
