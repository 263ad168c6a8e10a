// Authentication of management API requests (bazaar:src/actix/auth/authentication/middleware.rs).
// The credential forms are mutually exclusive:
//   Authorization: Bearer <JWT> · Authorization: Basic base64(<username>:<access token>)
//   ?token=<JWT> · ?username=<username>&api_key=<access token>
// None → anonymous; more than one → 403 Forbidden "Invalid request: More than one way of
// authentication provided"; an invalid JWT or unknown access token → 403 Forbidden "Forbidden".
// Without a configured issuer every JWT is invalid (access tokens only).

import type { NextFunction, Request, Response } from 'express';
import { MooringError } from '../../events/errors.ts';
import type { TokenStore } from '../../functions/ports/tokens.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import { quickCheck, tokenMatches } from '../tokens/format.ts';
import { setCaller, type Caller, type User } from './caller.ts';
import type { OidcVerifier } from './oidc.ts';

export interface AuthenticatorOptions {
  tokens: TokenStore;
  /** Undefined: no OpenID issuer, JWTs are refused. */
  oidc?: OidcVerifier;
  logger: Logger;
}

type Presented =
  | { form: 'jwt'; token: string }
  | { form: 'access-token'; username: string; token: string | undefined };

function forbidden(message = 'Forbidden'): MooringError {
  return new MooringError('MOORING_FORBIDDEN', message);
}

function firstQuery(query: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const v = query[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** The credential forms of a request; throws MOORING_FORBIDDEN on a malformed header. */
export function presented(header: string | undefined, query: Readonly<Record<string, unknown>>): Presented[] {
  const out: Presented[] = [];
  if (header !== undefined) {
    const m = /^(\S+)\s+(.*)$/.exec(header.trim());
    const scheme = m?.[1]?.toLowerCase();
    if (scheme === 'bearer') out.push({ form: 'jwt', token: m![2]!.trim() });
    else if (scheme === 'basic') {
      const decoded = Buffer.from(m![2]!.trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      out.push(colon < 0
        ? { form: 'access-token', username: decoded, token: undefined }
        : { form: 'access-token', username: decoded.slice(0, colon), token: decoded.slice(colon + 1) });
    } else throw forbidden();
  }
  const token = firstQuery(query, 'token');
  if (token !== undefined) out.push({ form: 'jwt', token });
  const username = firstQuery(query, 'username');
  const apiKey = firstQuery(query, 'api_key');
  if (username !== undefined || apiKey !== undefined) {
    if (username === undefined) throw forbidden();
    out.push({ form: 'access-token', username, token: apiKey });
  }
  return out;
}

export class Authenticator {
  constructor(private readonly options: AuthenticatorOptions) {}

  /** The user an access token belongs to: quick check (length, prefix, CRC) first, then the store. */
  async verifyAccessToken(username: string, token: string): Promise<User> {
    const prefix = quickCheck(token);
    if (prefix === undefined) throw forbidden();
    const user = await this.options.tokens.userByUsername(username);
    if (!user) throw forbidden();
    const record = (await this.options.tokens.listTokens(user.id)).find((t) => t.prefix === prefix);
    if (!record || !tokenMatches(token, record.hashedToken)) throw forbidden();
    return { id: user.id, username: user.username, roles: [], via: 'access-token' };
  }

  async verifyJwt(token: string): Promise<User> {
    if (!this.options.oidc) throw forbidden();
    const user = await this.options.oidc.verify(token);
    // Remember the user, so that members and ownership transfer can name them by username.
    await this.options.tokens.putUser({ id: user.id, username: user.username ?? user.id }).catch((err: unknown) => {
      this.options.logger.warn({ err, user: user.id }, 'could not record the user of a JWT');
    });
    return user;
  }

  async authenticate(req: Request): Promise<Caller> {
    return this.authenticateParts(req.headers.authorization, req.query as Record<string, unknown>);
  }

  /** The same for any HTTP request (the WebSocket integration's upgrade): its Authorization header and query. */
  async authenticateParts(authorization: string | undefined, query: Readonly<Record<string, unknown>>): Promise<Caller> {
    const forms = presented(authorization, query);
    if (forms.length === 0) return undefined;
    if (forms.length > 1) throw forbidden('Invalid request: More than one way of authentication provided');
    const p = forms[0]!;
    if (p.form === 'jwt') return this.verifyJwt(p.token);
    if (p.token === undefined) throw forbidden('No access token provided.');
    return this.verifyAccessToken(p.username, p.token);
  }

  /** Express middleware: sets the caller (callerOf) or answers 403. */
  middleware() {
    return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      setCaller(res, await this.authenticate(req));
      next();
    };
  }
}
