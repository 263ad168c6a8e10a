// The contract of the authz function: authenticate a connecting device, authorize a sender to
// act for a device. Connectors call these in-process (and cache the decisions); the cluster
// serves the same logic as a Knative Service.

import type { Application, Device } from '../ports/registry.ts';

export interface AuthenticateRequest {
  /** MQTT username / HTTP basic user, e.g. `device@app` or a plain username. */
  username?: string;
  password?: Uint8Array | string;
  /** MQTT client id (used as `device@app` when the username has no `@`). */
  clientId?: string;
  /** HTTP `?application=` / `?device=` hints (Drogue's HTTP endpoint forms). */
  application?: string;
  device?: string;
  /** TLS client certificate chain, leaf first, as PEM or DER; already presented in the handshake. */
  certificateChain?: Array<string | Uint8Array>;
  /** TLS-PSK identity `device@app` whose key the handshake proved. */
  pskIdentity?: string;
}

export type AuthenticateOutcome =
  | { ok: true; application: Application; device: Device }
  /** `bad-credentials`: MQTT 3.1.1 rc 4 / v5 0x86; `not-authorized`: rc 5 / v5 0x87 (disabled, no such app). */
  | { ok: false; reason: 'bad-credentials' | 'not-authorized'; message: string };

export interface AuthorizeAsRequest {
  application: string;
  /** The authenticated device that is sending. */
  sender: string;
  /** The device it wants to act for (equal to sender for its own traffic). */
  device: string;
}

export type AuthorizeOutcome =
  | { ok: true; device: Device }
  | { ok: false; reason: 'not-authorized' | 'not-found'; message: string };
