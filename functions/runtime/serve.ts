// Serves one Mooring function as a Knative Service (Knative Serving runtime contract): listens on
// PORT, takes CloudEvents (binary or structured) on POST, answers with the reply in binary mode
// (200) or 202 without one, 400 for an invalid event, the MooringError's status for a refusal
// (non-retriable → 4xx, retriable → 5xx, so Knative retries only what may succeed), 500 for a
// crash. `/health/liveness` and `/health/readiness` (503 while draining); close() and SIGTERM
// drain: readiness fails, in-flight requests finish, then the listener closes.

import { eventSpan, type Tracer } from '../ports/tracing.ts';
import { traceIdOf } from '../../events/trace.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { isMooringError, MooringError } from '../../events/errors.ts';
import type { FunctionContext, Logger, MooringFunction } from '../ports/runtime.ts';
import { decodeHttp, encodeHttpBinary } from '../../events/bindings/http.ts';

export interface ServeOptions {
  /** Default 8080 (the entry point passes Knative's `PORT`). 0 picks a free port. */
  port?: number;
  /** Default: all interfaces. */
  host?: string;
  /** Default: ctx.logger. */
  logger?: Logger;
  /** Largest request body (default 1 MiB); larger → 413. */
  maxBodyBytes?: number;
  /** Drain on SIGTERM (default false here; main.ts turns it on). */
  handleSignals?: boolean;
  /** After this, close() stops waiting for in-flight requests (default 30 s). */
  drainTimeoutMs?: number;
  /** A span per event handled, a child of its `traceparent` (an OTLP endpoint is configured). */
  tracer?: Tracer | undefined;
  /**
   * Answers what the composition root serves beside the function (`/metrics`); true when it
   * answered. Called for every GET that is not a health check.
   */
  observe?: ((req: http.IncomingMessage, res: http.ServerResponse) => boolean) | undefined;
}

/** Events a served function handled, by outcome (read by `/metrics`: mooring_function_events_total). */
export interface FunctionOutcomes {
  /** Answered 200 with a reply, or 202 without. */
  replied: number; accepted: number;
  /** Not a CloudEvent, or too large (400/413). */
  invalid: number;
  /** The function refused it (its MooringError's status) or failed (500). */
  refused: number; failed: number;
}

export interface ServeHandle {
  readonly port: number;
  readonly outcomes: Readonly<FunctionOutcomes>;
  /** Drains (readiness 503, in-flight requests finish) and closes; idempotent. */
  close(): Promise<void>;
}

const JSON_TYPE = { 'content-type': 'application/json' };

function sendJson(res: http.ServerResponse, status: number, body: object, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...JSON_TYPE, ...extra, 'content-length': Buffer.byteLength(text) }).end(text);
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) { reject(new BodyTooLarge()); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) { reject(new BodyTooLarge()); req.removeAllListeners('data'); req.resume(); return; }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function serve(fn: MooringFunction, ctx: FunctionContext, opts: ServeOptions = {}): Promise<ServeHandle> {
  const logger = (opts.logger ?? ctx.logger).child({ function: fn.name });
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const port = opts.port ?? 8080;
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const outcomes: FunctionOutcomes = { replied: 0, accepted: 0, invalid: 0, refused: 0, failed: 0 };

  async function handleEvent(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // While draining, requests still arriving on open connections are served, then the connection closes.
    const extra: Record<string, string> = draining ? { connection: 'close' } : {};
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        outcomes.invalid++;
        sendJson(res, 413, { error: 'MOORING_INVALID_EVENT', message: `body larger than ${maxBody} bytes` }, { connection: 'close' });
      } else {
        res.destroy();
      }
      return;
    }
    let event: CloudEvent;
    try {
      event = decodeHttp({ headers: req.headers, body });
    } catch (err) {
      const e = isMooringError(err) ? err : new MooringError('MOORING_INVALID_EVENT', 'invalid CloudEvent');
      logger.debug({ err: e.message }, 'invalid CloudEvent refused');
      outcomes.invalid++;
      sendJson(res, 400, e.toJSON(), extra);
      return;
    }
    const span = opts.tracer && eventSpan(opts.tracer, `function ${fn.name}`, event);
    try {
      const result = await fn.handle(event, ctx);
      span?.end();
      const replies = result === undefined ? [] : Array.isArray(result) ? result : [result];
      // Knative takes one reply per request: the first is sent, the rest would be lost, so say so.
      if (replies.length > 1) logger.warn({ id: event.id, trace: traceIdOf(event), replies: replies.length }, 'function returned several events; Knative replies with the first only');
      const reply = replies[0];
      if (reply === undefined) {
        outcomes.accepted++;
        res.writeHead(202, { ...extra, 'content-length': '0' }).end();
        return;
      }
      const message = encodeHttpBinary(reply);
      outcomes.replied++;
      res.writeHead(200, { ...message.headers, ...extra, 'content-length': String(message.body.length) }).end(message.body);
    } catch (err) {
      span?.end(err instanceof Error ? err.message : String(err));
      if (isMooringError(err)) {
        const status = err.retriable ? (err.status >= 500 ? err.status : 503) : (err.status < 500 ? err.status : 400);
        (err.retriable ? logger.warn : logger.debug).call(logger, { id: event.id, trace: traceIdOf(event), code: err.code, err: err.message }, 'function refused the event');
        outcomes.refused++;
        sendJson(res, status, err.toJSON(), extra);
      } else {
        logger.error({ id: event.id, trace: traceIdOf(event), err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'function failed');
        outcomes.failed++;
        sendJson(res, 500, { error: 'MOORING_INTERNAL', message: 'internal error' }, extra);
      }
    }
  }

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method === 'GET' && path === '/health/liveness') { sendJson(res, 200, { status: 'ok' }); return; }
    if (req.method === 'GET' && path === '/health/readiness') {
      if (draining) sendJson(res, 503, { status: 'draining' }, { connection: 'close' });
      else sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (req.method === 'GET' && opts.observe?.(req, res)) return;
    if (req.method !== 'POST') { sendJson(res, 405, { error: 'MOORING_INVALID_EVENT', message: 'POST a CloudEvent' }, { allow: 'POST' }); return; }
    inFlight++;
    handleEvent(req, res)
      .catch((err: unknown) => { logger.error({ err: String(err) }, 'request failed'); res.destroy(); })
      .finally(() => {
        inFlight--;
        if (inFlight === 0) idle?.();
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, opts.host, () => { server.off('error', reject); resolve(); });
  });
  const bound = (server.address() as AddressInfo).port;
  logger.info({ port: bound, host: opts.host ?? '0.0.0.0' }, 'function serving');

  let closing: Promise<void> | undefined;
  const onSigterm = () => {
    logger.info({ inFlight }, 'SIGTERM: draining');
    void handle.close();
  };

  const handle: ServeHandle = {
    port: bound,
    outcomes,
    close() {
      closing ??= (async () => {
        draining = true;
        if (inFlight > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              logger.warn({ inFlight }, 'drain timeout: closing with requests in flight');
              resolve();
            }, opts.drainTimeoutMs ?? 30_000);
            timer.unref();
            idle = () => { clearTimeout(timer); resolve(); };
          });
        }
        if (opts.handleSignals) process.off('SIGTERM', onSigterm);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        logger.info({}, 'function stopped');
      })();
      return closing;
    },
  };
  if (opts.handleSignals) process.once('SIGTERM', onSigterm);
  return handle;
}
