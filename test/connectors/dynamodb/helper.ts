// DynamoDB Local for the tests. The suite's runner (scripts/test.sh) starts one and sets
// MOORING_TEST_DYNAMODB; a test file run alone starts its own through scripts/dynamodb/dynamodb.sh
// (one per process, killed at exit). Every test works in tables of its own prefix, so tests sharing
// the server never see each other's items.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoRegistryBackend, type DynamoRegistryOptions } from '../../../connectors/dynamodb/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRIPT = join(ROOT, 'scripts/dynamodb/dynamodb.sh');
const RUN_DIR = join(process.env.MOORING_DYNAMODB_HOME ?? join(ROOT, '.cache/dynamodb'), 'run');

function dynamoSh(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('bash', [SCRIPT, ...args], { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`dynamodb.sh ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolvePromise(stdout.trim());
    });
  });
}

let shared: Promise<string> | undefined;

/** The endpoint of DynamoDB Local for this test process: MOORING_TEST_DYNAMODB, else one started here. */
export function ensureDynamo(): Promise<string> {
  shared ??= (async () => {
    const env = process.env.MOORING_TEST_DYNAMODB?.trim();
    if (env) return env;
    const id = `test-${process.pid}`;
    const endpoint = await dynamoSh(['start', id], 90_000);
    process.once('exit', () => {
      try {
        const pid = Number(readFileSync(join(RUN_DIR, id, 'pid'), 'utf8'));
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch { /* already gone */ }
      rmSync(join(RUN_DIR, id), { recursive: true, force: true });
    });
    return endpoint;
  })();
  return shared;
}

/** A table prefix no other test uses. */
export function uniquePrefix(name = 't'): string {
  return `${name}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}-`;
}

/** A backend on the test DynamoDB, its tables created. */
export async function openBackend(prefix: string, opts: Partial<DynamoRegistryOptions> = {}): Promise<DynamoRegistryBackend> {
  const endpoint = await ensureDynamo();
  return DynamoRegistryBackend.open({ endpoint, tablePrefix: prefix, ...opts });
}

/** Resolves once `check` is true, polling every 20 ms; rejects after `ms`. */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
