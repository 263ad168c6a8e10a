// A real Kafka for the tests. The suite's runner (scripts/test.sh) starts one broker and sets
// MOORING_TEST_KAFKA; a test file run alone starts its own through scripts/kafka/kafka.sh (one per
// process, stopped at exit). Fault tests stop and restart the same broker (same port, same data
// dir) through `stop`/`kill`/`restart`, which works for any broker kafka.sh started.

import { killAtExit, runServerScript } from './local-server.ts';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(ROOT, 'scripts/kafka/kafka.sh');
const RUN_DIR = join(process.env.MOORING_KAFKA_HOME ?? join(ROOT, '.cache/kafka'), 'run');

export interface TestKafka {
  /** Bootstrap addresses, `127.0.0.1:PORT`. */
  readonly brokers: string[];
  /** True when the broker is one kafka.sh manages, so stop/kill/restart work. */
  readonly controllable: boolean;
  /** Fault injection: stops the broker (controlled shutdown); its port and data stay reserved. */
  stop(): Promise<void>;
  /** Fault injection: SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** Starts the stopped broker again on the same port and data dir; resolves once it answers. */
  restart(): Promise<void>;
}

const kafkaSh = (args: string[], timeoutMs: number): Promise<string> => runServerScript(SCRIPT, ROOT, args, timeoutMs);

/** The kafka.sh broker id serving `address`, if kafka.sh started it. */
function findBrokerId(address: string): string | undefined {
  if (!existsSync(RUN_DIR)) return undefined;
  for (const id of readdirSync(RUN_DIR)) {
    try {
      if (readFileSync(join(RUN_DIR, id, 'address'), 'utf8').trim() === address) return id;
    } catch { /* not a broker dir */ }
  }
  return undefined;
}

function controlled(brokers: string[], id: string | undefined): TestKafka {
  const needId = (): string => {
    if (id === undefined) throw new Error(`Kafka ${brokers.join(',')} was not started by scripts/kafka/kafka.sh; it cannot be stopped from a test`);
    return id;
  };
  return {
    brokers,
    controllable: id !== undefined,
    async stop() { await kafkaSh(['stop', needId()], 60_000); },
    async kill() { await kafkaSh(['kill', needId()], 60_000); },
    async restart() { await kafkaSh(['restart', needId()], 150_000); },
  };
}

let shared: Promise<TestKafka> | undefined;

/**
 * The Kafka for this test process: MOORING_TEST_KAFKA when set (comma-separated bootstrap
 * addresses), else one started here on first use and stopped when the process exits.
 */
export function ensureKafka(): Promise<TestKafka> {
  shared ??= startOrReuse();
  return shared;
}

async function startOrReuse(): Promise<TestKafka> {
  const env = process.env.MOORING_TEST_KAFKA?.trim();
  if (env) {
    const brokers = env.split(',').map((b) => b.trim()).filter(Boolean);
    return controlled(brokers, brokers.length === 1 ? findBrokerId(brokers[0]!) : undefined);
  }
  const id = `test-${process.pid}`;
  await kafkaSh(['provision'], 600_000);
  const address = await kafkaSh(['start', id], 150_000);
  killAtExit(RUN_DIR, id);
  return controlled([address], id);
}

/** Stops the broker for `ms`, then restarts it on the same port and data dir. */
export async function stopKafkaTemporarily(kafka: TestKafka, ms: number, how: 'stop' | 'kill' = 'stop'): Promise<void> {
  await (how === 'kill' ? kafka.kill() : kafka.stop());
  await new Promise((r) => setTimeout(r, ms));
  await kafka.restart();
}

/** A name no other test uses (topics, groups), Kafka-legal. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A broker of the test's own, for fault tests that stop Kafka (the shared one must stay up). */
export interface OwnKafka extends TestKafka {
  /** The broker's run directory (server.properties, data), for tests that change its config between restarts. */
  readonly dir: string;
  /** Stops the broker and removes its data. */
  close(): Promise<void>;
}

/**
 * Starts a broker of its own through kafka.sh (id `<prefix>-<pid>`), so stopping it disturbs no
 * other test. Killed at process exit if `close` was not called.
 */
export async function startOwnKafka(prefix: string): Promise<OwnKafka> {
  const id = `${prefix}-${process.pid}`;
  await kafkaSh(['provision'], 600_000);
  const address = await kafkaSh(['start', id], 150_000);
  const forget = killAtExit(RUN_DIR, id);
  return {
    ...controlled([address], id),
    dir: join(RUN_DIR, id),
    async close() {
      forget();
      await kafkaSh(['kill', id], 60_000).catch(() => undefined);
      rmSync(join(RUN_DIR, id), { recursive: true, force: true });
    },
  };
}
