// The registry routes (Drogue's device-management-service): applications and devices under
// /api/registry/v1alpha1, with Drogue's statuses and bodies (§5.1, §5.3, §5.5 of the reference):
// an empty 400 for a bad name or a path/body mismatch, an empty 404 for a missing app or device,
// 403 AuthenticationError for a denied app, 404 NotFound / ReferenceNotFound for a denied device.

import type { Express, Request, Response } from 'express';
import { authorize, visibleInList, type Permission } from '../auth/authorize.ts';
import { callerOf } from '../auth/caller.ts';
import type { ApiContext } from '../context.ts';
import { apiError, emptyAnswer } from '../errors.ts';
import { jsonBody, lenientBody, param, queryInteger, queryString } from '../http.ts';
import { applicationInput, deviceInput, isValidApplicationName, preconditionsOf, toWire } from './wire.ts';

export const REGISTRY = '/api/registry/v1alpha1';
const APPS = `${REGISTRY}/apps`;
const APP = `${APPS}/:app`;
const DEVICES = `${APP}/devices`;
const DEVICE = `${DEVICES}/:device`;

const appDenied = () => apiError('MOORING_NOT_AUTHORIZED', 'Not authorized', { name: 'AuthenticationError' });
const notFound = () => apiError('MOORING_NOT_FOUND', 'Not found');
const referenceNotFound = () => apiError('MOORING_REFERENCE_NOT_FOUND', 'Referenced a non-existing entity');

function listOptions(req: Request): { labels?: string; limit?: number; offset?: number } {
  const out: { labels?: string; limit?: number; offset?: number } = {};
  const labels = queryString(req, 'labels');
  if (labels !== undefined && labels !== '') out.labels = labels;
  const limit = queryInteger(req, 'limit');
  if (limit !== undefined) out.limit = limit;
  const offset = queryInteger(req, 'offset');
  if (offset !== undefined) out.offset = offset;
  return out;
}

function location(ctx: ApiContext, req: Request, ...segments: string[]): string {
  return `${ctx.base(req)}${APPS}/${segments.map(encodeURIComponent).join('/devices/')}`;
}

export function mountRegistry(app: Express, ctx: ApiContext): void {
  const auth = ctx.authn.middleware();
  const { registry } = ctx;

  /** Whether the caller holds `permission` on the application; false also when it does not exist. */
  async function allowed(res: Response, application: string, permission: Permission): Promise<boolean> {
    return authorize(await registry.getAccess(application), callerOf(res), permission) === 'allow';
  }

  // --- applications --------------------------------------------------------------------------

  app.post(APPS, auth, jsonBody(), async (req, res) => {
    const input = applicationInput(req.body as Record<string, unknown>);
    if (!isValidApplicationName(input.metadata.name)) throw emptyAnswer('MOORING_INVALID_REQUEST', 'Invalid application name');
    const owner = callerOf(res)?.id;
    await registry.createApplication(input, owner === undefined ? {} : { owner });
    res.status(201).location(location(ctx, req, input.metadata.name)).end();
  });

  app.get(APPS, auth, async (req, res) => {
    const caller = callerOf(res);
    const apps = await registry.listApplications({ ...listOptions(req), filter: (_a, access) => visibleInList(access, caller) });
    res.json(apps.map(toWire));
  });

  app.get(APP, auth, async (req, res) => {
    const name = param(req, 'app');
    const found = await registry.getApplication(name);
    if (!found) throw emptyAnswer('MOORING_NOT_FOUND', 'Not found');
    if (!(await allowed(res, name, 'Read'))) throw appDenied();
    res.json(toWire(found));
  });

  app.put(APP, auth, jsonBody(), async (req, res) => {
    const name = param(req, 'app');
    const input = applicationInput(req.body as Record<string, unknown>);
    if (name === '' || input.metadata.name !== name) throw emptyAnswer('MOORING_INVALID_REQUEST', 'The name of the path and the body differ');
    const access = await registry.getAccess(name);
    if (!access) throw notFound();
    if (authorize(access, callerOf(res), 'Write') !== 'allow') throw appDenied();
    await registry.updateApplication(input);
    res.status(204).end();
  });

  app.delete(APP, auth, lenientBody(), async (req, res) => {
    const name = param(req, 'app');
    const access = await registry.getAccess(name);
    if (!access) throw notFound();
    if (authorize(access, callerOf(res), 'Admin') !== 'allow') throw appDenied();
    await registry.deleteApplication(name, preconditionsOf(req.body));
    res.status(204).end();
  });

  // --- devices ---------------------------------------------------------------------------------

  app.post(DEVICES, auth, jsonBody(), async (req, res) => {
    const input = deviceInput(req.body as Record<string, unknown>);
    const { name, application } = input.metadata;
    if (name === '' || Buffer.byteLength(name) > 255 || application === '') {
      throw emptyAnswer('MOORING_INVALID_REQUEST', 'Invalid device name or application');
    }
    // As Drogue: created in, and authorised against, metadata.application; Location uses the path.
    if (!(await allowed(res, application, 'Write'))) throw referenceNotFound();
    await registry.createDevice(input);
    res.status(201).location(location(ctx, req, param(req, 'app'), name)).end();
  });

  app.get(DEVICES, auth, async (req, res) => {
    const application = param(req, 'app');
    if (!(await allowed(res, application, 'Read'))) throw notFound();
    const devices = await registry.listDevices(application, listOptions(req));
    res.json(devices.map(toWire));
  });

  app.get(DEVICE, auth, async (req, res) => {
    const application = param(req, 'app');
    if (!(await allowed(res, application, 'Read'))) throw notFound();
    const found = await registry.getDevice(application, param(req, 'device'));
    if (!found) throw emptyAnswer('MOORING_NOT_FOUND', 'Not found');
    res.json(toWire(found));
  });

  app.put(DEVICE, auth, jsonBody(), async (req, res) => {
    const application = param(req, 'app');
    const name = param(req, 'device');
    const input = deviceInput(req.body as Record<string, unknown>);
    if (input.metadata.application !== application || input.metadata.name !== name || name === '') {
      throw emptyAnswer('MOORING_INVALID_REQUEST', 'The names of the path and the body differ');
    }
    if (!(await allowed(res, application, 'Write'))) throw notFound();
    await registry.updateDevice(input);
    res.status(204).end();
  });

  app.delete(DEVICE, auth, lenientBody(), async (req, res) => {
    const application = param(req, 'app');
    if (!(await allowed(res, application, 'Write'))) throw notFound();
    await registry.deleteDevice(application, param(req, 'device'), preconditionsOf(req.body));
    res.status(204).end();
  });
}
