// The broker ingress of the embedded mode (Knative: the Broker's address): POST a CloudEvent,
// binary or structured, and it is published into the bus. 202 once the bus accepted it; 400 for
// an invalid event; 503 when the bus is full or down; JSON error bodies throughout. Also the
// process's /metrics, /health/liveness and /health/readiness (connectors/metrics).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEvent } from '../events/cloudevent.ts';
import { isMooringError, MooringError } from '../events/errors.ts';
import type { EventBus } from '../functions/ports/bus.ts';
import type { Logger } from '../functions/ports/runtime.ts';
import { decodeHttp } from '../events/bindings/http.ts';
import { answerObservability, type Observability } from '../connectors/metrics/index.ts';
import { DEFAULT_HTTP_LIMITS, httpServerOptions, limitHttp, type HttpLimits } from '../connectors/net/http.ts';

const BODY_LIMIT = 1024 * 1024;

export interface Ingress {
  url: string;
  close(): Promise<void>;
}

function answer(res: ServerResponse, status: number, body?: object): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        reject(new MooringError('MOORING_INVALID_EVENT', `body exceeds ${BODY_LIMIT} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startIngress(opts: {
  host: string;
  port: number;
  bus: EventBus;
  logger: Logger;
  /** Boundary validation (the event schemas); throws MooringError MOORING_INVALID_EVENT. */
  validate?: (event: CloudEvent) => void;
  /** Serves /metrics, /health/liveness and /health/readiness. */
  observability?: Observability;
  /** Slowloris bounds (headers, whole request); default connectors/net/http.ts's. */
  limits?: HttpLimits;
}): Promise<Ingress> {
  const { bus, logger } = opts;
  const limits = opts.limits ?? DEFAULT_HTTP_LIMITS;
  const server: Server = limitHttp(createServer(httpServerOptions(limits), (req, res) => {
    if (opts.observability && answerObservability(req, res, opts.observability)) return;
    if (req.method !== 'POST') {
      answer(res, req.method === 'GET' && req.url === '/health' ? 200 : 405, { error: 'method', message: 'POST a CloudEvent to /' });
      return;
    }
    readBody(req)
      .then(async (body) => {
        const event = decodeHttp({ headers: req.headers, body });
        opts.validate?.(event);
        await bus.publish(event);
        answer(res, 202);
      })
      .catch((err: unknown) => {
        if (isMooringError(err)) {
          answer(res, err.status, err.toJSON());
        } else {
          logger.error({ err }, 'ingress failed');
          answer(res, 500, { error: 'MOORING_INTERNAL', message: 'internal error' });
        }
      });
  }), limits);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
