// Options of the MQTT gateway, their defaults and their checks (done once, at construction; the
// resolved object is frozen). Ports (bus, registry, logger, clock) and the authz functions are
// injected; the authz functions default to the real ones from functions/authz.

import type { SecureContextOptions } from 'node:tls';
import type { EventBus } from '../../functions/ports/bus.ts';
import type { RegistryReader } from '../../functions/ports/registry.ts';
import type { ConnectionDirectory } from '../../functions/ports/directory.ts';
import type { CommandQueue } from '../../functions/ports/command-queue.ts';
import type { ReplyReceiver } from '../../functions/command-dispatch/replies.ts';
import { silentLogger, systemClock, type Clock, type Logger } from '../../functions/ports/runtime.ts';
import type { AuthenticateOutcome, AuthenticateRequest, AuthorizeAsRequest, AuthorizeOutcome } from '../../functions/authz/types.ts';
import { authenticate as realAuthenticate } from '../../functions/authz/authenticate.ts';
import { authorizeAs as realAuthorizeAs } from '../../functions/authz/authorize-as.ts';
import { pskKeyFor as realPskKeyFor } from '../../functions/authz/psk.ts';
import { MooringError } from '../../events/errors.ts';
import type { QuotaLimiter } from '../quotas/limiter.ts';

export type Authenticate = (req: AuthenticateRequest, registry: RegistryReader, clock: Clock) => Promise<AuthenticateOutcome>;
export type AuthorizeAs = (req: AuthorizeAsRequest, registry: RegistryReader) => Promise<AuthorizeOutcome>;
export type PskKeyFor = (identity: string, registry: RegistryReader, clock: Clock) => Promise<Uint8Array | undefined>;

export interface ListenerOptions {
  /** Plain MQTT over TCP (`MOORING_MQTT_PORT`, 1883); `false` disables it. */
  port?: number | false;
  /** MQTT over TLS (`MOORING_MQTTS_PORT`, 8883): enabled when `tls` holds a certificate and key. */
  tlsPort?: number | false;
  /** MQTT over WebSocket (`MOORING_MQTT_WS_PORT`, 8083, subprotocol `mqtt`); `false` disables it. */
  wsPort?: number | false;
  host?: string;
  /** Server certificate and key (PEM) for the TLS listener; client certificates are requested, optional. */
  tls?: Pick<SecureContextOptions, 'cert' | 'key' | 'ca' | 'ciphers' | 'minVersion'>;
}

/** What every device connector (MQTT gateway, HTTP endpoint) takes: ports and the authz functions. */
export interface DevicePortOptions {
  bus: EventBus;
  registry: RegistryReader;
  logger?: Logger;
  clock?: Clock;
  authenticate?: Authenticate;
  authorizeAs?: AuthorizeAs;
  pskKeyFor?: PskKeyFor;
}

/** The device connector's ports with their defaults (authz: the real functions of functions/authz). */
export function devicePorts(o: DevicePortOptions, who: string): Required<DevicePortOptions> {
  if (!o.bus || !o.registry) throw new MooringError('MOORING_INVALID_CONFIG', `${who}: bus and registry are required`);
  return {
    bus: o.bus,
    registry: o.registry,
    logger: o.logger ?? silentLogger,
    clock: o.clock ?? systemClock,
    authenticate: o.authenticate ?? realAuthenticate,
    authorizeAs: o.authorizeAs ?? realAuthorizeAs,
    pskKeyFor: o.pskKeyFor ?? realPskKeyFor,
  };
}

