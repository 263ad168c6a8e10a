// MQTT over TLS (`MOORING_MQTTS_PORT`, default 8883), enabled when a server certificate and key are
// configured. Client certificates are requested but optional (the authz function verifies the chain
// against the application's trust anchors, not the TLS layer). TLS-PSK: node asks for the key of an
// identity synchronously during the handshake, so the keys (from authz `pskKeyFor`) are indexed
// ahead of time, refreshed on every registry change and every minute; an identity not yet known
// is looked up in the background so that the client's retry succeeds.

import { createServer, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { splitIdentity } from '../../../functions/authz/device-view.ts';
import type { ResolvedOptions } from '../options.ts';
import type { TlsInfo } from '../core.ts';
import { startListening, type RunningListener, type StreamHandler } from './tcp.ts';
import type { Admission } from '../../net/admission.ts';

/**
 * TLS 1.2 PSK suites (the defaults have none): AEAD, or CBC with SHA-2 for constrained devices;
 * no SHA-1 MAC.
 */
const PSK_CIPHERS = 'PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:PSK-AES128-CBC-SHA256:PSK-AES256-CBC-SHA384';

/**
 * TLS 1.3 suites with SHA-256 first, chosen by the server: OpenSSL uses a PSK from the (legacy)
 * callback in TLS 1.3 only with a SHA-256 suite, otherwise it silently falls back to a
 * certificate handshake.
 */
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384';

/**
 * TLS 1.2 certificate suites: forward secrecy (ECDHE, DHE) with AEAD only. node's defaults (OpenSSL
 * `HIGH`) also take static-RSA key exchange and CBC with SHA-1 (e.g. AES128-SHA,
 * ECDHE-RSA-AES128-SHA); those, 3DES, RC4, NULL and export suites are refused.
 */
const TLS12_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305', 'DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384',
].join(':');

/** The default suites of every TLS listener: TLS 1.3, then the strong TLS 1.2 ones, then PSK. */
export const DEFAULT_SUITES = `${TLS13_SUITES}:${TLS12_SUITES}:${PSK_CIPHERS}`;

/**
 * Whether the handshake really used the pre-shared key. node calls pskCallback as soon as a
 * client offers an identity, before the key is proven, and a TLS 1.3 handshake may then go on
 * without the PSK: only a PSK suite (TLS 1.2) or an accepted PSK (TLS 1.3, reported as a resumed
 * session) proves the identity.
 */
function pskUsed(socket: TLSSocket): boolean {
  if (socket.getProtocol() === 'TLSv1.3') return socket.isSessionReused();
  return socket.getCipher().name.includes('PSK');
}

const kPskIdentity = Symbol('mooring.mqtt.pskIdentity');
type PskSocket = TLSSocket & { [kPskIdentity]?: string };

/** `device@app` with the device part percent-decoded, as authz reads identities. */
function canonicalIdentity(identity: string): string | undefined {
  const id = splitIdentity(identity);
  return id === undefined ? undefined : `${id.device}@${id.application}`;
}

/** Identity → PSK, kept current from the registry so the handshake can read it synchronously. */
export class PskIndex {
  private keys = new Map<string, Buffer>();
  private refreshing: Promise<void> | undefined;
  private again = false;
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: Pick<ResolvedOptions, 'registry' | 'pskKeyFor' | 'clock' | 'logger'>) {
    this.unsubscribe = opts.registry.onChange(() => { void this.refresh(); });
    this.timer = setInterval(() => { void this.refresh(); }, 60_000).unref();
  }

  keyFor(identity: string): Buffer | undefined {
    const id = canonicalIdentity(identity);
    if (id === undefined) return undefined;
    const key = this.keys.get(id);
    if (key === undefined) void this.lookup(id);
    return key;
  }

  private async lookup(identity: string): Promise<void> {
    try {
      const key = await this.opts.pskKeyFor(identity, this.opts.registry, this.opts.clock);
      if (key !== undefined) this.keys.set(identity, Buffer.from(key));
    } catch { /* the next refresh tries again */ }
  }

  /** Rebuilds the index from every device with a `psk` credential (name and aliases). */
  refresh(): Promise<void> {
    if (this.refreshing !== undefined) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = this.rebuild().finally(() => {
      this.refreshing = undefined;
      if (this.again) { this.again = false; void this.refresh(); }
    });
    return this.refreshing;
  }

  private async rebuild(): Promise<void> {
    const { registry, pskKeyFor, clock, logger } = this.opts;
    const next = new Map<string, Buffer>();
    try {
      for (const app of await registry.listApplications()) {
        const appName = app.metadata.name;
        for (const device of await registry.listDevices(appName)) {
          const spec = device.spec as typeof device.spec & { credentials?: unknown[] };
          const creds = spec.authentication?.credentials ?? spec.credentials ?? [];
          if (!creds.some((c) => typeof c === 'object' && c !== null && 'psk' in c)) continue;
          for (const name of [device.metadata.name, ...(device.spec.alias ?? [])]) {
            const identity = `${name}@${appName}`;
            const key = await pskKeyFor(identity, registry, clock);
            if (key !== undefined) next.set(identity, Buffer.from(key));
          }
        }
      }
      this.keys = next;
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'tls: PSK index refresh failed');
    }
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.timer);
  }
}

