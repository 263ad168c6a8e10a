// Shared parts of the Kafka fault tests (test/e2e/kafka-*.test.ts): an application sink that
// counts what it receives and can go down, MQTT devices (MQTT.js) that publish numbered QoS 1
// messages and re-publish what was not acknowledged, a registry file, Mooring as a child process
// (for SIGKILL), and the tally every fault test prints: sent, acknowledged, delivered,
// duplicates, lost. A message is `{"d": device, "n": seq}`; the sink counts it by (device, seq).

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true; false when `timeoutMs` passed first. */
export async function waitUntil(probe: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (probe()) return true;
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
}

/** Silent, or pino on stderr with MOORING_TEST_LOG=<level> (to see why a fault test failed). */
export function testLogger(): Logger {
  const level = process.env.MOORING_TEST_LOG;
  if (!level) return silentLogger;
  return pino({ level, base: { test: true } }, pino.destination(2)) as unknown as Logger;
}

export { freePort } from './process.ts';

// ---- the application sink ---------------------------------------------------------------------

export type SinkMode = 'ok' | 'unavailable';

/**
 * An application endpoint: counts each device event by (device, seq). `mode` 'unavailable'
 * answers 503; `down()` closes the server (connection refused), `up()` listens again on the same
 * port.
 */
export class AppSink {
  mode: SinkMode = 'ok';
  /** Deliveries per `device/seq` (answered 200). */
  readonly delivered = new Map<string, number>();
  /** Requests answered 503. */
  refused = 0;
  /** Other event types (connection events) answered 200. */
  others = 0;
  readonly lastHeaders: IncomingHttpHeaders[] = [];
  private server: Server | undefined;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.mode === 'unavailable') {
          this.refused++;
          res.writeHead(503).end();
          return;
        }
        if (req.headers['ce-type'] === 'io.drogue.event.v1') {
          const key = messageKey(Buffer.concat(chunks).toString('utf8'));
          if (key !== undefined) this.delivered.set(key, (this.delivered.get(key) ?? 0) + 1);
          if (this.lastHeaders.length < 5) this.lastHeaders.push(req.headers);
        } else {
          this.others++;
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => r());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the server and every open connection: the push sink sees connection errors. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  }
}

function messageKey(body: string): string | undefined {
  try {
    const m = JSON.parse(body) as { d?: unknown; n?: unknown };
    return typeof m.d === 'string' && typeof m.n === 'number' ? `${m.d}/${m.n}` : undefined;
  } catch {
    return undefined;
  }
}

// ---- registry -----------------------------------------------------------------------------------

export interface RegistryDevice { app: string; name: string; password: string }

/** A registry file with applications (push endpoint `url`) and password devices. */
export function writeRegistry(path: string, apps: Array<{ name: string; url: string }>, devices: RegistryDevice[]): void {
  const docs = [
    ...apps.map((a) => `kind: Application\nmetadata:\n  name: ${a.name}\nspec:\n  knative:\n    endpoint:\n      url: ${a.url}\n`),
    ...devices.map((d) => `kind: Device\nmetadata:\n  name: ${d.name}\n  application: ${d.app}\nspec:\n  authentication:\n    credentials:\n      - pass: ${d.password}\n`),
  ];
  writeFileSync(path, docs.join('---\n'));
}

// ---- devices ------------------------------------------------------------------------------------

export interface DeviceOptions {
  /** `mqtt://127.0.0.1:PORT`; a function when the port may change (a restarted Mooring). */
  url: string | (() => string);
  app: string;
  device: string;
  password: string;
  version: 4 | 5;
  /** Unacknowledged publishes on one connection (default 32). */
  window?: number;
}

export interface Ack { seq: number; sentAt: number; ackAt: number }

/**
 * One device publishing numbered QoS 1 messages over MQTT.js, clean session, no automatic
 * reconnect: a message is acknowledged only by a PUBACK with a success code. A refusal (v5 reason
 * code >= 0x80) or a closed connection leaves it unacknowledged, and `complete` re-publishes it
 * on a (new) connection, as a device must.
 */
