// Who a request comes from, once authenticated (Drogue's UserInformation): a user with an id and
// roles, or anonymous (undefined).

import type { Response } from 'express';

export interface User {
  /** A JWT's `sub`; for an access token, the id of the user its username names. */
  id: string;
  username?: string;
  /** Realm and client roles of a JWT; always empty for an access token (as in Drogue). */
  roles: string[];
  via: 'jwt' | 'access-token';
  /** A JWT's `exp`, seconds since the epoch. */
  expires?: number;
}

export type Caller = User | undefined;

export const ADMIN_ROLE = 'drogue-admin';

export function isAdmin(caller: Caller): boolean {
  return caller?.roles.includes(ADMIN_ROLE) ?? false;
}

const KEY = 'mooringCaller';

export function setCaller(res: Response, caller: Caller): void {
  res.locals[KEY] = caller;
}

/** The caller the authentication middleware found (anonymous when it did not run). */
export function callerOf(res: Response): Caller {
  return res.locals[KEY] as Caller;
}
