// The one place where failures become HTTP answers. A MooringError answers with its registry
// status and Drogue's body `{"error": <Drogue name>, "message", "code": <MOORING_…>}`; where
// Drogue answers differently (an empty body for a missing app or device, `AuthenticationError` on
// a denied app read, `OptimisticLockFailed` for stale members, 413 for an oversized body) the
// error carries an answer override made here. Anything else is a 500 MOORING_INTERNAL, logged.

import type { NextFunction, Request, Response } from 'express';
import { errorCodes, isMooringError, MooringError, retryAfterSeconds, type ErrorCode } from '../events/errors.ts';
import type { Logger } from '../functions/ports/runtime.ts';

interface Answer {
  /** Answer with the status only (Drogue's empty 400/404 bodies). */
  empty?: boolean;
  /** Drogue's `error` name where it differs from the registry's. */
  name?: string;
  status?: number;
}
const answers = new WeakMap<MooringError, Answer>();

/** A MooringError answered as Drogue does in that one place. */
export function apiError(code: ErrorCode, message: string, answer: Answer = {}, cause?: unknown): MooringError {
  const e = new MooringError(code, message, cause === undefined ? undefined : { cause });
  answers.set(e, answer);
  return e;
}

/** Status only, no body: Drogue's 404 for a missing app or device, its 400 for a bad name. */
export function emptyAnswer(code: ErrorCode, message: string): MooringError {
  return apiError(code, message, { empty: true });
}

/**
 * The body-parser failures of express.json / express.text, as precise answers; and the other
 * client errors express marks with a 4xx status and no type (a path parameter that is not valid
 * percent-encoding, a body whose Content-Encoding does not decode).
 */
function fromBodyParser(err: { type?: unknown; status?: unknown; message?: unknown }): MooringError | undefined {
  if (typeof err !== 'object' || err === null || typeof err.status !== 'number') return undefined;
  const message = String(err.message);
  if (typeof err.type !== 'string') {
    return err.status >= 400 && err.status < 500 ? apiError('MOORING_INVALID_REQUEST', `Invalid request: ${message}`, { status: err.status }, err) : undefined;
  }
  switch (err.type) {
    case 'entity.too.large':
      return apiError('MOORING_INVALID_REQUEST', 'Payload too large: a request body is limited to 64 KiB', { status: 413 }, err);
    case 'entity.parse.failed':
      return apiError('MOORING_INVALID_REQUEST', `Json deserialize error: ${message}`, {}, err);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return apiError('MOORING_INVALID_REQUEST', message, { status: 415 }, err);
    default:
      return apiError('MOORING_INVALID_REQUEST', message, { status: err.status >= 400 && err.status < 500 ? err.status : 400 }, err);
  }
}

export function sendError(res: Response, err: unknown, logger: Logger): void {
  const e: MooringError = isMooringError(err)
    ? err
    : fromBodyParser(err as Record<string, unknown>) ?? new MooringError('MOORING_INTERNAL', 'Internal error', { cause: err });
  const answer = answers.get(e) ?? {};
  const status = answer.status ?? e.status;
  if (status >= 500) logger.error({ err, code: e.code }, 'management API request failed');
  if (res.headersSent) {
    res.end();
    return;
  }
  const retryAfter = retryAfterSeconds(e);
  if (retryAfter !== undefined) res.set('retry-after', retryAfter);
  if (answer.empty) {
    res.status(status).end();
    return;
  }
  const entry = errorCodes[e.code] as { drogue?: string };
  res.status(status).json({ error: answer.name ?? entry.drogue ?? e.code, message: e.message, code: e.code });
}

/** The express error handler: the last middleware of the app. */
export function errorHandler(logger: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => sendError(res, err, logger);
}
