// Drogue's authorisation decision (database-common/src/auth.rs, user-auth-service), a pure
// function of the application's access record, the caller and the permission asked for:
//  1. role drogue-admin may do anything;
//  2. an application without an owner allows everyone, anonymous callers included;
//  3. the owner may do anything;
//  4. Owner-level actions are for the owner only;
//  5. members: admin → Admin, Write, Read; manager → Write, Read; reader → Read. The key is the
//     user id; anonymous callers are looked up under `""`.
// A missing application is denied.

import type { ApplicationAccess, MemberRole } from '../../functions/ports/registry.ts';
import { ADMIN_ROLE } from './caller.ts';

export type Permission = 'Owner' | 'Admin' | 'Write' | 'Read';
export type Outcome = 'allow' | 'deny';

export interface Subject {
  /** Undefined, null or empty: anonymous. */
  id?: string | null;
  roles: readonly string[];
}

const GRANTS: Record<MemberRole, readonly Permission[]> = {
  admin: ['Admin', 'Write', 'Read'],
  manager: ['Write', 'Read'],
  reader: ['Read'],
};

export function authorize(access: ApplicationAccess | undefined, subject: Subject | undefined, permission: Permission): Outcome {
  if (!access) return 'deny';
  if (subject?.roles.includes(ADMIN_ROLE)) return 'allow';
  if (access.owner === undefined || access.owner === '') return 'allow';
  const id = subject?.id || '';
  if (id !== '' && access.owner === id) return 'allow';
  if (permission === 'Owner') return 'deny';
  const role = Object.hasOwn(access.members, id) ? access.members[id]?.role : undefined;
  return role !== undefined && (GRANTS[role] ?? []).includes(permission) ? 'allow' : 'deny';
}

/** Drogue's app-list visibility: owned, or a member role for the user or for anonymous (`""`). */
export function visibleInList(access: ApplicationAccess, subject: Subject | undefined): boolean {
  if (subject?.roles.includes(ADMIN_ROLE)) return true;
  const id = subject?.id || '';
  if (id !== '' && access.owner === id) return true;
  const has = (key: string): boolean => Object.hasOwn(access.members, key) && access.members[key]?.role !== undefined;
  if (!has(id) && !has('')) return false;
  return authorize(access, subject, 'Read') === 'allow';
}