export class TestDevice {
  readonly options: DeviceOptions;
  /** First successful PUBACK per seq. */
  readonly acked = new Map<number, Ack>();
  /** Every PUBACK with a success code (a re-published message can be acknowledged twice). */
  readonly acks: Ack[] = [];
  /** When each PUBLISH was written. */
  readonly sends: number[] = [];
  attempts = 0;
  refusals = 0;
  connections = 0;
  closes = 0;
  private client: MqttClient | undefined;
  private gen = 0;
  private connected = false;
  private readonly pending = new Map<number, { gen: number; sentAt: number }>();
  private stopped = false;

  constructor(options: DeviceOptions) {
    this.options = options;
  }

  get name(): string {
    return this.options.device;
  }

  /** Connects when not connected; false when it did not succeed within `timeoutMs`. */
  async ensureConnected(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.connected && !this.stopped) {
      if (await this.connectOnce()) return true;
      if (Date.now() > deadline) return false;
      await sleep(200);
    }
    return this.connected;
  }

  private connectOnce(): Promise<boolean> {
    const o = this.options;
    const gen = ++this.gen;
    const url = typeof o.url === 'string' ? o.url : o.url();
    const client = mqtt.connect(url, {
      username: `${o.device}@${o.app}`, password: o.password, protocolVersion: o.version,
      clientId: `${o.device}-${gen}`, clean: true, reconnectPeriod: 0, connectTimeout: 3000, keepalive: 30,
    });
    this.client = client;
    return new Promise<boolean>((done) => {
      let settled = false;
      const finish = (ok: boolean) => {
        if (settled) return;
        settled = true;
        done(ok);
      };
      client.on('connect', () => {
        if (gen !== this.gen) return;
        this.connected = true;
        this.connections++;
        finish(true);
      });
      client.on('error', () => finish(false));
      client.on('close', () => {
        if (gen === this.gen && this.connected) this.closes++;
        if (gen === this.gen) this.connected = false;
        // What was in flight on this connection is unacknowledged; MQTT.js flushes the callbacks.
        for (const [seq, p] of this.pending) if (p.gen === gen) this.pending.delete(seq);
        client.end(true);
        finish(false);
      });
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Publishes `seq` on the current connection (no-op when not connected or already in flight). */
  publish(seq: number): boolean {
    const client = this.client;
    if (!this.connected || !client || this.pending.has(seq)) return false;
    const gen = this.gen;
    const sentAt = Date.now();
    this.pending.set(seq, { gen, sentAt });
    this.attempts++;
    this.sends.push(sentAt);
    const payload = JSON.stringify({ d: this.options.device, n: seq });
    client.publish('telemetry', payload, { qos: 1 }, (err) => {
      const mine = this.pending.get(seq)?.gen === gen;
      if (mine) this.pending.delete(seq);
      if (err) {
        // A v5 PUBACK with a reason code >= 0x80, or the connection went away.
        if (mine && (err as { code?: unknown }).code !== undefined) this.refusals++;
        return;
      }
      const ack = { seq, sentAt, ackAt: Date.now() };
      this.acks.push(ack);
      if (!this.acked.has(seq)) this.acked.set(seq, ack);
    });
    return true;
  }

  /** Publishes 0..total-1 every `intervalMs`, keeping at most `window` unacknowledged. */
  async run(total: number, intervalMs: number, deadline: number): Promise<void> {
    const window = this.options.window ?? 32;
    for (let seq = 0; seq < total && Date.now() < deadline && !this.stopped; seq++) {
      await this.ensureConnected(Math.max(0, deadline - Date.now()));
      while (this.inFlight >= window && Date.now() < deadline) await sleep(10);
      if (!this.publish(seq)) {
        seq--; // the connection went away in between: the same seq again
        await sleep(50);
        continue;
      }
      await sleep(intervalMs);
    }
  }

  /** Re-publishes every unacknowledged message (not in flight) until all are acknowledged. */
  async complete(total: number, deadline: number): Promise<void> {
    while (this.acked.size < total && Date.now() < deadline && !this.stopped) {
      if (!(await this.ensureConnected(Math.max(0, deadline - Date.now())))) break;
      for (let seq = 0; seq < total; seq++) {
        if (!this.acked.has(seq) && !this.pending.has(seq) && this.inFlight < (this.options.window ?? 32)) this.publish(seq);
      }
      await sleep(300);
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    if (client) await new Promise<void>((r) => client.end(true, {}, () => r()));
  }
}

// ---- counts -------------------------------------------------------------------------------------

export interface Counts {
  /** Distinct messages the devices had to send. */
  sent: number;
  /** PUBLISH packets written, re-publications included. */
  attempts: number;
  /** Distinct messages PUBACKed with success. */
  acknowledged: number;
  /** Distinct messages the application received. */
  delivered: number;
  /** Deliveries beyond the first of a message. */
  duplicates: number;
  /** Acknowledged but never delivered. */
  lost: number;
  refusals: number;
}

export function tally(devices: ReadonlyArray<Pick<TestDevice, 'acked' | 'attempts' | 'refusals' | 'name'>>, total: number, delivered: ReadonlyMap<string, number>): Counts {
  let acknowledged = 0;
  let lost = 0;
  let attempts = 0;
  let refusals = 0;
  for (const d of devices) {
    acknowledged += d.acked.size;
    attempts += d.attempts;
    refusals += d.refusals;
    for (const seq of d.acked.keys()) if (!delivered.has(`${d.name}/${seq}`)) lost++;
  }
  let duplicates = 0;
  for (const n of delivered.values()) duplicates += n - 1;
  return { sent: devices.length * total, attempts, acknowledged, delivered: delivered.size, duplicates, lost, refusals };
}

export function printCounts(name: string, counts: Counts & Record<string, number>): void {
  console.log(`[${name}] ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
}

// ---- Mooring as a child process -----------------------------------------------------------------

/**
 * `node --import tsx cli/main.ts` with the given environment (what `npm start` runs), stdout and
 * stderr appended to `logFile`. `start` resolves once it printed that it is running.
 */
/** The environment of a single-host Mooring child: Kafka, a registry file, loopback, fixed MQTT port. */
export function singleHostEnv(o: { brokers: string[]; registryPath: string; dataDir: string; mqttPort: number }): Record<string, string> {
  return {
    MOORING_KAFKA_BROKERS: o.brokers.join(','),
    MOORING_REGISTRY: o.registryPath,
    MOORING_DATA_DIR: o.dataDir,
    MOORING_HOST: '127.0.0.1',
    MOORING_MQTT_PORT: String(o.mqttPort),
    MOORING_MQTT_WS_PORT: '0', MOORING_HTTP_PORT: '0',
    MOORING_INGRESS_PORT: '0',
    MOORING_API_PORT: '0',
    MOORING_DEMO_SINK_PORT: '0',
    MOORING_LOG_LEVEL: 'warn',
  };
}

export class MooringProcess {
  private child: ChildProcess | undefined;
  private readonly env: Record<string, string>;
  private readonly logFile: string;
  starts = 0;

  constructor(env: Record<string, string>, logFile: string) {
    this.env = env;
    this.logFile = logFile;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/main.ts')], {
      cwd: ROOT, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts++;
    child.stderr!.pipe(log);
    let out = '';
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`Mooring did not start within ${timeoutMs} ms (log: ${this.logFile})`)), timeoutMs);
      child.stdout!.on('data', (c: Buffer) => {
        log.write(c);
        out += c.toString('utf8');
        if (out.includes('Mooring is running')) {
          clearTimeout(timer);
          ok();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        fail(new Error(`Mooring exited (${code ?? signal}) while starting (log: ${this.logFile})`));
      });
    });
  }

  /** SIGKILL: no drain, no commit, no goodbye. Resolves once the process is gone. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL', 10_000);
  }

  /** SIGTERM (a drained stop), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!(await this.signal('SIGTERM', timeoutMs))) await this.signal('SIGKILL', 10_000);
  }

  private async signal(sig: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return true;
    const exited = new Promise<boolean>((r) => {
      const timer = setTimeout(() => r(false), timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        r(true);
      });
    });
    child.kill(sig);
    const ok = await exited;
    if (ok) this.child = undefined;
    return ok;
  }
}
