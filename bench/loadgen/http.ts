// HTTP ingest for the load generator: C keep-alive connections on raw sockets, each with one
// POST /v1/<channel> in flight at a time (HTTP/1.1 clients do not pipeline), a 100-byte JSON body
// and Basic authentication of device i. The request bytes are built once per connection; the
// answers are split by a minimal status-line and Content-Length scanner, so the generator is not
// the bottleneck. Measures 202s per second and the time to each 202.

import net from 'node:net';
import type { HttpJob, Measurement } from '../protocol.ts';
import { credentialsFor } from '../protocol.ts';
import { percentile } from '../stats.ts';
import { startCounter, waitDelivered, type Started } from './scenarios.ts';
import { jsonPayload } from './wire.ts';

const now = (): number => performance.now();
const HEAD_END = Buffer.from('\r\n\r\n');

function request(job: HttpJob, i: number): Buffer {
  const c = credentialsFor(job.credentials, i);
  const auth = Buffer.from(`${c.username ?? c.clientId}:${c.password ?? ''}`).toString('base64');
  const body = jsonPayload(job.payloadBytes);
  const head = `POST ${job.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${auth}\r\n`
    + `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

/** Calls `onAnswer(status)` for each complete response on the socket. */
function answers(socket: net.Socket, onAnswer: (status: number) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      const end = buf.indexOf(HEAD_END);
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const len = /\r\ncontent-length: *(\d+)/i.exec(head);
      const total = end + 4 + (len ? Number(len[1]) : 0);
      if (buf.length < total) return;
      onAnswer(Number(head.slice(9, 12)));
      buf = buf.subarray(total);
    }
  });
}

export async function ingestHttp(job: HttpJob, started: Started): Promise<Measurement> {
  const deadline = now() + job.timeLimitMs;
  const counter = await startCounter(job, job.countAt);
  const sockets: net.Socket[] = [];
  for (let i = 0; i < job.clients; i++) sockets.push(await connect(job.httpPort));
  const total = job.clients * job.messagesPerClient;
  const latencies = new Float64Array(total);
  let accepted = 0;
  let refused = 0;
  let sent = 0;
  let firstError: number | undefined;
  started();
  const t0 = now();
  await Promise.all(sockets.map((socket, i) => new Promise<void>((resolve) => {
    const bytes = request(job, i % Math.max(1, job.identities));
    let left = job.messagesPerClient;
    let sentAt = 0;
    const send = (): void => {
      if (left === 0 || now() > deadline || socket.destroyed) { resolve(); return; }
      left--;
      sent++;
      sentAt = now();
      socket.write(bytes);
    };
    answers(socket, (status) => {
      if (status === 202) latencies[accepted++] = now() - sentAt;
      else { refused++; firstError ??= status; }
      send();
    });
    socket.on('close', () => resolve());
    send();
  })));
  const t1 = now();
  await waitDelivered(counter, accepted, Math.min(deadline + 10_000, now() + 30_000));
  const delivered = counter.count();
  for (const s of sockets) s.destroy();
  await counter.close();
  const samples = latencies.subarray(0, accepted);
  const m: Measurement = {
    throughput: accepted / ((t1 - t0) / 1000), sent, acked: accepted, delivered,
    latencyP50Ms: percentile(samples, 0.5), latencyP99Ms: percentile(samples, 0.99),
  };
  const notes: string[] = [];
  if (refused > 0) notes.push(`${refused} answered ${firstError} (not 202)`);
  if (accepted < total) notes.push(`${accepted} of ${total} answered 202 within the time limit`);
  if (notes.length > 0) m.note = notes.join('; ');
  return m;
}
