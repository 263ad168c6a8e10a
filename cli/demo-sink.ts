// The demo application of the embedded mode: an HTTP endpoint that takes the binary-mode
// CloudEvents the push sink delivers and prints each one, so a newcomer sees the whole flow.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEvent } from '../events/cloudevent.ts';
import { decodeHttp } from '../events/bindings/http.ts';

export interface DemoSink {
  url: string;
  close(): Promise<void>;
}

export async function startDemoSink(
  host: string,
  port: number,
  onEvent: (event: CloudEvent) => void,
): Promise<DemoSink> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        onEvent(decodeHttp({ headers: req.headers, body: Buffer.concat(chunks) }));
        res.writeHead(202).end();
      } catch (err) {
        res.writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'invalid event', message: (err as Error).message }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '0.0.0.0' ? '127.0.0.1' : host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** How the demo sink prints an event: one line of attributes, then the payload as text. */
export function describeEvent(event: CloudEvent): string {
  const ext = event.extensions;
  const data = event.data ? Buffer.from(event.data).toString('utf8') : '';
  return `${event.type} ${ext.application}/${ext.device} channel=${event.subject ?? ''} `
    + `content-type=${event.datacontenttype ?? '-'} ${data}`;
}
