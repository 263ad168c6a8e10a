// The gateway's plain facts shared by its modules: the counters, what a listener knows of a
// connection, the key of the device index. No imports: every module of the gateway may use it.

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

/** Key of the session index and the per-device subscriptions. */
export function deviceKey(application: string, device: string): string {
  return application + '\u0000' + device;
}
