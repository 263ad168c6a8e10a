// The admin routes (Drogue's admin-service, served with the registry): ownership transfer and
// members under /api/admin/v1alpha1/apps/{app}, and whoami. Members and transfers name users by
// username; ownership and member keys are stored as user ids (the user directory of the TokenStore
// resolves them, as Drogue does through Keycloak). The member key `""` (anonymous) passes through.

import type { Express, Response } from 'express';
import type { ApplicationAccess, MemberRole } from '../functions/ports/registry.ts';
import { isMooringError } from '../events/errors.ts';
import { authorize, type Permission } from './auth/authorize.ts';
import { callerOf } from './auth/caller.ts';
import type { ApiContext } from './context.ts';
import { apiError } from './errors.ts';
import { jsonBody, param } from './http.ts';

export const ADMIN = '/api/admin/v1alpha1';
const TRANSFER = `${ADMIN}/apps/:app/transfer-ownership`;
const ACCEPT = `${ADMIN}/apps/:app/accept-ownership`;
const MEMBERS = `${ADMIN}/apps/:app/members`;
export const WHOAMI = `${ADMIN}/user/whoami`;

const ROLES: readonly MemberRole[] = ['admin', 'manager', 'reader'];
const notFound = () => apiError('MOORING_NOT_FOUND', 'Not found');

export function mountAdmin(app: Express, ctx: ApiContext): void {
  const auth = ctx.authn.middleware();
  const { registry, tokens } = ctx;

  async function accessFor(res: Response, application: string, permission?: Permission): Promise<ApplicationAccess> {
    const access = await registry.getAccess(application);
    if (!access) throw notFound();
    if (permission !== undefined && authorize(access, callerOf(res), permission) !== 'allow') throw notFound();
    return access;
  }

  async function idOf(username: string): Promise<string> {
    const user = await tokens.userByUsername(username);
    if (!user) throw apiError('MOORING_INVALID_REQUEST', `Username ${username} does not exist`);
    return user.id;
  }

  async function usernameOf(id: string): Promise<string> {
    return (await tokens.userById(id))?.username ?? id;
  }

  /** The owner, or the user a transfer is offered to (Drogue compares the optional ids). */
  function ownerOrPending(res: Response, access: ApplicationAccess): boolean {
    const id = callerOf(res)?.id;
    return (access.owner ?? undefined) === id || (access.transferOwner !== undefined && access.transferOwner === id);
  }

  app.get(TRANSFER, auth, async (req, res) => {
    const access = await accessFor(res, param(req, 'app'));
    if (!ownerOrPending(res, access)) throw notFound();
    if (access.transferOwner === undefined) {
      res.status(204).end();
      return;
    }
    res.json({ newUser: await usernameOf(access.transferOwner) });
  });

  app.put(TRANSFER, auth, jsonBody(), async (req, res) => {
    const application = param(req, 'app');
    await accessFor(res, application, 'Owner');
    const newUser = (req.body as { newUser?: unknown }).newUser;
    if (typeof newUser !== 'string' || newUser === '') throw apiError('MOORING_INVALID_REQUEST', 'Missing newUser');
    await registry.setTransferOwner(application, await idOf(newUser));
    res.status(202).end();
  });

  app.delete(TRANSFER, auth, async (req, res) => {
    const application = param(req, 'app');
    const access = await accessFor(res, application);
    if (!ownerOrPending(res, access)) throw notFound();
    await registry.setTransferOwner(application, undefined);
    res.status(204).end();
  });

  app.put(ACCEPT, auth, async (req, res) => {
    const application = param(req, 'app');
    const access = await accessFor(res, application);
    const id = callerOf(res)?.id;
    if (id === undefined || access.transferOwner !== id) throw notFound();
    await registry.acceptTransfer(application);
    res.status(204).end();
  });

  app.get(MEMBERS, auth, async (req, res) => {
    const access = await accessFor(res, param(req, 'app'), 'Admin');
    const members: Record<string, { role: MemberRole }> = {};
    for (const [id, m] of Object.entries(access.members)) members[id === '' ? '' : await usernameOf(id)] = { role: m.role };
    res.json({ resourceVersion: access.resourceVersion, members });
  });

  app.put(MEMBERS, auth, jsonBody(), async (req, res) => {
    const application = param(req, 'app');
    await accessFor(res, application, 'Admin');
    const body = req.body as { resourceVersion?: unknown; members?: unknown };
    if (body.resourceVersion !== undefined && body.resourceVersion !== null && typeof body.resourceVersion !== 'string') {
      throw apiError('MOORING_INVALID_REQUEST', 'Json deserialize error: resourceVersion must be a string');
    }
    const given = body.members ?? {};
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      throw apiError('MOORING_INVALID_REQUEST', 'Json deserialize error: members must be an object');
    }
    const members: ApplicationAccess['members'] = {};
    for (const [username, entry] of Object.entries(given as Record<string, unknown>)) {
      const role = (entry as { role?: unknown } | null)?.role;
      if (!ROLES.includes(role as MemberRole)) {
        throw apiError('MOORING_INVALID_REQUEST', `Json deserialize error: unknown role ${JSON.stringify(role)} of ${username}`);
      }
      members[username === '' ? '' : await idOf(username)] = { role: role as MemberRole };
    }
    const version = typeof body.resourceVersion === 'string' && body.resourceVersion !== '' ? body.resourceVersion : undefined;
    try {
      await registry.setMembers(application, members, version);
    } catch (err) {
      if (isMooringError(err, 'MOORING_CONFLICT')) throw apiError('MOORING_CONFLICT', 'Optimistic lock failed', { name: 'OptimisticLockFailed' }, err);
      throw err;
    }
    res.status(204).end();
  });

  app.get(WHOAMI, auth, (_req, res) => {
    res.json({ id: callerOf(res)?.id ?? null });
  });
}
