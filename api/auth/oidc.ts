// Verification of user JWTs (bazaar:src/auth/openid): the issuer's JWKS is found through its
// discovery document (`<issuer>/.well-known/openid-configuration`, fetched once and then cached
// by jose's remote key set, which refetches on an unknown `kid`). `iss` must equal the issuer,
// `aud` contain the client id, `exp` lie ahead, `azp` (when present) equal the client id. Roles come
// from realm_access.roles, resource_access.services.roles and resource_access.drogue.roles.

import { createRemoteJWKSet, decodeJwt, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { MooringError } from '../../events/errors.ts';
import type { User } from './caller.ts';

export interface OidcOptions {
  issuer: string;
  clientId: string;
  /** Allowed clock skew, seconds (default 0, as Drogue). */
  clockToleranceSec?: number;
  fetchTimeoutMs?: number;
}

type RemoteJwks = ReturnType<typeof createRemoteJWKSet>;

function forbidden(cause?: unknown): MooringError {
  return new MooringError('MOORING_FORBIDDEN', 'Forbidden', cause === undefined ? undefined : { cause });
}

function rolesOf(claims: JWTPayload): string[] {
  const out = new Set<string>();
  const add = (v: unknown): void => {
    const roles = (v as { roles?: unknown } | undefined)?.roles;
    if (Array.isArray(roles)) for (const r of roles) if (typeof r === 'string') out.add(r);
  };
  add(claims.realm_access);
  const resources = claims.resource_access as Record<string, unknown> | undefined;
  if (resources && typeof resources === 'object') {
    add(resources.services);
    add(resources.drogue);
  }
  return [...out];
}

export class OidcVerifier {
  readonly issuer: string;
  private jwks: Promise<RemoteJwks> | undefined;

  constructor(private readonly options: OidcOptions) {
    this.issuer = options.issuer.replace(/\/+$/, '');
  }

  private keySet(): Promise<RemoteJwks> {
    this.jwks ??= (async () => {
      const url = `${this.issuer}/.well-known/openid-configuration`;
      let doc: { jwks_uri?: unknown };
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(this.options.fetchTimeoutMs ?? 5000) });
        if (!res.ok) throw new Error(`${url} answered ${res.status}`);
        doc = (await res.json()) as { jwks_uri?: unknown };
      } catch (err) {
        throw new MooringError('MOORING_UNAVAILABLE', `OpenID discovery of ${this.issuer} failed: ${(err as Error).message}`, { cause: err });
      }
      if (typeof doc.jwks_uri !== 'string') throw new MooringError('MOORING_UNAVAILABLE', `${url} names no jwks_uri`);
      return createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: this.options.fetchTimeoutMs ?? 5000 });
    })();
    // A failed discovery is tried again on the next token.
    this.jwks.catch(() => { this.jwks = undefined; });
    return this.jwks;
  }

  /** The user a JWT names; MOORING_FORBIDDEN when it is not valid, MOORING_UNAVAILABLE when the issuer cannot be reached. */
  async verify(token: string): Promise<User> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch (err) {
      throw forbidden(err);
    }
    // Drogue selects the client by `iss`: a token of another issuer has no client to check it.
    if (typeof unverified.iss !== 'string' || unverified.iss.replace(/\/+$/, '') !== this.issuer) throw forbidden();
    const jwks = await this.keySet();
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, {
        issuer: unverified.iss,
        audience: this.options.clientId,
        clockTolerance: this.options.clockToleranceSec ?? 0,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWKSTimeout) throw new MooringError('MOORING_UNAVAILABLE', 'JWKS fetch timed out', { cause: err });
      if (!(err instanceof joseErrors.JOSEError)) throw new MooringError('MOORING_UNAVAILABLE', `JWKS fetch failed: ${(err as Error).message}`, { cause: err });
      throw forbidden(err);
    }
    if (claims.azp !== undefined && claims.azp !== this.options.clientId) throw forbidden();
    const username = typeof claims.preferred_username === 'string' ? claims.preferred_username : undefined;
    return { id: claims.sub!, username, roles: rolesOf(claims), via: 'jwt', expires: claims.exp };
  }
}
