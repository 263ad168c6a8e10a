// What every route module gets: the stores, the authenticator, the configuration, the logger.

import type { Request } from 'express';
import type { RegistryStore } from '../functions/ports/registry.ts';
import type { TokenStore } from '../functions/ports/tokens.ts';
import type { Logger } from '../functions/ports/runtime.ts';
import type { Authenticator } from './auth/authn.ts';
import { baseUrl } from './http.ts';

export interface ApiConfig {
  apiPort: number;
  host: string;
  apiUrl: string | undefined;
  oidcIssuer: string | undefined;
  oidcClientId: string;
  /** Slowloris bounds (connectors/net/http.ts); defaults 10 s and 30 s. */
  httpHeadersTimeoutMs?: number;
  httpRequestTimeoutMs?: number;
}

export interface ApiContext {
  registry: RegistryStore;
  tokens: TokenStore;
  authn: Authenticator;
  config: ApiConfig;
  logger: Logger;
  /** Discovery fields beyond api/registry/command_url/issuer_url (mqtt, websocket_integration, console…). */
  endpoints: Record<string, unknown>;
  demos: Array<[string, string]>;
  base(req: Request): string;
}

export function makeBase(config: ApiConfig): (req: Request) => string {
  return (req) => baseUrl(req, config.apiUrl);
}
