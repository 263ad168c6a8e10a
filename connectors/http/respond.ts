// Reading a request body within the limit, and the endpoint's answers: every failure is a
// MooringError from events/errors.ts answered with its status and `{"error", "message"}`.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { isMooringError, MooringError } from '../../events/errors.ts';
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

/**
 * A request node could not parse: a JSON answer with the precise status, then the connection
 * ends. When an earlier, complete request of the same connection (pipelined) is still being
 * answered, this answer waits for it, so that the two do not interleave.
 */
function clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') { socket.destroy(); return; }
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  // (When that request is itself the one cut short, the answer is this one: its handler's comes too late.)
  if (pending && pending.req.complete) {
    pending.once('finish', () => clientError(err, socket));
    pending.once('close', () => { if (!pending.writableFinished) socket.destroy(); });
    return;
  }
  const [status, reason] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
  const code = status === 408 ? 'MOORING_TIMEOUT' : 'MOORING_INVALID_REQUEST';
  const body = JSON.stringify({ error: code, message: `${reason}: ${err.message}` });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/**
 * What node itself would answer with an empty body, answered as JSON errors: a request that does
 * not parse (400, 431 for oversized headers, 408 when it is too slow) and an `Expect` other than
 * 100-continue (417). And `Expect: 100-continue` on a pipelined request (one waiting behind the
 * answer to an earlier one) gets no interim 100: node would write it into the middle of that
 * request's own answer; its body is being sent anyway. Used by the device endpoint and the API.
 */
export function answerMalformed(server: Server): void {
  server.on('clientError', clientError);
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({ error: 'MOORING_INVALID_REQUEST', message: `Expectation Failed: only 100-continue is supported, not ${JSON.stringify(req.headers.expect)}` });
    res.writeHead(417, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  });
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (res.socket !== null) res.writeContinue();
    server.emit('request', req, res);
  });
}
