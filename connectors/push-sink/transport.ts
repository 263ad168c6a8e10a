// The push sink's own HTTP transport: one binary-mode CloudEvent per POST over keep-alive
// connections (bounded sockets per origin), a deadline per request, and the status code checked
// (the CloudEvents SDK's httpTransport ignores it). 2xx is success, and a CloudEvent in a 2xx
// response is the reply (Knative: it goes back into the broker); any other status rejects with
// deliveryFailed(status) carrying the start of the body; network errors and timeouts reject with
// deliveryFailed(undefined). Whether to retry is the bus's decision (isRetriableStatus).
// Plain http goes through the lean HTTP/1.1 client (http1.ts: one buffer per request, the
// endpoint's fixed header lines encoded once); https through node's client.

import http from 'node:http';
import https from 'node:https';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { binaryBody, binaryHeaderLines, decodeHttp, encodeHttpBinary, hasCloudEvent, type HttpMessage } from '../../events/bindings/http.ts';
import { Http1Pool, type Http1Error, type Http1Origin, type Http1Response } from './http1.ts';
import { deliveryFailed, isMooringError, MooringError } from '../../events/errors.ts';

export interface HttpTransportOptions {
  /** Sockets per origin (default 16); requests beyond wait in the agent. */
  maxSockets?: number;
  /** Idle keep-alive sockets are closed after this (default 4 s, below node's 5 s server default). */
  idleSocketMs?: number;
  /** Largest response body read (default 1 MiB); a larger reply fails the attempt. */
  maxResponseBytes?: number;
  logger?: Logger;
}

export interface SendOptions {
  /** Extra request headers (the endpoint's configured ones); CloudEvent headers win on conflict. */
  headers?: Readonly<Record<string, string>>;
  /** Deadline for the whole exchange (default 30 s). */
  timeoutMs?: number;
}

/** Knative puts at most this much of a failed response into `knativeerrordata`. */
const ERROR_DATA_BYTES = 1024;

/** The URL without credentials, for messages and logs. */
export function redactUrl(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

// RFC 9110 §5.1 token, and node's check of header values (validateHeaderValue).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** What a plain-http request to one URL with one set of configured headers starts with, built once. */
interface Http1Target {
  readonly origin: Http1Origin;
  /** Request line, Host, Authorization and the configured headers no CloudEvent header can replace. */
  readonly head: string;
  /** Configured headers a CloudEvent header of the same name replaces (lower-case name → line). */
  readonly overridable: ReadonlyArray<readonly [string, string]>;
  /** Set when the configuration cannot be sent (an invalid header): every send fails with it. */
  readonly invalid: string | undefined;
}

function http1Target(url: URL, headers: Readonly<Record<string, string>> | undefined): Http1Target {
  const origin = { host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname, port: Number(url.port || 80) };
  let host = `host: ${url.host}\r\n`;
  let fixed = '';
  const overridable: Array<readonly [string, string]> = [];
  let invalid: string | undefined;
  if (url.username || url.password) {
    const auth = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
    fixed += `authorization: Basic ${auth}\r\n`;
  }
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(name)) invalid ??= `invalid header name ${JSON.stringify(name)}`;
    else if (INVALID_VALUE.test(String(value))) invalid ??= `invalid value of header ${name}`;
    const line = `${name}: ${String(value)}\r\n`;
    if (lower === 'content-length') continue;
    if (lower === 'host') host = line;
    else if (lower === 'content-type' || lower.startsWith('ce-')) overridable.push([lower, line]);
    else fixed += line;
  }
  return { origin, head: `POST ${url.pathname}${url.search} HTTP/1.1\r\n${host}${fixed}`, overridable, invalid };
}

/** The request as one buffer: head, the event's headers, Content-Length, body; or why it cannot be sent. */
function http1Request(target: Http1Target, event: CloudEvent): Buffer | string {
  let head = target.head;
  let lines: string;
  let body: Buffer;
  if (target.overridable.length === 0) {
    lines = binaryHeaderLines(event);
    body = binaryBody(event);
  } else {
    const message = encodeHttpBinary(event);
    for (const [name, line] of target.overridable) if (message.headers[name] === undefined) head += line;
    lines = '';
    for (const name in message.headers) lines += `${name}: ${message.headers[name]!}\r\n`;
    body = message.body;
  }
  // ce-* values are percent-encoded (no control characters); Content-Type is the event's own.
  if (event.datacontenttype !== undefined && INVALID_VALUE.test(event.datacontenttype)) return 'invalid value of header content-type';
  head += `${lines}content-length: ${body.length}\r\n\r\n`;
  const size = head.length; // latin1: one byte per character
  const bytes = Buffer.allocUnsafe(size + body.length);
  bytes.write(head, 0, size, 'latin1');
  body.copy(bytes, size);
  return bytes;
}

export class HttpTransport {
  readonly #http: http.Agent;
  readonly #pool: Http1Pool;
  readonly #targets = new WeakMap<URL, { headers: SendOptions['headers']; target: Http1Target }>();
  readonly #https: https.Agent;
  readonly #maxResponseBytes: number;
  readonly #logger: Logger;

