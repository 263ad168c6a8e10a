// Mooring as a system under test, embedded (in-memory bus) or on Kafka (acks=all):
// bench/targets/mooring-server.ts in its own node process pinned with taskset. Whether Mooring's
// parts exist is checked at run time (a dynamic import in a child process); until they do, the
// target is "not available yet" and its rows say so — no figures are made up.

import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnPinned, nextMessage, freePort, onCleanup, type Pinned } from '../children.ts';
import { nodeArgs, type RunningTarget, type StartOptions, type Target } from './types.ts';
import { benchPasswordHashes } from '../hashes.ts';

const run = promisify(execFile);
const SERVER = fileURLToPath(new URL('./mooring-server.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KAFKA_SH = `${ROOT}scripts/kafka/kafka.sh`;
/** The bench's own Kafka instance id for scripts/kafka/kafka.sh (separate from the tests' one). */
const KAFKA_ID = 'bench';

async function checkParts(): Promise<string | undefined> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', SERVER], {
    env: { ...process.env, MOORING_BENCH_CHECK: '1' }, timeout: 60_000,
  }).catch((e: { stdout?: string; message: string }) => ({ stdout: e.stdout ?? JSON.stringify({ event: 'unavailable', reason: e.message }) }));
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  const m = line ? JSON.parse(line) as { event: string; reason?: string } : { event: 'unavailable', reason: 'no answer' };
  return m.event === 'available' ? undefined : `not available yet: ${m.reason}`;
}

function mooringTarget(kind: 'embedded' | 'kafka'): Target {
  let kafkaAddress: string | undefined;
  let kafkaStartedByUs = false;
  let forgetCleanup: (() => void) | undefined;
  return {
    name: kind === 'embedded' ? 'mooring' : 'mooring-kafka',
    async unavailable() {
      if (kind === 'kafka' && !process.env.MOORING_BENCH_KAFKA && !existsSync(KAFKA_SH)) {
        return 'not available yet: scripts/kafka/kafka.sh does not exist (or set MOORING_BENCH_KAFKA=host:port)';
      }
      return checkParts();
    },
    async version() {
      const r = await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).catch(() => ({ stdout: 'unknown' }));
      return r.stdout.trim();
    },
    supports() {
      return true;
    },
    async start(o: StartOptions): Promise<RunningTarget> {
      const env: NodeJS.ProcessEnv = {
        MOORING_BENCH_USERS: String(o.users),
        MOORING_BENCH_HASHES: benchPasswordHashes(o.users),
        MOORING_BENCH_SINK: `http://127.0.0.1:${o.sinkPort}/`,
        MOORING_BENCH_DIR: o.workDir,
        MOORING_LOG_LEVEL: 'silent',
      };
      if (kind === 'kafka') {
        if (!kafkaAddress) {
          kafkaAddress = process.env.MOORING_BENCH_KAFKA;
          if (!kafkaAddress) {
            // Kafka belongs to the system under test: it runs on the server's core too.
            await run('bash', [KAFKA_SH, 'provision'], { timeout: 600_000 });
            const r = await run('taskset', ['-c', String(o.cpu), 'bash', KAFKA_SH, 'start', KAFKA_ID], { timeout: 180_000 });
            kafkaAddress = r.stdout.trim().split('\n').pop()!;
            kafkaStartedByUs = true;
            // Interrupted runs too: never leave the bench's Kafka behind.
            forgetCleanup = onCleanup(() => { execFileSync('bash', [KAFKA_SH, 'kill', KAFKA_ID], { stdio: 'ignore', timeout: 30_000 }); });
          }
        }
        env.MOORING_KAFKA_BROKERS = kafkaAddress;
      }
      const port = await freePort();
      const httpPort = await freePort();
      env.MOORING_BENCH_PORT = String(port);
      env.MOORING_BENCH_HTTP_PORT = String(httpPort);
      const proc: Pinned = spawnPinned(o.cpu, process.execPath, nodeArgs(SERVER, o.cpuProfDir), { env });
      const up = await nextMessage(proc, ['listening', 'error'], 120_000).catch(async (e: Error) => {
        await proc.stop();
        throw new Error(`mooring did not start: ${e.message}`);
      });
      if (up.event === 'error') {
        await proc.stop();
        throw new Error(`mooring did not start: ${String(up.message)}`);
      }
      return {
        port, httpPort, pid: proc.pid, topic: 'telemetry',
        credentials: { clientId: 'dev{i}', username: 'dev{i}@bench', password: 'pw-{i}' },
        countAt: { kind: 'sink', port: o.sinkPort },
        ...(up.api ? { api: up.api as RunningTarget['api'] & object } : {}),
        async inject(n) {
          const done = nextMessage(proc, ['injected', 'error'], 600_000);
          proc.child.stdin!.write(`inject ${n}\n`);
          const m = await done;
          if (m.event === 'error') throw new Error(String(m.message));
        },
        stop: () => proc.stop(),
      };
    },
    async dispose() {
      if (kafkaStartedByUs) {
        await run('bash', [KAFKA_SH, 'stop', KAFKA_ID], { timeout: 120_000 }).catch(() => {});
        forgetCleanup?.();
        kafkaStartedByUs = false;
        kafkaAddress = undefined;
      }
    },
  };
}

export const mooringEmbeddedTarget = mooringTarget('embedded');
export const mooringKafkaTarget = mooringTarget('kafka');
