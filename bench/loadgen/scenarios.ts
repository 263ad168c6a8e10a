// The load generator's scenarios. Each one is bounded by its job's time limit and resolves with
// the figures it measured; none of them throws on a slow system under test, they report what
// they got (sent, acknowledged, delivered) instead.

import type { ConnectionsJob, CountAt, IngestJob, IntegrationJob, Measurement, RateJob, SinkJob } from '../protocol.ts';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import mqtt from 'mqtt';
import { credentialsFor } from '../protocol.ts';
import { percentile } from '../stats.ts';
import { startSink } from './sink.ts';
import {
  PUBACK, PUBLISH, drained, jsonPayload, messageIdOffset, mqttConnect, mqttSubscribe, publishPacket,
  type MqttConnection,
} from './wire.ts';

const CONNECT_TIMEOUT_MS = 30_000;
/** An ingest run ends this long after the last delivery when not everything arrived (QoS 0 may drop). */
const QUIET_MS = 3_000;

const now = (): number => performance.now();

/** Tells the orchestrator that the measured phase begins (it samples the server's CPU time). */
export type Started = () => void;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Counts delivered messages at a subscriber connection or at the application sink. */
interface Counter {
  count(): number;
  lastAt(): number;
  close(): Promise<void>;
}

export async function startCounter(job: { port: number }, countAt: CountAt): Promise<Counter> {
  if (countAt.kind === 'sink') {
    const sink = await startSink(countAt.port);
    return { count: () => sink.count, lastAt: () => sink.lastAt, close: () => sink.close() };
  }
  if (countAt.kind === 'none') {
    return { count: () => 0, lastAt: () => 0, close: async () => {} };
  }
  const conn = await mqttConnect(job.port, { clientId: 'bench-counter' }, CONNECT_TIMEOUT_MS);
  let count = 0;
  let last = 0;
  await mqttSubscribe(conn, countAt.filter, 0, CONNECT_TIMEOUT_MS);
  conn.onFrame = (type) => {
    if (type === PUBLISH) { count++; last = now(); }
  };
  return { count: () => count, lastAt: () => last, close: async () => { conn.socket.destroy(); } };
}

/** The counter connects with its own identity; brokers need no credentials for it. */
async function connectPublishers(job: IngestJob | RateJob): Promise<MqttConnection[]> {
  const conns: MqttConnection[] = [];
  for (let i = 0; i < job.publishers; i++) {
    conns.push(await mqttConnect(job.port, credentialsFor(job.credentials, i), CONNECT_TIMEOUT_MS));
  }
  return conns;
}

/** Waits until `expected` arrived, nothing arrived for QUIET_MS, or the deadline. */
export async function waitDelivered(counter: Counter, expected: number, deadline: number): Promise<void> {
  let seen = counter.count();
  let seenAt = now();
  while (counter.count() < expected && now() < deadline) {
    await sleep(20);
    const c = counter.count();
    if (c !== seen) { seen = c; seenAt = now(); }
    else if (now() - seenAt > QUIET_MS) break;
  }
}

function closeAll(conns: MqttConnection[]): void {
  for (const c of conns) c.socket.destroy();
}

/** QoS 0: every publisher writes its N messages as fast as its socket drains. */
export async function ingestQos0(job: IngestJob, started: Started): Promise<Measurement> {
  const deadline = now() + job.timeLimitMs;
  const counter = await startCounter(job, job.countAt);
  const pubs = await connectPublishers(job);
  const packet = publishPacket(job.topic, jsonPayload(job.payloadBytes), 0);
  const perWrite = 64;
  const batch = Buffer.concat(Array.from({ length: perWrite }, () => packet));
  const total = job.publishers * job.messagesPerPublisher;
  let sent = 0;
  started();
  const t0 = now();
  await Promise.all(pubs.map(async ({ socket }) => {
    let left = job.messagesPerPublisher;
    while (left > 0 && now() < deadline && !socket.destroyed) {
      const n = Math.min(perWrite, left);
      const ok = socket.write(n === perWrite ? batch : batch.subarray(0, n * packet.length));
      left -= n;
      sent += n;
      if (!ok) await drained(socket).catch(() => {});
    }
  }));
  const sentAt = now();
  await waitDelivered(counter, total, deadline);
  const delivered = counter.count();
  const end = delivered > 0 ? counter.lastAt() : sentAt;
  closeAll(pubs);
  await counter.close();
  const m: Measurement = { sent, delivered };
  if (job.countAt.kind === 'none') m.throughput = sent / ((sentAt - t0) / 1000);
  else m.throughput = delivered / ((end - t0) / 1000);
  // Fewer sent than total: the server held the publishers back (backpressure) until the time limit.
  if (delivered < total && job.countAt.kind !== 'none') {
    m.note = `${total - delivered} of ${total} not delivered` + (sent < total ? ` (${total - sent} never sent: held back by the server)` : '');
  }
  return m;
}

