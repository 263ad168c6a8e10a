// A local application endpoint for end-to-end tests: records every request it receives (path,
// headers, body, the status it answered) and answers what `respond` says (default 200), plus a
// bounded wait for a condition on what arrived.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string; headers: IncomingHttpHeaders; body: string; status: number;
  /** Date.now() when the request was complete. */
  at: number;
}

export interface RecordingApp {
  /** Base URL, `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  received: Received[];
  close(): Promise<void>;
}

export interface RecordingOptions {
  /** Keep every request in `received` (default true); false for long runs that only count. */
  keep?: boolean;
  /** Called with each request as it is answered. */
  onRequest?: (r: Received) => void;
}

/** `respond(path, n)`: the status for the n-th (0-based) request to `path`. */
export async function startRecordingApp(respond: (path: string, n: number) => number = () => 200, options: RecordingOptions = {}): Promise<RecordingApp> {
  const counters = new Map<string, number>();
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = counters.get(path) ?? 0;
      counters.set(path, n + 1);
      const status = respond(path, n);
      const r: Received = { path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status, at: Date.now() };
      if (options.keep !== false) received.push(r);
      options.onRequest?.(r);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Polls `probe` (sync or async) until it gives a value (not undefined/false); throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
