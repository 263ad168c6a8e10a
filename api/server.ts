// The management API: one express 5 app with Drogue Cloud's registry, admin, access-token and
// discovery routes (and the command route, given a sender), what `drg` 0.11 talks to (docs/openapi.yaml lists every route). CORS is
// permissive; every request is authenticated per route (anonymous allowed); every failure is
// answered by api/errors.ts. createApiApp builds the app; startApi listens on MOORING_API_PORT.

import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { RegistryStore } from '../functions/ports/registry.ts';
import type { TokenStore, UserRecord } from '../functions/ports/tokens.ts';
import type { Logger } from '../functions/ports/runtime.ts';
import { mountAdmin } from './admin.ts';
import { mountCommands, type CommandSender } from './commands.ts';
import { Authenticator } from './auth/authn.ts';
import { OidcVerifier } from './auth/oidc.ts';
import { makeBase, type ApiConfig, type ApiContext } from './context.ts';
import { mountDiscovery } from './discovery.ts';
import { emptyAnswer, errorHandler } from './errors.ts';
import { cors } from './http.ts';
import { mountRegistry } from './registry/routes.ts';
import { mountTokens } from './tokens/routes.ts';
import { answerMalformed } from '../connectors/http/respond.ts';

export interface ApiOptions {
  registry: RegistryStore;
  tokens: TokenStore;
  /** The API's part of cli/config.ts's Config (pass the whole Config). */
  config: ApiConfig;
  logger: Logger;
  /** Further `Endpoints` of discovery, snake_case: mqtt {host, port}, mqtt_ws, http, websocket_integration, console… */
  endpoints?: Record<string, unknown>;
  /** `demos` of /api/console/v1alpha1/info: [label, value] pairs. */
  demos?: Array<[string, string]>;
  /** Users known from the start (the embedded demo user), so that members and transfers can name them. */
  users?: UserRecord[];
  /** Sends drg's commands; without it the command route is not mounted. */
  commands?: CommandSender;
  /** The authenticator to share with the integrations (createAuthenticator); default a new one. */
  authn?: Authenticator;
}

/** The API's authenticator: access tokens of `tokens`, JWTs of the configured OpenID issuer. */
export function createAuthenticator(options: Pick<ApiOptions, 'config' | 'tokens' | 'logger'>): Authenticator {
  const oidc = options.config.oidcIssuer === undefined
    ? undefined
    : new OidcVerifier({ issuer: options.config.oidcIssuer, clientId: options.config.oidcClientId });
  return new Authenticator({ tokens: options.tokens, ...(oidc ? { oidc } : {}), logger: options.logger.child({ component: 'api' }) });
}

export interface ApiServer {
  app: Express;
  server: Server;
  port: number;
  /** http://<host>:<port> as bound (127.0.0.1 for a wildcard host). */
  url: string;
  close(): Promise<void>;
}

export function createApiApp(options: ApiOptions): Express {
  const logger = options.logger.child({ component: 'api' });
  const ctx: ApiContext = {
    registry: options.registry,
    tokens: options.tokens,
    authn: options.authn ?? createAuthenticator(options),
    config: options.config,
    logger,
    endpoints: options.endpoints ?? {},
    demos: options.demos ?? [],
    base: makeBase(options.config),
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(cors());
  mountDiscovery(app, ctx);
  mountRegistry(app, ctx);
  mountAdmin(app, ctx);
  mountTokens(app, ctx);
  if (options.commands) mountCommands(app, ctx, options.commands);
  // Unknown paths: actix's default, a 404 with no body.
  app.use(() => { throw emptyAnswer('MOORING_NOT_FOUND', 'No such route'); });
  app.use(errorHandler(logger));
  return app;
}

/** Builds the app and listens on `config.apiPort` (0: a free port) at `config.host`. */
export async function startApi(options: ApiOptions): Promise<ApiServer> {
  for (const u of options.users ?? []) await options.tokens.putUser(u);
  const app = createApiApp(options);
  const server = app.listen(options.config.apiPort, options.config.host);
  answerMalformed(server);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => { throw err; })]);
  const port = (server.address() as AddressInfo).port;
  const host = options.config.host === '0.0.0.0' || options.config.host === '::' ? '127.0.0.1' : options.config.host;
  options.logger.child({ component: 'api' }).info({ port }, 'management API listening');
  return {
    app, server, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeIdleConnections();
      server.close(() => resolve());
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    }),
  };
}