/** Per-connection QoS 1 state: packet ids cycle 1..65535, send times indexed by id. */
class Qos1Publisher {
  readonly sentAt = new Float64Array(65536);
  inflight = 0;
  private nextId = 1;
  constructor(readonly conn: MqttConnection, private readonly template: Buffer, private readonly idOffset: number) {}

  /** Writes `n` messages in one buffer, each stamped with `at(k)` as its send time. */
  send(n: number, at: (k: number) => number): boolean {
    const len = this.template.length;
    const buf = Buffer.allocUnsafe(len * n);
    for (let k = 0; k < n; k++) {
      this.template.copy(buf, k * len);
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      buf.writeUInt16BE(id, k * len + this.idOffset);
      this.sentAt[id] = at(k);
    }
    this.inflight += n;
    return this.conn.socket.write(buf);
  }
}

/** QoS 1 with a window of W unacknowledged messages per connection: throughput and PUBACK latency. */
export async function ingestQos1(job: IngestJob, started: Started): Promise<Measurement> {
  const deadline = now() + job.timeLimitMs;
  const counter = await startCounter(job, job.countAt);
  const conns = await connectPublishers(job);
  const template = publishPacket(job.topic, jsonPayload(job.payloadBytes), 1, 1);
  const idOffset = messageIdOffset(template);
  const total = job.publishers * job.messagesPerPublisher;
  const latencies = new Float64Array(total);
  let acked = 0;
  let sent = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => { finish = resolve; });

  started();
  const t0 = now();
  const pubs = conns.map((conn) => {
    const pub = new Qos1Publisher(conn, template, idOffset);
    let remaining = job.messagesPerPublisher;
    let refillQueued = false;
    const refill = (): void => {
      refillQueued = false;
      const n = Math.min(job.window - pub.inflight, remaining);
      if (n <= 0) return;
      remaining -= n;
      sent += n;
      const t = now();
      pub.send(n, () => t);
    };
    conn.onFrame = (type, body, start) => {
      if (type !== PUBACK) return;
      const t = now();
      const id = body.readUInt16BE(start);
      latencies[acked++] = t - pub.sentAt[id]!;
      pub.inflight--;
      if (acked === total) finish();
      if (!refillQueued && remaining > 0) { refillQueued = true; queueMicrotask(refill); }
    };
    refill();
    return pub;
  });
  const timer = setTimeout(finish, Math.max(0, deadline - now()));
  await done;
  clearTimeout(timer);
  const t1 = now();
  await waitDelivered(counter, total, Math.min(deadline + 10_000, now() + 30_000));
  const delivered = counter.count();
  closeAll(pubs.map((p) => p.conn));
  await counter.close();
  const samples = latencies.subarray(0, acked);
  const m: Measurement = {
    throughput: acked / ((t1 - t0) / 1000), sent, acked, delivered,
    latencyP50Ms: percentile(samples, 0.5), latencyP99Ms: percentile(samples, 0.99),
  };
  if (acked < total) m.note = `${acked} of ${total} acknowledged within the time limit`;
  return m;
}

/**
 * QoS 1 at a fixed offered rate, open loop: message j is due at t0 + j/rate and its latency is
 * measured from that due time (so a stalled server cannot hide queueing: no coordinated omission).
 */
