// The application at the end of Mooring's pipeline: an HTTP server that answers every
// CloudEvent POST with 200 at once and counts the device events (binary mode: `ce-type`
// io.drogue.event.v1), ignoring connection events. It runs inside the load generator process.

import http from 'node:http';

export interface CountingSink {
  count: number;
  firstAt: number;
  lastAt: number;
  /** Resolves when `n` device events have arrived (or never; callers race it with a timer). */
  waitFor(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSink(port: number): Promise<CountingSink> {
  let waiter: { n: number; resolve: () => void } | undefined;
  const sink: CountingSink = {
    count: 0, firstAt: 0, lastAt: 0,
    waitFor(n) {
      if (sink.count >= n) return Promise.resolve();
      return new Promise((resolve) => { waiter = { n, resolve }; });
    },
    close() {
      return new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
    },
  };
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const isDeviceEvent = req.headers['ce-type'] === 'io.drogue.event.v1';
    req.on('data', () => {});
    req.on('end', () => {
      if (isDeviceEvent) {
        const now = performance.now();
        if (sink.count === 0) sink.firstAt = now;
        sink.lastAt = now;
        sink.count++;
        if (waiter && sink.count >= waiter.n) { waiter.resolve(); waiter = undefined; }
      }
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return sink;
}
