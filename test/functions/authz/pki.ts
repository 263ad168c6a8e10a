// Test PKI generated with the openssl CLI at test time: a CA per application, leaves signed by
// them, an intermediate CA, and a CA no application trusts. Certificates are valid from now-1d
// for 30 days (CAs) / 10 days (leaves); tests move the injected clock to leave that window.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  pem(name: string): string;
  /** Base64 of the PEM, the form of `spec.trustAnchors.anchors[].certificate`. */
  anchor(name: string): string;
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ca(dir: string, name: string, subject: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', subject,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

function signed(dir: string, name: string, subject: string, issuer: string, isCa = false): void {
  openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  const ext = isCa ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
    : 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`,
    '-CAcreateserial', '-out', `${name}.pem`, '-days', isCa ? '20' : '10', '-extfile', `${name}.ext`]);
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'mooring-pki-'));
  ca(dir, 'ca1', '/O=Drogue IoT/OU=app1/CN=app1 CA');
  signed(dir, 'device1', '/O=Drogue IoT/OU=app1/CN=device1', 'ca1');
  signed(dir, 'aliased', '/O=Drogue IoT/OU=app1/CN=aliased', 'ca1');
  signed(dir, 'nobody', '/O=Drogue IoT/OU=app1/CN=nobody', 'ca1');
  signed(dir, 'inter', '/O=Drogue IoT/OU=app1/CN=app1 intermediate', 'ca1', true);
  signed(dir, 'device2', '/O=Drogue IoT/OU=app1/CN=device2', 'inter');
  ca(dir, 'rogue', '/O=Rogue/CN=rogue CA');
  signed(dir, 'forged', '/O=Drogue IoT/OU=app1/CN=device1', 'rogue');
  ca(dir, 'ca2', '/O=Drogue IoT/OU=app2/CN=app2 CA');
  signed(dir, 'device3', '/CN=device3', 'ca2');
  return {
    dir,
    pem: (name) => readFileSync(join(dir, `${name}.pem`), 'utf8'),
    anchor: (name) => Buffer.from(readFileSync(join(dir, `${name}.pem`), 'utf8')).toString('base64'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
