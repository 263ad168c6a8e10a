// A real OpenID provider (node-oidc-provider) for the API tests, on a free port: discovery, JWKS and
// a token endpoint issuing JWT access tokens by the client-credentials grant (resource indicators
// choose the audience: urn:drogue → `drogue`, urn:other → `other`, urn:short → `drogue` with a
// 2 s lifetime). `sign` makes tokens with the provider's own key (the one its JWKS serves) for
// claims the grant cannot produce (azp, roles, a chosen sub).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

export interface TestIssuer {
  issuer: string;
  /** A JWT access token from the token endpoint (client credentials). */
  grant(resource?: 'urn:drogue' | 'urn:other' | 'urn:short'): Promise<string>;
  /** A JWT signed with the provider's key (kid of its JWKS). */
  sign(claims: JWTPayload, opts?: { expiresIn?: string | number }): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<TestIssuer> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = (id: string) => ({
    client_id: id, client_secret: `${id}-secret`, grant_types: ['client_credentials'], redirect_uris: [], response_types: [],
  });
  const provider = new Provider(issuer, {
    jwks: { keys: [jwk] },
    clients: [client('drogue')],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:drogue',
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          scope: 'api',
          audience: resource === 'urn:other' ? 'other' : 'drogue',
          accessTokenFormat: 'jwt',
          accessTokenTTL: resource === 'urn:short' ? 2 : 300,
        }),
      },
    },
    ttl: { ClientCredentials: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) => token.resourceServer?.accessTokenTTL ?? 300 },
    extraTokenClaims: () => ({ preferred_username: 'service-drogue', realm_access: { roles: ['offline_access'] } }),
  });
  server.on('request', provider.callback());
  return {
    issuer,
    async grant(resource = 'urn:drogue') {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('drogue:drogue-secret').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api', resource }).toString(),
      });
      const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!res.ok || !body.access_token) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    async sign(claims, opts = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key', typ: 'JWT' })
        .setIssuer(issuer).setIssuedAt().setExpirationTime(opts.expiresIn ?? '5m')
        .sign(privateKey);
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