export async function ingestAtRate(job: RateJob, started: Started): Promise<Measurement> {
  const deadline = now() + job.timeLimitMs;
  const counter = await startCounter(job, job.countAt);
  const conns = await connectPublishers(job);
  const template = publishPacket(job.topic, jsonPayload(job.payloadBytes), 1, 1);
  const idOffset = messageIdOffset(template);
  const planned = Math.floor(job.ratePerSecond * job.durationMs / 1000);
  const latencies = new Float64Array(planned);
  let acked = 0;
  let scheduled = 0;
  let skipped = 0;
  const pubs = conns.map((conn) => {
    const pub = new Qos1Publisher(conn, template, idOffset);
    conn.onFrame = (type, body, start) => {
      if (type !== PUBACK) return;
      const id = body.readUInt16BE(start);
      latencies[acked++] = now() - pub.sentAt[id]!;
      pub.inflight--;
    };
    return pub;
  });
  const interval = 1000 / job.ratePerSecond;
  started();
  const t0 = now();
  while (scheduled < planned && now() < deadline) {
    const due = Math.min(planned, Math.floor((now() - t0) / interval) + 1);
    // spread the due messages over the connections, one write per connection per tick
    const n = due - scheduled;
    if (n > 0) {
      const perConn = new Array<number>(pubs.length).fill(0);
      for (let j = 0; j < n; j++) perConn[(scheduled + j) % pubs.length]!++;
      const base = scheduled;
      pubs.forEach((pub, c) => {
        const k = perConn[c]!;
        if (k === 0) return;
        if (pub.inflight + k > 60_000) { skipped += k; return; }
        // message j goes to connection j % C: connection c's messages here are first, first+C, …
        const first = base + ((c - (base % pubs.length) + pubs.length) % pubs.length);
        pub.send(k, (i) => t0 + (first + i * pubs.length) * interval);
      });
      scheduled = due;
    }
    await sleep(1);
  }
  const offeredSeconds = (now() - t0) / 1000;
  while (acked < scheduled - skipped && now() < deadline) await sleep(5);
  const t1 = now();
  await waitDelivered(counter, scheduled - skipped, Math.min(deadline + 10_000, now() + 30_000));
  const delivered = counter.count();
  closeAll(pubs.map((p) => p.conn));
  await counter.close();
  const samples = latencies.subarray(0, acked);
  const m: Measurement = {
    offeredRate: (scheduled - skipped) / offeredSeconds,
    throughput: acked / ((t1 - t0) / 1000),
    sent: scheduled - skipped, acked, delivered,
    latencyP50Ms: percentile(samples, 0.5), latencyP99Ms: percentile(samples, 0.99),
  };
  if (acked < scheduled) m.note = `${acked} of ${scheduled} acknowledged${skipped ? `, ${skipped} not sent (window full)` : ''}`;
  return m;
}

/** One way of opening the scenario's connections: node sockets, or bench/connect-gen. */
interface Connector {
  /** Connects identities 0..K-1 (concurrency at once), keeps them open; the pass's rate and failures. */
  pass(label: string): Promise<{ connected: number; rate: number; problem?: string }>;
  closeAll(): Promise<void>;
  stop(): void;
}

function nodeConnector(job: ConnectionsJob): Connector {
  let held: MqttConnection[] = [];
  return {
    async pass(label) {
      const deadline = now() + job.timeLimitMs;
      let next = 0;
      let failed = 0;
      let firstError: string | undefined;
      const t0 = now();
      const worker = async (): Promise<void> => {
        while (next < job.connections && now() < deadline) {
          const i = next++;
          try {
            held.push(await mqttConnect(job.port, credentialsFor(job.credentials, i), CONNECT_TIMEOUT_MS));
          } catch (e) {
            failed++;
            firstError ??= (e as Error).message;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(job.concurrency, job.connections) }, worker));
      const t1 = now();
      const problems: string[] = [];
      if (failed > 0) problems.push(`${label}: ${failed} connects failed (first: ${firstError})`);
      if (held.length + failed < job.connections) problems.push(`${label}: ${job.connections - held.length - failed} not tried within the time limit`);
      return { connected: held.length, rate: held.length / ((t1 - t0) / 1000), ...(problems.length > 0 ? { problem: problems.join('; ') } : {}) };
    },
    async closeAll() { closeAll(held); held = []; },
    stop() { closeAll(held); },
  };
}

