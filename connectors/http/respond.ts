// Reading a request body within the limit, and the endpoint's answers: every failure is a
// MooringError from events/errors.ts answered with its status and `{"error", "message"}`.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { isMooringError, MooringError, retryAfterSeconds } from '../../events/errors.ts';
import type { Logger } from '../../functions/ports/runtime.ts';

const EMPTY = Buffer.alloc(0);

function tooLarge(limit: number): MooringError {
  return new MooringError('MOORING_PAYLOAD_TOO_LARGE', `Payload too large: a request body is limited to ${limit} bytes`);
}

/**
 * The whole body, at most `limit` bytes. A Content-Length above the limit is refused before a
 * byte is read; a chunked body is refused as soon as it passes the limit. Rejects with
 * MOORING_PAYLOAD_TOO_LARGE, or MOORING_INVALID_REQUEST when the client went away mid-body.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  if (req.readableEnded) return Promise.resolve(EMPTY);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: MooringError | undefined, body?: Buffer): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onAborted);
      if (err !== undefined) reject(err);
      else resolve(body!);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        done(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => done(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    const onAborted = (): void => done(new MooringError('MOORING_INVALID_REQUEST', 'the client went away before the body was complete'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAborted);
    req.on('error', onAborted);
  });
}

/** `{"error": <code>, "message"}` with the code's status; 500 MOORING_INTERNAL for anything else. */
export function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, logger: Logger): void {
  const e = isMooringError(err) ? err : new MooringError('MOORING_INTERNAL', 'Internal error', { cause: err });
  if (e.status >= 500) logger.error({ err: e.message, code: e.code, cause: e.cause instanceof Error ? e.cause.message : undefined }, 'http endpoint request failed');
  else logger.debug({ code: e.code, message: e.message, url: req.url }, 'http endpoint request refused');
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(e.toJSON());
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  const retryAfter = retryAfterSeconds(e);
  if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
  // The rest of an oversized body is not read: the connection ends with the answer.
  const close = e.code === 'MOORING_PAYLOAD_TOO_LARGE' || !req.complete;
  if (close) headers.connection = 'close';
  res.writeHead(e.status, headers);
  res.end(body);
  if (close) res.once('finish', () => req.socket.destroySoon());
}

export function sendStatus(res: ServerResponse, status: number): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}
