// Two Mooring registry instances in two processes on one DynamoDB (Local): a device's password
// changed through A's store is refused by B's authentication within a bounded wait, although B
// caches its decisions: B hears of A's write through the changes table (`remote`) and drops them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureDynamo, uniquePrefix, waitFor } from '../connectors/dynamodb/helper.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(ROOT, 'test/connectors/dynamodb/instance.ts');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');

interface Instance {
  proc: ChildProcess;
  events: Array<{ event: string; origins?: string[]; paths?: string[] }>;
  call(op: string, args?: Record<string, unknown>): Promise<unknown>;
  stop(): Promise<void>;
}

async function startInstance(endpoint: string, prefix: string, id: string): Promise<Instance> {
  const proc = spawn(process.execPath, [TSX, SCRIPT, endpoint, prefix, id], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const events: Instance['events'] = [];
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  let ready = false;
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as { id?: number; ok?: boolean; result?: unknown; error?: string; event?: string };
    if (msg.event) {
      if (msg.event === 'ready') ready = true;
      events.push(msg as Instance['events'][number]);
      return;
    }
    const p = pending.get(msg.id!);
    pending.delete(msg.id!);
    if (msg.ok) p?.resolve(msg.result);
    else p?.reject(new Error(msg.error));
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await Promise.race([
    waitFor(() => ready, 60_000, `instance ${id} to start`),
    exited.then(() => { throw new Error(`instance ${id} exited:\n${stderr}`); }),
  ]);
  return {
    proc,
    events,
    call(op, args = {}) {
      const id = next++;
      return new Promise((resolvePromise, reject) => {
        pending.set(id, { resolve: resolvePromise, reject });
        proc.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
      });
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      proc.stdin!.write(`${JSON.stringify({ id: -1, op: 'close' })}\n`);
      await exited;
      clearTimeout(timer);
    },
  };
}

test('a password changed through instance A is refused by instance B (which caches decisions) within a bounded wait', async () => {
  const endpoint = await ensureDynamo();
  const prefix = uniquePrefix('two');
  const a = await startInstance(endpoint, prefix, 'instance-a');
  const b = await startInstance(endpoint, prefix, 'instance-b');
  try {
    await a.call('createApplication', { name: 'app' });
    await a.call('createDevice', { application: 'app', name: 'dev1', password: 'old-secret' });
    assert.is(await b.call('authenticate', { username: 'dev1@app', password: 'old-secret' }), 'ok');
    assert.is(await b.call('authenticate', { username: 'dev1@app', password: 'new-secret' }), 'bad-credentials');
    // Wait until B has heard of A's creates, so its cache only holds decisions made after them.
    await waitFor(() => b.events.filter((e) => e.event === 'changes').length >= 2, 5000, 'B to hear of the creates');
    assert.is(await b.call('authenticate', { username: 'dev1@app', password: 'old-secret' }), 'ok');
    assert.is(await b.call('authenticate', { username: 'dev1@app', password: 'old-secret' }), 'ok');
    const before = (await b.call('stats')) as { changes: number; cacheHits: number };
    assert.ok(before.cacheHits >= 1, 'B answers from its cache');

    const t0 = performance.now();
    await a.call('setPassword', { application: 'app', name: 'dev1', password: 'new-secret' });
    let refusedAfter = -1;
    let attempts = 0;
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      attempts++;
      if (await b.call('authenticate', { username: 'dev1@app', password: 'old-secret' }) !== 'ok') {
        refusedAfter = performance.now() - t0;
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(refusedAfter >= 0, 'B still accepts the old password 5 s after the change');
    assert.is(await b.call('authenticate', { username: 'dev1@app', password: 'old-secret' }), 'bad-credentials');
    assert.is(await b.call('authenticate', { username: 'dev1@app', password: 'new-secret' }), 'ok');
    const seen = b.events.filter((e) => e.event === 'changes');
    assert.ok(seen.every((e) => e.origins!.every((o) => o === 'remote')), JSON.stringify(seen));
    assert.ok(a.events.filter((e) => e.event === 'changes').every((e) => e.origins!.every((o) => o === 'local')));
    console.log(`  B refused the old password ${refusedAfter.toFixed(0)} ms after A's write (${attempts} attempts); B heard ${seen.length} change batches: ${seen.map((e) => e.paths!.join('+')).join(', ')}`);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test.run();
