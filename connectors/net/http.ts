// The slowloris bounds of every HTTP server of Mooring (the HTTP device endpoint, the management
// API, the broker ingress, the WebSocket listeners' upgrade requests), in one place: the request
// headers must arrive within `headersTimeoutMs`, the whole request (headers and body) within
// `requestTimeoutMs` — a body trickled byte by byte is cut off with it — and an idle keep-alive
// connection is closed after `keepAliveTimeoutMs`. node checks the deadlines every
// `connectionsCheckingInterval`, answers 408 and closes; `clientError` answers Mooring's JSON.

import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface HttpLimits {
  /** `MOORING_HTTP_HEADERS_TIMEOUT_MS`. Default 10 000. */
  headersTimeoutMs: number;
  /** `MOORING_HTTP_REQUEST_TIMEOUT_MS`: the whole request, body included. Default 30 000. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections. Default 5 000. */
  keepAliveTimeoutMs?: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 });

/** Options for `createServer`: the deadline check runs often enough for the shortest timeout. */
export function httpServerOptions(l: HttpLimits = DEFAULT_HTTP_LIMITS): ServerOptions {
  const headers = Math.min(l.headersTimeoutMs, l.requestTimeoutMs);
  return {
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headers / 4))),
    headersTimeout: headers,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs ?? 5_000,
    noDelay: true,
  };
}

/** Applies the limits to a server (also one made without httpServerOptions) and answers its client errors. */
export function limitHttp<S extends Server>(server: S, l: HttpLimits = DEFAULT_HTTP_LIMITS): S {
  const o = httpServerOptions(l);
  server.headersTimeout = o.headersTimeout!;
  server.requestTimeout = o.requestTimeout!;
  server.keepAliveTimeout = o.keepAliveTimeout!;
  answerMalformed(server);
  return server;
}

/**
 * A request node could not parse or that ran out of time: a JSON answer with the precise status,
 * then the connection ends. When an earlier, complete request of the same connection (pipelined)
 * is still being answered, this answer waits for it, so that the two do not interleave.
 */
export function clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
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
 * request's own answer; its body is being sent anyway.
 */
function answerMalformed(server: Server): void {
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
