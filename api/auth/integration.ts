// The application authentication of the pull integrations (connectors/mqtt-integration,
// connectors/ws-integration): the API's own authenticator (access tokens, OpenID JWTs) and
// Drogue's authorisation table on the registry's access records, nothing of their own.

import type { RegistryStore } from '../../functions/ports/registry.ts';
import type { Authenticator } from './authn.ts';
import { authorize, type Permission } from './authorize.ts';
import type { User } from './caller.ts';

export interface ApplicationAuth {
  verifyAccessToken(username: string, token: string): Promise<User>;
  verifyJwt(token: string): Promise<User>;
  /** The four credential forms of an HTTP request (§6.1): undefined is anonymous; rejects with 403 errors. */
  fromRequest(authorization: string | undefined, query: Readonly<Record<string, unknown>>): Promise<User | undefined>;
  /** allow / deny, or `missing` when the application does not exist. */
  authorize(application: string, user: { id: string; roles: readonly string[] } | undefined, permission: Permission): Promise<'allow' | 'deny' | 'missing'>;
}

export function applicationAuth(authn: Authenticator, registry: Pick<RegistryStore, 'getAccess'>): ApplicationAuth {
  return {
    verifyAccessToken: (username, token) => authn.verifyAccessToken(username, token),
    verifyJwt: (token) => authn.verifyJwt(token),
    fromRequest: (authorization, query) => authn.authenticateParts(authorization, query),
    async authorize(application, user, permission) {
      const access = await registry.getAccess(application);
      if (access === undefined) return 'missing';
      return authorize(access, user, permission);
    },
  };
}
