// A throw-away PKI for tests, made with the openssl CLI at test time in a temporary folder:
// EC P-256 CAs (30 days) and certificates they sign (10 days; 20 for an intermediate CA).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLIENT_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
export const INTERMEDIATE_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
export const serverExt = (names: string): string =>
  `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${names}\n`;

export interface Pki {
  dir: string;
  path(file: string): string;
  /** The certificate `name`.pem; its key is `name`.key. */
  pem(name: string): string;
  /** Base64 of the PEM: the form of `spec.trustAnchors.anchors[].certificate`. */
  anchor(name: string): string;
  /** A self-signed CA. */
  ca(name: string, subject: string): void;
  /** A certificate for `subject` signed by the CA `issuer`, with the given X.509 v3 extensions. */
  sign(name: string, subject: string, issuer: string, ext?: string): void;
  cleanup(): void;
}

export function makePki(prefix = 'mooring-pki-'): Pki {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  return {
    dir,
    path: (file) => join(dir, file),
    pem: (name) => readFileSync(join(dir, `${name}.pem`), 'utf8'),
    anchor: (name) => Buffer.from(readFileSync(join(dir, `${name}.pem`), 'utf8')).toString('base64'),
    ca(name, subject) {
      openssl(['req', '-x509', ...key, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', subject,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    },
    sign(name, subject, issuer, ext = CLIENT_EXT) {
      openssl(['req', '-new', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial',
        '-out', `${name}.pem`, '-days', ext === INTERMEDIATE_EXT ? '20' : '10', '-extfile', `${name}.ext`]);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
