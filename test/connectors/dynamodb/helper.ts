// DynamoDB Local for the tests. The suite's runner (scripts/test.sh) starts one and sets
// MOORING_TEST_DYNAMODB; a test file run alone starts its own through scripts/dynamodb/dynamodb.sh
// (one per process, killed at exit). Every test works in tables of its own prefix, so tests sharing
// the server never see each other's items.

import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAtExit, runServerScript } from '../../helpers/local-server.ts';
import { DynamoRegistryBackend, type DynamoRegistryOptions } from '../../../connectors/dynamodb/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRIPT = join(ROOT, 'scripts/dynamodb/dynamodb.sh');
const RUN_DIR = join(process.env.MOORING_DYNAMODB_HOME ?? join(ROOT, '.cache/dynamodb'), 'run');

const dynamoSh = (args: string[], timeoutMs: number): Promise<string> => runServerScript(SCRIPT, ROOT, args, timeoutMs);

let shared: Promise<string> | undefined;

/** The endpoint of DynamoDB Local for this test process: MOORING_TEST_DYNAMODB, else one started here. */
export function ensureDynamo(): Promise<string> {
  shared ??= (async () => {
    const env = process.env.MOORING_TEST_DYNAMODB?.trim();
    if (env) return env;
    const id = `test-${process.pid}`;
    const endpoint = await dynamoSh(['start', id], 90_000);
    killAtExit(RUN_DIR, id);
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
