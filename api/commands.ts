// The command route drg's `cmd` calls (Drogue's command-endpoint, §3.1–3.3 of the reference):
// POST /api/command/v1alpha1/apps/{app}/devices/{device}?command=<name>, raw body (≤ 64 KiB) and
// its Content-Type forwarded to the device. This module does the HTTP part (authentication, Read
// on the app → 404 "Resource not found: Application / <app>", the required `command`, a JSON
// content type whose body is not JSON → 406, `ttl` and `timeout`) and answers from the command
// service's outcome (functions/command-dispatch, `sendCommand`):
// - 202, empty, with `mooring-command-outcome: delivered | queued | offline`;
// - 200, empty, when a gateway's external endpoint took it (Drogue);
// - with `?timeout=<seconds>` (1–60): 200 with the device's reply (its payload and content
//   type), or 504 MOORING_TIMEOUT; an offline device answers 202 at once (nothing to wait for);
// - the service's refusals: 400 (command name, TTL), 406 (app or device missing or disabled,
//   external endpoint failed), 503 (back-pressure).

import express, { type Express } from 'express';
import { authorize } from './auth/authorize.ts';
import { callerOf } from './auth/caller.ts';
import type { ApiContext } from './context.ts';
import { apiError } from './errors.ts';
import { BODY_LIMIT, param, queryString } from './http.ts';
import { isJsonContentType } from '../events/media.ts';
import { isJsonPayload } from '../functions/content-type/sniff.ts';
import { OUTCOME_HEADER, type SendCommandRequest, type SendCommandResult } from '../functions/command-dispatch/index.ts';

export const COMMAND = '/api/command/v1alpha1/apps/:app/devices/:device';

/** The request the route hands over (the device is the path segment, not resolved through aliases). */
export type CommandRequest = SendCommandRequest;

/** The command service's entry point (CommandService.sendCommand). */
export type CommandSender = (request: SendCommandRequest) => Promise<SendCommandResult>;

/** Longest `?timeout` in seconds. */
export const MAX_TIMEOUT_S = 60;

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
    const contentType = req.get('content-type');
    if (contentType !== undefined && isJsonContentType(contentType) && payload.length > 0 && !isJsonPayload(payload)) {
      throw apiError('MOORING_REJECTED', `the body is not JSON, but the content type is ${contentType}`);
    }
    const timeoutS = timeoutOf(queryString(req, 'timeout'));
    const ttl = queryString(req, 'ttl');
    const result = await send({
      application, device: param(req, 'device'), command, payload, contentType,
      ...(ttl !== undefined && ttl !== '' ? { ttl } : {}),
      ...(timeoutS !== undefined ? { expectReply: true } : {}),
    });
    if (result.outcome === 'external') { res.status(200).end(); return; }
    res.set(OUTCOME_HEADER, result.outcome);
    if (timeoutS === undefined || result.awaitReply === undefined || result.outcome !== 'delivered') {
      res.status(202).end();
      return;
    }
    const reply = await result.awaitReply(timeoutS * 1000);
    res.status(200);
    if (reply.contentType !== undefined) res.type(reply.contentType);
    else res.set('content-type', 'application/octet-stream');
    res.send(Buffer.from(reply.payload));
  });
}

/** `?timeout=<seconds>`: a whole number from 1 to MAX_TIMEOUT_S; 400 otherwise. */
function timeoutOf(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_TIMEOUT_S)) throw apiError('MOORING_INVALID_REQUEST', `timeout must be whole seconds from 1 to ${MAX_TIMEOUT_S}, not ${JSON.stringify(raw)}`);
  return n;
}