export interface MqttGatewayOptions extends DevicePortOptions {
  /** Value of the `instance` extension on connection events (Drogue: `drogue`). */
  instance?: string;
  /** Maximum Packet Size accepted and announced (bytes, whole packet). Default 16 KiB. */
  maxPacketSize?: number;
  /** Connections beyond this are refused (v5 0x9F, v3.1.1 rc 3). Default unlimited. */
  maxConnections?: number;
  /** CONNECT must arrive within this (ms). Default 15 000. */
  connectTimeoutMs?: number;
  /** Topic Alias Maximum announced to v5 clients. Default 16 (0 disables aliases). */
  topicAliasMaximum?: number;
  /** Receive Maximum announced to v5 clients (QoS 1/2 publishes not yet acknowledged). Default 64. */
  receiveMaximum?: number;
  /** Bus publishes in flight per connection before the gateway stops reading from it. Default 256. */
  maxInFlight?: number;
  /** Publish-as decisions cached per session: entries and lifetime. Default 128, 30 s. */
  authzCacheSize?: number;
  authzCacheTtlMs?: number;
  /** Resolution of the keep-alive / connect timers (ms). Default 1000. */
  timerResolutionMs?: number;
  /** Commands are dropped for a connection with more than this many bytes unsent. Default 1 MiB. */
  maxWriteBuffer?: number;
  listeners?: ListenerOptions;
  /** Generates event ids. Default crypto.randomUUID. */
  newId?: () => string;
  /**
   * Who holds which device's connection across instances (cross-instance takeover, routed
   * commands, goodbyes for dead instances). Without one the gateway is the only instance.
   */
  directory?: ConnectionDirectory | undefined;
  /** This instance's id in the directory and on routed commands (`mooringholder`). Default a random uuid. */
  instanceId?: string;
  /** The opt-in offline queue: queued commands reach a connection when it subscribes. */
  queue?: CommandQueue | undefined;
  /** Request/response commands: where devices' answers on `command/reply/<id>` go. */
  replies?: ReplyReceiver | undefined;
  /** The process's quota limiter (connectors/quotas), shared with the HTTP endpoint. Default none. */
  quotas?: QuotaLimiter | undefined;
  /** v5: publishes refused over quota within one second before DISCONNECT 0x96 (0 = never). Default 100. */
  quotaDisconnectAfter?: number;
}

export type ResolvedOptions = Readonly<Required<Omit<MqttGatewayOptions, 'listeners' | 'directory' | 'queue' | 'replies' | 'quotas'>>> & {
  readonly listeners: Readonly<ListenerOptions>;
  readonly directory: ConnectionDirectory | undefined;
  readonly queue: CommandQueue | undefined;
  readonly replies: ReplyReceiver | undefined;
  readonly quotas: QuotaLimiter | undefined;
};

function positiveInt(name: string, value: number | undefined, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return dflt;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new MooringError('MOORING_INVALID_CONFIG', `mqtt gateway: ${name} must be an integer 0..${max}, got ${String(value)}`);
  }
  return value;
}

export function resolveOptions(o: MqttGatewayOptions): ResolvedOptions {
  const ports = devicePorts(o, 'mqtt gateway');
  const maxPacketSize = positiveInt('maxPacketSize', o.maxPacketSize, 16 * 1024, 268_435_460);
  if (maxPacketSize < 64) throw new MooringError('MOORING_INVALID_CONFIG', 'mqtt gateway: maxPacketSize must be at least 64');
  const receiveMaximum = positiveInt('receiveMaximum', o.receiveMaximum, 64, 65535);
  if (receiveMaximum === 0) throw new MooringError('MOORING_INVALID_CONFIG', 'mqtt gateway: receiveMaximum must be at least 1');
  return Object.freeze({
    ...ports,
    instance: o.instance ?? 'drogue',
    maxPacketSize,
    maxConnections: positiveInt('maxConnections', o.maxConnections, Number.MAX_SAFE_INTEGER),
    connectTimeoutMs: positiveInt('connectTimeoutMs', o.connectTimeoutMs, 15_000),
    topicAliasMaximum: positiveInt('topicAliasMaximum', o.topicAliasMaximum, 16, 65535),
    receiveMaximum,
    maxInFlight: Math.max(1, positiveInt('maxInFlight', o.maxInFlight, 256)),
    authzCacheSize: Math.max(1, positiveInt('authzCacheSize', o.authzCacheSize, 128)),
    authzCacheTtlMs: positiveInt('authzCacheTtlMs', o.authzCacheTtlMs, 30_000),
    timerResolutionMs: Math.max(1, positiveInt('timerResolutionMs', o.timerResolutionMs, 1000)),
    maxWriteBuffer: positiveInt('maxWriteBuffer', o.maxWriteBuffer, 1024 * 1024),
    listeners: Object.freeze({ ...(o.listeners ?? {}) }),
    newId: o.newId ?? (() => crypto.randomUUID()),
    directory: o.directory,
    instanceId: o.instanceId ?? crypto.randomUUID(),
    queue: o.queue,
    replies: o.replies,
    quotas: o.quotas,
    quotaDisconnectAfter: positiveInt('quotaDisconnectAfter', o.quotaDisconnectAfter, 100),
  });
}
