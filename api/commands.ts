// The command route drg's `cmd` calls (Drogue's command-endpoint, §3.1–3.3 of the reference),
// mounted when the composition root passes a CommandSender: POST
// /api/command/v1alpha1/apps/{app}/devices/{device}?command=<name>, raw body (≤ 64 KiB) and its
// Content-Type forwarded. This module does the HTTP part (authentication, Read on the app →
// 404 "Resource not found: Application / <app>", the required `command`, the body); the sender does
// the rest (device and gateways, the events, external endpoints) and answers 202 (events sent) or
// 200 (an external endpoint took it), or throws: MOORING_REJECTED → 406 (also a missing app or
// device, as Drogue), MOORING_BUS_FULL → 503.

import express, { type Express } from 'express';
import { authorize } from './auth/authorize.ts';
import { callerOf } from './auth/caller.ts';
import type { ApiContext } from './context.ts';
import { apiError } from './errors.ts';
import { BODY_LIMIT, param, queryString } from './http.ts';

export const COMMAND = '/api/command/v1alpha1/apps/:app/devices/:device';

export interface CommandRequest {
  application: string;
  /** The requested device name (the path segment, not resolved through aliases). */
  device: string;
  command: string;
  payload: Uint8Array;
  contentType: string | undefined;
}

/** Sends one command; resolves with the status to answer (202, or 200 for an external endpoint). */
export type CommandSender = (request: CommandRequest) => Promise<202 | 200>;

const rawBody = express.raw({ limit: BODY_LIMIT, type: () => true });

export function mountCommands(app: Express, ctx: ApiContext, send: CommandSender): void {
  app.post(COMMAND, ctx.authn.middleware(), rawBody, async (req, res) => {
    const application = param(req, 'app');
    if (authorize(await ctx.registry.getAccess(application), callerOf(res), 'Read') !== 'allow') {
      throw apiError('MOORING_NOT_FOUND', `Resource not found: Application / ${application}`);
    }
    const command = queryString(req, 'command');
    if (command === undefined || command === '') throw apiError('MOORING_INVALID_REQUEST', 'Query deserialize error: missing field `command`');
    const payload = Buffer.isBuffer(req.body) ? new Uint8Array(req.body) : new Uint8Array();
    const status = await send({ application, device: param(req, 'device'), command, payload, contentType: req.get('content-type') });
    res.status(status).end();
  });
}
