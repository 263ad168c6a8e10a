// Endpoint discovery (Drogue's console backend, §7): /.well-known/drogue-endpoints (anonymous),
// /.well-known/drogue-version, /api/console/v1alpha1/info (authenticated, anonymous allowed), and,
// when no external issuer is configured, an OpenID discovery document of the API itself so that
// `drg login <url> --access-token user:token` finds the two strings it requires (it never calls
// them with access tokens). The OpenAPI document is served at /api and at /.

import { readFileSync } from 'node:fs';
import type { Express, Request } from 'express';
import { parse } from 'yaml';
import type { ApiContext } from './context.ts';

export const DROGUE_VERSION = '0.11.0';
export const OPENAPI_PATH = new URL('../docs/openapi.yaml', import.meta.url);
export const ENDPOINTS = '/.well-known/drogue-endpoints';
export const VERSION = '/.well-known/drogue-version';
export const OIDC_DISCOVERY = '/.well-known/openid-configuration';
export const INFO = '/api/console/v1alpha1/info';

/** Drogue's `Endpoints` (snake_case keys): what the lead configured, plus the API's own URLs. */
export function endpointsOf(ctx: ApiContext, req: Request): Record<string, unknown> {
  const base = ctx.base(req);
  return {
    ...ctx.endpoints,
    api: base,
    registry: { url: base },
    command_url: base,
    issuer_url: ctx.config.oidcIssuer ?? base,
  };
}

export function mountDiscovery(app: Express, ctx: ApiContext): void {
  const document = parse(readFileSync(OPENAPI_PATH, 'utf8')) as Record<string, unknown>;
  const openapi = (req: Request) => ({ ...document, servers: [{ url: ctx.base(req) }] });

  app.get(ENDPOINTS, (req, res) => {
    res.json(endpointsOf(ctx, req));
  });

  app.get(VERSION, (_req, res) => {
    res.json({ version: DROGUE_VERSION });
  });

  app.get(INFO, ctx.authn.middleware(), (req, res) => {
    res.json({ ...endpointsOf(ctx, req), ...(ctx.demos.length > 0 ? { demos: ctx.demos } : {}) });
  });

  if (ctx.config.oidcIssuer === undefined) {
    app.get(OIDC_DISCOVERY, (req, res) => {
      const base = ctx.base(req);
      // Placeholders: the API issues no JWTs; drg needs the strings, and calls them only for browser logins.
      res.json({
        issuer: base,
        authorization_endpoint: `${base}/api/oidc/v1alpha1/authorize`,
        token_endpoint: `${base}/api/oidc/v1alpha1/token`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        grant_types_supported: [],
      });
    });
  }

  app.get('/api', (req, res) => {
    res.json(openapi(req));
  });
  app.get('/', (req, res) => {
    res.json(openapi(req));
  });
}
