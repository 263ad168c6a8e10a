// The push sink's own HTTP transport: one binary-mode CloudEvent per POST over keep-alive
// connections (bounded sockets per origin), a deadline per request, and the status code checked
// (the CloudEvents SDK's httpTransport ignores it). 2xx is success, and a CloudEvent in a 2xx
// response is the reply (Knative: it goes back into the broker); any other status rejects with
// DeliveryError(status) carrying the start of the body; network errors and timeouts reject with
// DeliveryError(undefined). Whether to retry is the bus's decision (isRetriableStatus).

import http from 'node:http';
import https from 'node:https';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { DeliveryError } from '../../functions/ports/bus.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { fromHttp, hasCloudEvent, toBinaryHttp, type HttpMessage } from '../../functions/runtime/binding.ts';

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

export class HttpTransport {
  readonly #http: http.Agent;
  readonly #https: https.Agent;
  readonly #maxResponseBytes: number;
  readonly #logger: Logger;

  constructor(opts: HttpTransportOptions = {}) {
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 16, maxFreeSockets: opts.maxSockets ?? 16, timeout: opts.idleSocketMs ?? 4000, scheduling: 'lifo' as const };
    this.#http = new http.Agent(agentOpts);
    this.#https = new https.Agent(agentOpts);
    this.#maxResponseBytes = opts.maxResponseBytes ?? 1024 * 1024;
    this.#logger = opts.logger ?? silentLogger;
  }

  /** POSTs `event` in binary mode to `url`; resolves with the reply event, if the response carries one. */
  send(url: URL, event: CloudEvent, opts: SendOptions = {}): Promise<CloudEvent | undefined> {
    return this.#attempt(url, toBinaryHttp(event), opts, true);
  }

  #attempt(url: URL, message: HttpMessage, opts: SendOptions, mayRetryStale: boolean): Promise<CloudEvent | undefined> {
    const secure = url.protocol === 'https:';
    const target = redactUrl(url);
    return new Promise<CloudEvent | undefined>((resolve, reject) => {
      let settled = false;
      const settle = (err: DeliveryError | undefined, reply?: CloudEvent) => {
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
            settle(new DeliveryError(`${target}: response larger than ${this.#maxResponseBytes} bytes`, 502));
          } else {
            chunks.push(chunk);
          }
        });
        res.on('error', (err) => settle(new DeliveryError(`${target}: ${err.message}`, undefined, { cause: err })));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks);
          if (status < 200 || status > 299) {
            settle(new DeliveryError(`${target} answered ${status}`, status, { data: body.subarray(0, ERROR_DATA_BYTES) }));
            return;
          }
          if (!hasCloudEvent(res.headers)) { settle(undefined); return; }
          try {
            settle(undefined, fromHttp(res.headers, body));
          } catch (err) {
            // The event was delivered; an unreadable reply is dropped rather than redelivering.
            this.#logger.warn({ target, status, err: (err as Error).message }, 'push endpoint replied with an invalid CloudEvent; reply dropped');
            settle(undefined);
          }
        });
      });
      const timeoutMs = opts.timeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        const err = new DeliveryError(`${target}: no response within ${timeoutMs} ms`);
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
        settle(err instanceof DeliveryError ? err : new DeliveryError(`${target}: ${err.message}`, undefined, { cause: err }));
      });
      req.end(message.body);
    });
  }

  /** Closes idle and pooled sockets; in-flight requests are ended. */
  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}
