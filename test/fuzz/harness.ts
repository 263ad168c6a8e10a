// What every fuzzer (MQTT, HTTP) and the soak share: a Mooring composed in-process (as the e2e
// tests do: startMooring on the memory bus) with a fuzzing application of `devices` devices
// (`fuzz<i>@fuzzapp`, password `pw`) and a control application whose device publishes QoS 1
// throughout (ControlClient: every message must reach the control application's sink); a logger
// counting internal failures; and memory figures taken after a full collection.
//
// The control sink keeps only the message bodies it is waiting for (a Set), so that its own
// bookkeeping does not grow the heap the fuzzers measure.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqtt, { type MqttClient } from 'mqtt';
import * as assert from 'uvu/assert';
import { issueAccessToken, openTokenStore } from '../../api/index.ts';
import { configFromEnv, type Config } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import { startRecordingApp, waitFor, type RecordingApp } from '../helpers/http-app.ts';

export const mib = (n: number): number => Math.round(n / 1048576);

/** A full collection, so heap figures compare live objects, not garbage not yet collected. */
export function collect(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Internal failures (error-level log lines: a handler threw, a 5xx was answered) with their first examples. */
export interface FailureCount { crashes: number; examples: string[] }

export function countingLogger(count: FailureCount): Logger {
  const logger: Logger = {
    debug() {}, info() {}, warn() {},
    error(obj, msg) {
      // A command nobody replied to in time is answered 504 and logged; it is no failure.
      if ((obj as { code?: unknown }).code === 'MOORING_TIMEOUT') return;
      count.crashes++;
      if (count.examples.length < 10) count.examples.push(`error log: ${msg ?? ''} ${JSON.stringify(obj, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v)).slice(0, 300)}`);
    },
    child() { return logger; },
  };
  return logger;
}

/** RSS and live heap (after a full collection) at the start and the end, RSS peak sampled between. */
export class MemoryWatch {
  readonly rssMiB = { before: 0, peak: 0, after: 0 };
  readonly heapMiB = { before: 0, after: 0 };
  private readonly sampler: NodeJS.Timeout;

  constructor() {
    collect();
    this.rssMiB.before = mib(process.memoryUsage.rss());
    this.heapMiB.before = mib(process.memoryUsage().heapUsed);
    this.sampler = setInterval(() => { this.rssMiB.peak = Math.max(this.rssMiB.peak, mib(process.memoryUsage.rss())); }, 250);
  }

  finish(): void {
    collect();
    this.rssMiB.after = mib(process.memoryUsage.rss());
    this.heapMiB.after = mib(process.memoryUsage().heapUsed);
    clearInterval(this.sampler);
    this.rssMiB.peak = Math.max(this.rssMiB.peak, this.rssMiB.after);
  }
}

export interface ControlTally { sent: number; delivered: number; lost: number }

/** A device publishing QoS 1, one message at a time, until stopped; its application counts arrivals. */
export class ControlClient {
  readonly tally: ControlTally = { sent: 0, delivered: 0, lost: 0 };
  private client!: MqttClient;
  private running = true;
  private loop!: Promise<void>;

  constructor(private readonly sink: ControlSink, private readonly gapMs = 5) {}

  async start(port: number): Promise<void> {
    this.client = mqtt.connect({ host: '127.0.0.1', port, username: 'control@app1', password: 'pw', protocolVersion: 5, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => { this.client.once('connect', () => resolve()); this.client.once('error', reject); });
    this.loop = (async () => {
      while (this.running) {
        const body = `ctl-${this.tally.sent}`;
        this.sink.expect(body);
        await this.client.publishAsync('control', body, { qos: 1 });
        this.tally.sent++;
        await new Promise((r) => setTimeout(r, this.gapMs));
      }
    })();
  }

  /** Stops publishing, waits (bounded) for every message at the sink; rejects when the client failed. */
  async stop(): Promise<ControlTally> {
    this.running = false;
    try {
      await this.loop;
    } finally {
      await this.client.endAsync();
    }
    await waitFor('every control message at the application', () => this.sink.missing === 0, 60_000).catch(() => undefined);
    this.tally.lost = this.sink.missing;
    this.tally.delivered = this.tally.sent - this.tally.lost;
    return this.tally;
  }
}

/** The control application's endpoint: remembers only which expected bodies are still missing. */
export class ControlSink {
  private readonly waiting = new Set<string>();
  private readonly early = new Set<string>();
  private app!: RecordingApp;

  get url(): string { return this.app.url; }
  get missing(): number { return this.waiting.size; }

  async start(): Promise<void> {
    this.app = await startRecordingApp(() => 200, { keep: false, onRequest: (r) => { if (!this.waiting.delete(r.body)) this.early.add(r.body); } });
  }

  expect(body: string): void { if (!this.early.delete(body)) this.waiting.add(body); }

  /** The bodies still missing, counted by their prefix (the part before the first `-`). */
  missingByPrefix(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const b of this.waiting) { const p = b.split('-')[0]!; out[p] = (out[p] ?? 0) + 1; }
    return out;
  }
  close(): Promise<void> { return this.app.close(); }
}

export interface TargetOptions {
  /** Devices of the fuzzing application: `fuzz<i>@fuzzapp`, password `pw`. */
  devices: number;
  logger: Logger;
  /** Configuration beyond the ports (all 0) and the paths. */
  config?: Partial<Config>;
}

export interface Target {
  mooring: Mooring;
  sink: ControlSink;
  /** An access token of the user `fuzzer` (a reader of fuzzapp, so it may send commands, but owner of neither app: it may not change them). */
  token: { username: string; token: string };
  close(): Promise<void>;
}

/**
 * A Mooring on a file registry: app1 (the control device's, pushing to the control sink) and
 * fuzzapp, both owned by the user `keeper` so that nothing the fuzzers send to the API can take
 * them away; the token store holds an access token for `fuzzer`.
 */
export async function startTarget(opts: TargetOptions): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'mooring-fuzz-'));
  const sink = new ControlSink();
  await sink.start();
  const devices = Array.from({ length: opts.devices }, (_, i) => `kind: Device\nmetadata:\n  name: fuzz${i}\n  application: fuzzapp\nspec:\n  authentication:\n    credentials:\n      - pass: pw\n`);
  writeFileSync(join(dir, 'registry.yaml'), [
    `kind: Application\nmetadata:\n  name: app1\naccess:\n  owner: keeper\nspec:\n  knative:\n    endpoint:\n      url: ${sink.url}/\n`,
    'kind: Application\nmetadata:\n  name: fuzzapp\naccess:\n  owner: keeper\n  members:\n    fuzzer:\n      role: reader\n',
    'kind: Device\nmetadata:\n  name: control\n  application: app1\nspec:\n  authentication:\n    credentials:\n      - pass: pw\n',
    'kind: Device\nmetadata:\n  name: control2\n  application: app1\nspec:\n  authentication:\n    credentials:\n      - pass: pw\n',
    ...devices,
  ].join('---\n'));
  const tokens = await openTokenStore(dir);
  const issued = await issueAccessToken(tokens, { id: 'fuzzer', username: 'fuzzer' }, 'fuzzing');
  const mooring = await startMooring(configFromEnv({}, {
    registryPath: join(dir, 'registry.yaml'), dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0,
    ingressPort: 0, apiPort: 0, mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0, demoSinkPort: 0,
    ...opts.config,
  }), { logger: opts.logger });
  return {
    mooring, sink, token: { username: 'fuzzer', token: issued.token },
    close: async () => {
      await mooring.close();
      await sink.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a fuzz run reports at its end (filled in by finishRun). */
export interface RunFigures {
  control: ControlTally;
  rssMiB: { before: number; peak: number; after: number };
  heapMiB: { before: number; after: number };
  seconds: number;
}

/**
 * The end of a fuzz run, once its lanes are done: stops the control client (a failure of it is a
 * violation), measures memory with the gateway still up and every fuzzing connection gone, closes.
 */
export async function finishRun(report: RunFigures, run: { target: Target; control: ControlClient; memory: MemoryWatch; started: number; violation: (what: string) => void }): Promise<void> {
  report.control = await run.control.stop().catch((err: unknown) => { run.violation(`control client failed: ${String(err)}`); return run.control.tally; });
  await new Promise((r) => setTimeout(r, 500));
  run.memory.finish();
  Object.assign(report, { rssMiB: run.memory.rssMiB, heapMiB: run.memory.heapMiB, seconds: Math.round((Date.now() - run.started) / 1000) });
  await run.target.close();
}

/**
 * What every fuzz test asserts: no internal failure, no violation, every control message
 * delivered, the live heap back within `heapGrowthMiB` of where it started after a collection,
 * and RSS (which the allocator does not give back at once) within a generous bound.
 */
export function assertRunClean(r: RunFigures & FailureCount & { violations: number }, heapGrowthMiB: number): void {
  assert.is(r.crashes, 0, r.examples.join('\n'));
  assert.is(r.violations, 0, r.examples.join('\n'));
  assert.ok(r.control.sent > 0);
  assert.is(r.control.lost, 0, 'every control QoS 1 message reached the application');
  assert.ok(r.heapMiB.after - r.heapMiB.before < heapGrowthMiB, `heap grew from ${r.heapMiB.before} to ${r.heapMiB.after} MiB`);
  assert.ok(r.rssMiB.after - r.rssMiB.before < 400, `RSS grew from ${r.rssMiB.before} to ${r.rssMiB.after} MiB`);
}
