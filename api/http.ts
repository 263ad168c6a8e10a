// HTTP plumbing shared by the routes: permissive CORS (actix's Cors::permissive), JSON bodies
// (Content-Type application/json, 64 KiB, as actix's Json extractor), the lenient body of DELETE
// (preconditions; a missing or unparsable body means none), query parameters, the public base URL.

import express, { type NextFunction, type Request, type Response } from 'express';
import { apiError } from './errors.ts';

export const BODY_LIMIT = 64 * 1024;

/** Echoes the origin, any method and any header; answers preflights itself. */
export function cors() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (origin === undefined) {
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Expose-Headers', '*');
    res.append('Vary', 'Origin');
    const method = req.headers['access-control-request-method'];
    if (req.method === 'OPTIONS' && method !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', String(method));
      const headers = req.headers['access-control-request-headers'];
      if (headers !== undefined) res.setHeader('Access-Control-Allow-Headers', String(headers));
      res.setHeader('Access-Control-Max-Age', '3600');
      res.status(200).end();
      return;
    }
    next();
  };
}

/**
 * Deepest JSON nesting a body may have: serde_json's recursion limit, what Drogue answers 400 above.
 * Deeper documents overflowed the stack of the code that copies and stores them (a 500).
 */
export const MAX_DEPTH = 128;

/** Whether `value` nests objects/arrays deeper than `max` (iterative: no recursion on client input). */
export function depthOver(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) return true;
    for (const child of Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
  return false;
}

const parseJson = express.json({ limit: BODY_LIMIT, strict: true, type: 'application/json' });

/** A JSON object body; 400 for another content type or a body that is not a JSON object, 413 above 64 KiB. */
export function jsonBody() {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.is('application/json')) {
      next(apiError('MOORING_INVALID_REQUEST', 'Content type error: expected application/json'));
      return;
    }
    parseJson(req, res, (err?: unknown) => {
      if (err) next(err);
      else if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
        next(apiError('MOORING_INVALID_REQUEST', 'Json deserialize error: expected a JSON object'));
      } else if (depthOver(req.body, MAX_DEPTH)) {
        next(apiError('MOORING_INVALID_REQUEST', `Json deserialize error: recursion limit exceeded (nesting deeper than ${MAX_DEPTH})`));
      } else next();
    });
  };
}

const parseText = express.text({ limit: BODY_LIMIT, type: () => true });

/** DELETE's optional body: parsed when it is JSON, else undefined (no preconditions). */
export function lenientBody() {
  return (req: Request, res: Response, next: NextFunction): void => {
    parseText(req, res, (err?: unknown) => {
      if (err) {
        next(err);
        return;
      }
      let parsed: unknown;
      try {
        parsed = typeof req.body === 'string' && req.body !== '' ? JSON.parse(req.body) : undefined;
      } catch {
        parsed = undefined;
      }
      req.body = parsed;
      next();
    });
  };
}

export function queryString(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** A non-negative integer query parameter; 400 when present and not one. */
export function queryInteger(req: Request, name: string): number | undefined {
  const raw = queryString(req, name);
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw apiError('MOORING_INVALID_REQUEST', `Query deserialize error: ${name} must be a non-negative integer`);
  }
  return Number(raw);
}

/** The API's public base URL: MOORING_API_URL, else from the request (scheme and Host). */
export function baseUrl(req: Request, configured: string | undefined): string {
  if (configured !== undefined) return configured.replace(/\/+$/, '');
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

/** A path parameter (express has decoded `%2F` and the like). */
export function param(req: Request, name: string): string {
  const v = (req.params as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v.join('/') : v ?? '';
}
