// What a session needs from the gateway that owns it: options, the session index, the timer tick,
// the registry epoch and the counters. Kept as an interface so sessions and handlers do not import
// the gateway module (which imports them).

import type { Device } from '../../functions/ports/registry.ts';
import type { ResolvedOptions } from './options.ts';
import type { Session } from './session.ts';

export interface GatewayStats {
  /** Open connections (every accepted stream, connected or not). */
  connections: number;
  connectsAccepted: number;
  connectsRefused: number;
  publishesAccepted: number;
  publishesRefused: number;
  /** QoS 0 publishes not taken (not authorized, bad topic, rejected, bus full). */
  publishesDropped: number;
  commandsDelivered: number;
  /** Connections closed for a protocol violation, a malformed or an oversize packet. */
  protocolErrors: number;
  takeovers: number;
  willsPublished: number;
}

/** TLS facts of a connection, as the listener saw them in the handshake. */
export interface TlsInfo {
  /** Client certificate chain, leaf first (PEM or DER), when the client presented one. */
  certificateChain?: Array<string | Uint8Array>;
  /** The TLS-PSK identity whose key the handshake proved. */
  pskIdentity?: string;
}

export interface ConnectionInfo {
  tls?: TlsInfo;
  remoteAddress?: string;
}

export interface GatewayCore {
  readonly opts: ResolvedOptions;
  /** Advances every `timerResolutionMs`; sessions store ticks, not timestamps. */
  readonly tick: number;
  /** Bumped on every registry change: cached decisions from an older epoch are stale. */
  readonly epoch: number;
  readonly stats: GatewayStats;
  /** The connected session of a device (`app`, `device`). */
  sessionOf(application: string, device: string): Session | undefined;
  /** Makes `session` the device's connection; the caller has taken the old one over. */
  register(session: Session): void;
  /** Forgets a closed session (connections, index, subscriptions). */
  unregister(session: Session): void;
  /** Keeps the device document's gateways for command routing. */
  rememberDevice(device: Device): void;
  /** Command subscriptions by device filter (`command/inbox/<device>/#`) held by other sessions. */
  addDeviceSubscriber(application: string, device: string, session: Session): void;
  removeDeviceSubscriber(application: string, device: string, session: Session): void;
  /** True when a new connection would exceed maxConnections. */
  atCapacity(): boolean;
}

/** Key of the session index and the per-device subscriptions. */
export function deviceKey(application: string, device: string): string {
  return application + '\u0000' + device;
}