/** bench/connect-gen in a child process (pinned with this one: affinity is inherited). */
function goConnector(job: ConnectionsJob, binary: string): Connector {
  const c = job.credentials;
  const child = spawn(binary, [
    '-port', String(job.port), '-n', String(job.connections), '-c', String(Math.min(job.concurrency, job.connections)),
    '-client', c.clientId, ...(c.username !== undefined ? ['-user', c.username] : []), ...(c.password !== undefined ? ['-pass', c.password] : []),
    '-timeout', `${CONNECT_TIMEOUT_MS}ms`, '-limit', `${job.timeLimitMs}ms`,
  ], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! });
  type Waiter = { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void; command: string };
  const waiting: Waiter[] = [];
  lines.on('line', (line) => { waiting.shift()?.resolve(JSON.parse(line) as Record<string, unknown>); });
  child.once('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`connect-gen exited (${code}) during ${w.command}`));
  });
  const ask = (command: string): Promise<Record<string, unknown>> => new Promise((resolve, reject) => {
    waiting.push({ resolve, reject, command });
    child.stdin!.write(`${command}\n`);
  });
  return {
    async pass(label) {
      const m = await ask('pass');
      const connected = Number(m.connected);
      const failed = Number(m.failed);
      const untried = Number(m.untried);
      const problems: string[] = [];
      if (failed > 0) problems.push(`${label}: ${failed} connects failed (first: ${String(m.firstError)})`);
      if (untried > 0) problems.push(`${label}: ${untried} not tried within the time limit`);
      return { connected, rate: connected / Number(m.seconds), ...(problems.length > 0 ? { problem: problems.join('; ') } : {}) };
    },
    async closeAll() { await ask('close'); },
    stop() { child.kill(); },
  };
}

/**
 * Connections: K identities connect, `concurrency` at once, and stay open (the first pass: each
 * password checked for the first time) while `idle()` is awaited (the orchestrator reads the
 * server's RSS); then all are closed at once and, after a second, connect again (the reconnect
 * pass: what a fleet reconnecting after a network blip costs), between `started` and
 * `reconnected` so that the orchestrator reads the server's CPU time spent on it. Each pass has
 * the job's time limit.
 */
export async function connections(
  job: ConnectionsJob, idle: (connected: number) => Promise<void>, started: Started, reconnected: (connected: number) => void,
): Promise<Measurement> {
  const problems: string[] = [];
  const connector = job.connectGen !== undefined ? goConnector(job, job.connectGen) : nodeConnector(job);
  try {
    const first = await connector.pass('first pass');
    if (first.problem) problems.push(first.problem);
    await idle(first.connected);
    await connector.closeAll();
    // Let the server finish the disconnects (sessions ended, events sent) before the second pass.
    await sleep(1000);
    started();
    const again = await connector.pass('reconnect pass');
    reconnected(again.connected);
    if (again.problem) problems.push(again.problem);
    await connector.closeAll();
    const m: Measurement = { connected: first.connected, connectsPerSecond: first.rate, reconnectsPerSecond: again.rate };
    if (problems.length > 0) m.note = problems.join('; ');
    return m;
  } finally {
    connector.stop();
  }
}

/** Push sink: counts the events the system under test delivers to the local application. */
export async function pushSink(job: SinkJob, ready: () => void): Promise<Measurement> {
  const sink = await startSink(job.sinkPort);
  ready();
  const timer = new Promise<void>((r) => setTimeout(r, job.timeLimitMs));
  await Promise.race([sink.waitFor(job.expected), timer]);
  await sink.close();
  const m: Measurement = {
    delivered: sink.count,
    throughput: sink.count > 1 ? (sink.count - 1) / ((sink.lastAt - sink.firstAt) / 1000) : 0,
  };
  if (sink.count < job.expected) m.note = `${sink.count} of ${job.expected} delivered within the time limit`;
  return m;
}

/**
 * The MQTT integration: one QoS 1 subscriber of `app/bench` (as the application's owner, with an
 * access token) counts the device events injected into the bus; the push sink is answered meanwhile.
 */
export async function integrationSubscriber(job: IntegrationJob, ready: () => void): Promise<Measurement> {
  const sink = await startSink(job.sinkPort);
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${job.integrationPort}`, {
    protocolVersion: 4, clean: true, reconnectPeriod: 0, clientId: 'bench-integration',
    ...(job.user ? { username: job.user.username, password: job.user.token } : {}),
  });
  let count = 0;
  let firstAt = 0;
  let lastAt = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => { done = resolve; });
  client.on('message', (_topic, payload) => {
    if (!payload.includes('"type":"io.drogue.event.v1"')) return;
    const now = performance.now();
    if (count === 0) firstAt = now;
    lastAt = now;
    if (++count >= job.expected) done();
  });
  await client.subscribeAsync('app/bench', { qos: 1 });
  ready();
  const timer = new Promise<void>((r) => setTimeout(r, job.timeLimitMs));
  await Promise.race([all, timer]);
  client.end(true);
  await sink.close();
  const m: Measurement = { delivered: count, throughput: count > 1 ? (count - 1) / ((lastAt - firstAt) / 1000) : 0 };
  if (count < job.expected) m.note = `${count} of ${job.expected} delivered within the time limit`;
  return m;
}
