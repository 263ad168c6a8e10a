// Password hashes computed off the event loop. A first connect checks sha512-crypt (5000 rounds,
// ~6 ms) or bcrypt; on the event loop a burst of them stalls every other connection meanwhile
// (keep-alives, publishes, reconnects the verified-secrets cache would answer at once). A small
// pool of worker threads (hash-worker.mjs, which loads hash-worker.ts) computes them instead: as
// many as the cores this process may run on, less one for the event loop, at least one. Workers
// start on first use and do not keep the process alive when idle. Should a worker fail to start or
// die, its jobs and all later ones are computed inline, so a hash is never lost, only slower.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import { sha512Crypt } from './sha512-crypt.ts';

export type HashJob =
  | { kind: 'sha512'; key: Uint8Array; setting: string }
  | { kind: 'bcrypt'; key: Uint8Array; setting: string };

export interface HashReply {
  id: number;
  result: string | undefined;
}

interface Pending {
  job: HashJob;
  resolve: (result: string | undefined) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** The hash of `job` on this thread (the fallback, and what the workers run). */
export async function hashInline(job: HashJob): Promise<string | undefined> {
  if (job.kind === 'sha512') return sha512Crypt(job.key, job.setting);
  return bcrypt.hash(Buffer.from(job.key).toString('utf8'), job.setting).catch(() => undefined);
}

export class HashPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private failed = false;
  private readonly counts = { byWorkers: 0, inline: 0 };

  constructor(readonly size = Math.max(1, availableParallelism() - 1)) {}

  /** The hash of `job`, computed by a worker (inline when none can run). */
  hash(job: HashJob): Promise<string | undefined> {
    const slot = this.pick();
    if (slot === undefined) {
      this.counts.inline++;
      return hashInline(job);
    }
    return new Promise((resolve) => {
      const id = this.nextId++;
      slot.pending.set(id, { job, resolve });
      if (slot.pending.size === 1) slot.worker.ref();
      // A copy of just the key's bytes: a Buffer may be a view of a larger pooled ArrayBuffer,
      // which postMessage would otherwise clone whole.
      slot.worker.postMessage({ id, job: { ...job, key: new Uint8Array(job.key) } });
    });
  }

  /**
   * Starts every worker now (they stay idle, not keeping the process alive), so the first connects
   * do not wait for a worker to load, and the workers' memory is there from start-up.
   */
  warm(): void {
    while (!this.failed && this.slots.length < this.size) if (this.start() === undefined) break;
  }

  /** Ends the workers; jobs still running are computed inline. */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const s of slots) this.fail(s);
  }

  /** The least busy worker, starting one while fewer than `size` run. */
  private pick(): Slot | undefined {
    if (this.failed) return undefined;
    let best: Slot | undefined;
    for (const s of this.slots) if (best === undefined || s.pending.size < best.pending.size) best = s;
    if ((best === undefined || best.pending.size > 0) && this.slots.length < this.size) best = this.start() ?? best;
    return best;
  }

  private start(): Slot | undefined {
    let worker: Worker;
    try {
      // Compiled (dist/, `npm run build`): the worker is plain JavaScript; from source, the .mjs registers tsx first.
      worker = new Worker(new URL(import.meta.url.endsWith('.js') ? './hash-worker.js' : './hash-worker.mjs', import.meta.url));
    } catch {
      this.failed = true;
      return undefined;
    }
    const slot: Slot = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (m: HashReply) => {
      const p = slot.pending.get(m.id);
      if (p === undefined) return;
      slot.pending.delete(m.id);
      if (slot.pending.size === 0) worker.unref();
      this.counts.byWorkers++;
      p.resolve(m.result);
    });
    const gone = (): void => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      this.fail(slot);
    };
    worker.on('error', () => { this.failed = true; gone(); });
    worker.on('exit', gone);
    this.slots.push(slot);
    return slot;
  }

  private fail(slot: Slot): void {
    const jobs = [...slot.pending.values()];
    slot.pending.clear();
    this.counts.inline += jobs.length;
    for (const p of jobs) void hashInline(p.job).then(p.resolve);
  }

  /** Hashes computed by the workers and inline so far, and the workers running. */
  stats(): { byWorkers: number; inline: number; workers: number } {
    return { ...this.counts, workers: this.slots.length };
  }
}

/** The process's pool, used by verifyPassword. */
export const hashPool = new HashPool();
