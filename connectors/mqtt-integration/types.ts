// What the MQTT integration (./server.ts) and the WebSocket integration (connectors/ws-integration) need from the rest of
// Mooring, as ports: the application authentication of the management API (access tokens, JWTs,
// Drogue's authorisation table; api/auth/) and "send command" (functions/command-dispatch/send.ts).

import type { SendCommandRequest, SendCommandResult } from '../../functions/command-dispatch/index.ts';

/** An authenticated user (api/auth/caller.ts `User`); undefined is anonymous. */
export interface IntegrationUser {
  readonly id: string;
  readonly roles: readonly string[];
  /** A JWT's `exp` (seconds since the epoch). */
  readonly expires?: number | undefined;
}

export type Permission = 'Read' | 'Write';

/** The answer of an authorisation: allowed, denied, or no such application. */
export type Access = 'allow' | 'deny' | 'missing';

export interface IntegrationAuth {
  /** The user of an access token; rejects when it is not valid. */
  verifyAccessToken(username: string, token: string): Promise<IntegrationUser>;
  /** The user of an OpenID JWT; rejects when it is not valid (or no issuer is configured). */
  verifyJwt(token: string): Promise<IntegrationUser>;
  /** The four credential forms of an HTTP request (§6.1); undefined is anonymous; rejects when invalid. */
  fromRequest(authorization: string | undefined, query: Readonly<Record<string, unknown>>): Promise<IntegrationUser | undefined>;
  /** Drogue's decision for `user` (undefined: anonymous) on `application`. */
  authorize(application: string, user: IntegrationUser | undefined, permission: Permission): Promise<Access>;
}

export type SendCommand = (request: SendCommandRequest) => Promise<SendCommandResult>;