  constructor(opts: HttpTransportOptions = {}) {
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 16, maxFreeSockets: opts.maxSockets ?? 16, timeout: opts.idleSocketMs ?? 4000, scheduling: 'lifo' as const };
    this.#http = new http.Agent(agentOpts);
    this.#https = new https.Agent(agentOpts);
    this.#maxResponseBytes = opts.maxResponseBytes ?? 1024 * 1024;
    this.#pool = new Http1Pool({ maxSockets: agentOpts.maxSockets, idleSocketMs: agentOpts.timeout, maxResponseBytes: this.#maxResponseBytes });
    this.#logger = opts.logger ?? silentLogger;
  }

  /** POSTs `event` in binary mode to `url`; resolves with the reply event, if the response carries one. */
  send(url: URL, event: CloudEvent, opts: SendOptions = {}): Promise<CloudEvent | undefined> {
    if (url.protocol === 'http:') return this.#sendHttp1(url, event, opts);
    return this.#attempt(url, encodeHttpBinary(event), opts, true);
  }

  #sendHttp1(url: URL, event: CloudEvent, opts: SendOptions): Promise<CloudEvent | undefined> {
    let cached = this.#targets.get(url);
    if (cached === undefined || cached.headers !== opts.headers) {
      cached = { headers: opts.headers, target: http1Target(url, opts.headers) };
      this.#targets.set(url, cached);
    }
    const target = cached.target;
    const label = redactUrl(url);
    if (target.invalid !== undefined) return Promise.reject(deliveryFailed(`${label}: ${target.invalid}`));
    const bytes = http1Request(target, event);
    if (typeof bytes === 'string') return Promise.reject(deliveryFailed(`${label}: ${bytes}`));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise<CloudEvent | undefined>((resolve, reject) => {
      const answer = (err: Http1Error | undefined, res: Http1Response | undefined, fresh: boolean): void => {
        if (err !== undefined) {
          // A pooled keep-alive connection the server closed just as it was reused: the request
          // never reached the application, so it is sent once more on a fresh connection.
          if (err.stale && !fresh) {
            request = this.#pool.request(target.origin, bytes, (e, r) => answer(e, r, true), true);
            return;
          }
          clearTimeout(timer);
          reject(deliveryFailed(`${label}: ${err.message}`, err.tooLarge ? 502 : undefined, { cause: err }));
          return;
        }
        clearTimeout(timer);
        const r = res!;
        if (r.status < 200 || r.status > 299) {
          reject(deliveryFailed(`${label} answered ${r.status}`, r.status, { data: r.body.subarray(0, ERROR_DATA_BYTES) }));
          return;
        }
        if (!hasCloudEvent(r.headers)) { resolve(undefined); return; }
        try {
          resolve(decodeHttp(r));
        } catch (e) {
          // The event was delivered; an unreadable reply is dropped rather than redelivering.
          this.#logger.warn({ target: label, status: r.status, err: (e as Error).message }, 'push endpoint replied with an invalid CloudEvent; reply dropped');
          resolve(undefined);
        }
      };
      let request = this.#pool.request(target.origin, bytes, (e, r) => answer(e, r, false));
      const timer = setTimeout(() => {
        request.cancel();
        reject(deliveryFailed(`${label}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  #attempt(url: URL, message: HttpMessage, opts: SendOptions, mayRetryStale: boolean): Promise<CloudEvent | undefined> {
    const secure = url.protocol === 'https:';
    const target = redactUrl(url);
    return new Promise<CloudEvent | undefined>((resolve, reject) => {
      let settled = false;
      const settle = (err: MooringError | undefined, reply?: CloudEvent) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err); else resolve(reply);
      };
      const req = (secure ? https : http).request(url, {
        method: 'POST',
        agent: secure ? this.#https : this.#http,
        headers: { ...opts.headers, ...message.headers, 'content-length': String(message.body.length) },
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.#maxResponseBytes) {
            res.destroy();
            settle(deliveryFailed(`${target}: response larger than ${this.#maxResponseBytes} bytes`, 502));
          } else {
            chunks.push(chunk);
          }
        });
        res.on('error', (err) => settle(deliveryFailed(`${target}: ${err.message}`, undefined, { cause: err })));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks);
          if (status < 200 || status > 299) {
            settle(deliveryFailed(`${target} answered ${status}`, status, { data: body.subarray(0, ERROR_DATA_BYTES) }));
            return;
          }
          if (!hasCloudEvent(res.headers)) { settle(undefined); return; }
          try {
            settle(undefined, decodeHttp({ headers: res.headers, body }));
          } catch (err) {
            // The event was delivered; an unreadable reply is dropped rather than redelivering.
            this.#logger.warn({ target, status, err: (err as Error).message }, 'push endpoint replied with an invalid CloudEvent; reply dropped');
            settle(undefined);
          }
        });
      });
      const timeoutMs = opts.timeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        const err = deliveryFailed(`${target}: no response within ${timeoutMs} ms`);
        settle(err);
        req.destroy(err);
      }, timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A pooled keep-alive socket the server closed just as it was reused: the request never
        // reached the application, so it is sent once more on a fresh connection (node's advice).
        if (!settled && mayRetryStale && req.reusedSocket && err.code === 'ECONNRESET') {
          settled = true;
          clearTimeout(timer);
          this.#attempt(url, message, opts, false).then(resolve, reject);
          return;
        }
        settle(isMooringError(err, 'MOORING_DELIVERY_FAILED') ? err : deliveryFailed(`${target}: ${err.message}`, undefined, { cause: err }));
      });
      req.end(message.body);
    });
  }

  /** Closes idle and pooled sockets; in-flight requests are ended. */
  close(): void {
    this.#pool.close();
    this.#http.destroy();
    this.#https.destroy();
  }
}