/** The client's certificate chain, leaf first, as DER (empty when it presented none). */
function peerChain(socket: TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let cert = socket.getPeerCertificate(true) as (ReturnType<TLSSocket['getPeerCertificate']> & { issuerCertificate?: unknown }) | null;
  const seen = new Set<unknown>();
  while (cert !== null && cert !== undefined && cert.raw !== undefined && !seen.has(cert)) {
    seen.add(cert);
    chain.push(cert.raw);
    const next = cert.issuerCertificate as typeof cert | undefined;
    if (next === undefined || next === cert) break;
    cert = next;
  }
  return chain;
}

export type ServerTls = Pick<SecureContextOptions, 'cert' | 'key' | 'ca' | 'ciphers' | 'minVersion'>;

/**
 * The secure-server options of a device listener (MQTT over TLS, HTTPS): client certificates
 * requested but optional, PSK identities answered from `psk`. Shared by every TLS listener.
 */
export function deviceTlsOptions(tls: ServerTls, psk: PskIndex, handshakeTimeoutMs: number) {
  return {
    ...tls,
    // A handshake not done in time is dropped (node's own default is 120 s).
    handshakeTimeout: handshakeTimeoutMs,
    // TLS 1.0 and 1.1 are refused whatever node's own default (flags such as --tls-min-v1.0).
    minVersion: tls.minVersion ?? 'TLSv1.2',
    ciphers: tls.ciphers ?? DEFAULT_SUITES,
    honorCipherOrder: true,
    requestCert: true,
    rejectUnauthorized: false,
    pskCallback: (socket: TLSSocket, identity: string) => {
      const key = psk.keyFor(identity);
      if (key === undefined) return null;
      (socket as PskSocket)[kPskIdentity] = identity;
      return key;
    },
  };
}

/**
 * Logs a failed or timed-out handshake and drops its socket: node leaves a socket whose handshake
 * timed out (`handshakeTimeout`) open once a 'tlsClientError' listener exists.
 */
export function dropFailedHandshakes(server: import('node:tls').Server, logger: ResolvedOptions['logger'], what: string): void {
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    logger.debug({ err: err.message }, `${what} tls handshake failed`);
    socket.destroy();
  });
}

/** What the handshake proved: the PSK identity (when the key was used), else the client's chain. */
export function tlsInfoOf(socket: TLSSocket): TlsInfo {
  const info: TlsInfo = {};
  const identity = (socket as PskSocket)[kPskIdentity];
  if (identity !== undefined && pskUsed(socket)) info.pskIdentity = identity;
  else {
    const chain = peerChain(socket);
    if (chain.length > 0) info.certificateChain = chain;
  }
  return info;
}

export async function listenTls(
  handle: StreamHandler,
  port: number,
  host: string | undefined,
  tls: ServerTls,
  opts: ResolvedOptions,
  admission: Admission,
): Promise<RunningListener> {
  const psk = new PskIndex(opts);
  await psk.refresh();
  const server = createServer(deviceTlsOptions(tls, psk, admission.limits.handshakeTimeoutMs), (socket: TLSSocket) => {
    const info = tlsInfoOf(socket);
    handle(socket, socket.remoteAddress !== undefined ? { tls: info, remoteAddress: socket.remoteAddress } : { tls: info });
  });
  admission.guard(server);
  dropFailedHandshakes(server, opts.logger, 'mqtt');
  const running = await startListening(server, port, host);
  return {
    address: running.address,
    close: async () => { psk.close(); await running.close(); },
  };
}
