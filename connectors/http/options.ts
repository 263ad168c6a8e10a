// Options of the HTTP device endpoint, their defaults and their checks (once, at construction).
// Ports (bus, registry, directory, logger, clock) and the authz functions are injected, with the
// MQTT gateway's defaults (devicePorts: the real authz functions of functions/authz).

import type { ConnectionDirectory } from '../../functions/ports/directory.ts';
import { MooringError } from '../../events/errors.ts';
import { devicePorts, type DevicePortOptions } from '../mqtt/options.ts';
import type { ServerTls } from '../mqtt/listeners/tls.ts';
import type { QuotaLimiter } from '../quotas/limiter.ts';

export interface HttpEndpointOptions extends DevicePortOptions {
  /** Largest request body (bytes); beyond it 413 and nothing more is read. Default 64 KiB (Drogue). */
  maxBodySize?: number;
  /** Longest command wait (`ct`), seconds; a longer `ct` waits this long. Default 60. */
  maxCommandWaitSeconds?: number;
  /** Publish-as decisions cached endpoint-wide: entries and lifetime. Default 4096, 30 s. */
  authzCacheSize?: number;
  authzCacheTtlMs?: number;
  /** A request must arrive whole within this (ms): slow bodies are cut off. Default 30 000. */
  requestTimeoutMs?: number;
  /** Generates event ids. Default crypto.randomUUID. */
  newId?: () => string;
  /** Registered while a request waits with `ct`, so command dispatch routes to this instance. */
  directory?: ConnectionDirectory | undefined;
  /** This instance's id in the directory (shared with the MQTT gateway of the same process). */
  instanceId?: string;
  /** `MOORING_HTTP_PORT` (8088); `false` disables plain HTTP. */
  port?: number | false;
  /** `MOORING_HTTPS_PORT` (8443): enabled when `tls` holds a certificate and key. */
  tlsPort?: number | false;
  host?: string;
  tls?: ServerTls | undefined;
  /** The process's quota limiter (connectors/quotas), shared with the MQTT gateway. Default none. */
  quotas?: QuotaLimiter | undefined;
}

export type ResolvedHttpOptions = Readonly<Required<Omit<HttpEndpointOptions, 'directory' | 'tls' | 'quotas'>>> & {
  readonly directory: ConnectionDirectory | undefined;
  readonly tls: ServerTls | undefined;
  readonly quotas: QuotaLimiter | undefined;
};

function nonNegativeInt(name: string, value: number | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new MooringError('MOORING_INVALID_CONFIG', `http endpoint: ${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

export function resolveHttpOptions(o: HttpEndpointOptions): ResolvedHttpOptions {
  return Object.freeze({
    ...devicePorts(o, 'http endpoint'),
    maxBodySize: nonNegativeInt('maxBodySize', o.maxBodySize, 64 * 1024),
    maxCommandWaitSeconds: nonNegativeInt('maxCommandWaitSeconds', o.maxCommandWaitSeconds, 60),
    authzCacheSize: Math.max(1, nonNegativeInt('authzCacheSize', o.authzCacheSize, 4096)),
    authzCacheTtlMs: nonNegativeInt('authzCacheTtlMs', o.authzCacheTtlMs, 30_000),
    requestTimeoutMs: Math.max(1, nonNegativeInt('requestTimeoutMs', o.requestTimeoutMs, 30_000)),
    newId: o.newId ?? (() => crypto.randomUUID()),
    directory: o.directory,
    instanceId: o.instanceId ?? crypto.randomUUID(),
    port: o.port ?? 8088,
    tlsPort: o.tlsPort ?? 8443,
    host: o.host ?? '0.0.0.0',
    tls: o.tls,
    quotas: o.quotas,
  });
}
