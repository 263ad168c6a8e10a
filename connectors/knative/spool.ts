// The embedded bus's spool: what a graceful stop could not deliver in its drain time is written
// to `<dataDir>/spool/` and handed back to the same triggers on the next start, before any new
// traffic. The in-memory bus is not durable; this keeps "nothing acknowledged is lost" across a
// SIGTERM (not across a crash: that needs Kafka). Delivery stays at-least-once: a file is removed
// only after its events are back in the bus, so a crash in between delivers them twice.
//
// Files: `stop-<time>-<pid>.jsonl`, one record a line, `{"trigger":"ns/name","event":{…}}` with
// the event in CloudEvents structured JSON, data always as `data_base64` (byte-exact). Written
// atomically (temporary file, fsync, rename, fsync of the directory). Events whose trigger no
// longer exists go to `orphaned-<time>-<pid>.jsonl`, which is never read back automatically.

import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { fromStructured, toStructured } from '../../events/bindings/structured.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import type { EventBus, SpoolHooks } from '../../functions/ports/bus.ts';

/** One undelivered event and the trigger (`namespace/name`) it was queued on. */
export interface SpoolRecord {
  readonly trigger: string;
  readonly event: CloudEvent;
}

/** What the spool needs: a bus that declares the spool hooks (capabilities.spool), and its close. */
export interface SpoolableBus extends SpoolHooks {
  close(): Promise<void>;
}

export interface RestoreResult {
  /** Events handed back to their triggers. */
  restored: number;
  /** Events whose trigger does not exist (kept in an `orphaned-…` file). */
  orphaned: number;
  /** Spool files read and removed. */
  files: number;
}

export const SPOOL_PREFIX = 'stop-';
export const ORPHAN_PREFIX = 'orphaned-';

// ---- encoding -----------------------------------------------------------------------------------

/**
 * One spool line (without the newline): the event format of events/bindings/structured.ts, except
 * that data always goes as base64 (byte-exact, even JSON data, which `data` would re-serialize).
 */
export function encodeRecord(record: SpoolRecord): string {
  const { event } = record;
  const out = toStructured(event.data === undefined ? event : { ...event, data: undefined });
  if (event.data !== undefined) {
    out.data_base64 = Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength).toString('base64');
  }
  return JSON.stringify({ trigger: record.trigger, event: out });
}

/** Reads one spool line; throws on anything that is not a record this module wrote. */
export function decodeRecord(line: string): SpoolRecord {
  const json = JSON.parse(line) as { trigger?: unknown; event?: unknown };
  if (typeof json.trigger !== 'string' || json.trigger === '') throw new Error('spool record without a trigger');
  return { trigger: json.trigger, event: fromStructured(json.event) };
}

// ---- files --------------------------------------------------------------------------------------

let sequence = 0;

/** A name that sorts by time (restores replay older stops first) and is unique to this write. */
function fileName(prefix: string): string {
  return `${prefix}${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${sequence++}.jsonl`;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

/** Writes `records` to a new file in `dir` atomically; resolves to its path (undefined if none). */
export async function writeRecords(dir: string, records: readonly SpoolRecord[], prefix = SPOOL_PREFIX): Promise<string | undefined> {
  if (records.length === 0) return undefined;
  await mkdir(dir, { recursive: true });
  const path = join(dir, fileName(prefix));
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(records.map((r) => `${encodeRecord(r)}\n`).join(''));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  fsyncDir(dir);
  return path;
}

/** The spool files of `dir`, oldest first (not orphans, not unfinished `.tmp` files). */
export async function spoolFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.filter((n) => n.startsWith(SPOOL_PREFIX) && n.endsWith('.jsonl')).sort().map((n) => join(dir, n));
}

export async function readRecords(path: string): Promise<SpoolRecord[]> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').filter((l) => l !== '').map(decodeRecord);
}

// ---- the spool ----------------------------------------------------------------------------------

export interface Spool {
  /**
   * Hands every spooled event back to its trigger (call after the triggers are added, before
   * new traffic), then removes the files. Unreadable files are renamed `*.bad` and left.
   */
  restore(): Promise<RestoreResult>;
  /**
   * Hands what triggers removed while running left behind (a registry edit replaces an
   * application's Trigger) to the triggers that now exist under the same name; the rest stays
   * kept and is spooled at stop (then orphaned if its trigger is still gone). Returns the count.
   */
  requeue(): number;
  /**
   * The graceful stop: waits up to `drainMs` for the bus to deliver what it holds (publishers
   * must be closed already), closes it, and writes what is left. Resolves to the count spooled.
   */
  close(): Promise<number>;
}

export interface SpoolOptions {
  /** The spool directory (`<dataDir>/spool`). */
  dir: string;
  /** How long a stop lets deliveries and retries continue (default 5000 ms). */
  drainMs?: number;
  logger: Logger;
}

/** The spool's view of a bus that declares `capabilities.spool` (a non-durable bus); else undefined. */
export function spoolableOf(bus: EventBus): SpoolableBus | undefined {
  const hooks = bus.capabilities.spool;
  if (hooks === undefined) return undefined;
  return {
    get keep() { return hooks.keep; },
    set keep(k) { hooks.keep = k; },
    restore: (trigger, event) => hooks.restore(trigger, event),
    idle: () => hooks.idle(),
    close: () => bus.close(),
  };
}

/** Attaches a spool to `bus`: from now on what its stopping triggers leave is kept. */
export function attachSpool(bus: SpoolableBus, options: SpoolOptions): Spool {
  const { dir, logger } = options;
  const drainMs = options.drainMs ?? 5000;
  const kept: SpoolRecord[] = [];
  bus.keep = (trigger, event) => { kept.push({ trigger, event }); };

  const drain = async (): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), drainMs); });
    try {
      return await Promise.race([bus.idle().then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    async restore() {
      const result: RestoreResult = { restored: 0, orphaned: 0, files: 0 };
      for (const path of await spoolFiles(dir)) {
        let records: SpoolRecord[];
        try {
          records = await readRecords(path);
        } catch (err) {
          logger.error({ err, path }, 'spool file unreadable; left as .bad, not restored');
          await rename(path, `${path}.bad`);
          continue;
        }
        const orphans = records.filter((r) => !bus.restore(r.trigger, r.event));
        // The orphans are safe in their own file before the spool file goes.
        const orphanPath = await writeRecords(dir, orphans, ORPHAN_PREFIX);
        if (orphanPath) {
          logger.warn({ count: orphans.length, triggers: [...new Set(orphans.map((o) => o.trigger))], path: orphanPath },
            'spooled events for triggers that no longer exist; kept, not delivered');
        }
        await unlink(path);
        fsyncDir(dir);
        result.restored += records.length - orphans.length;
        result.orphaned += orphans.length;
        result.files++;
      }
      if (result.files > 0) logger.info({ ...result, dir }, 'spooled events restored');
      return result;
    },

    requeue() {
      const waiting = kept.splice(0);
      for (const r of waiting) if (!bus.restore(r.trigger, r.event)) kept.push(r);
      const requeued = waiting.length - kept.length;
      if (requeued > 0) logger.info({ requeued, kept: kept.length }, 'events of a replaced trigger handed to its successor');
      return requeued;
    },

    async close() {
      const drained = await drain();
      await bus.close();
      bus.keep = undefined;
      const records = kept.splice(0);
      const path = await writeRecords(dir, records);
      if (path) logger.warn({ spooled: records.length, drained, path }, 'undelivered events spooled; they are delivered on the next start');
      else logger.info({ spooled: 0, drained }, 'bus drained');
      return records.length;
    },
  };
}
