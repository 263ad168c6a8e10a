// The embedded registry: a YAML (or JSON) file of Drogue-format resources, several documents per
// file, as a RegistryBackend (the store's writes persist into it) on the memory backend. A write
// updates the documents in place (unchanged nodes and comments stay) and replaces the file
// atomically (a temp file renamed over it); a write that would make the file fail to load is
// refused. The file is watched (its directory, so editors that save by writing a new file and
// renaming it over the old one are seen too); a hand edit is reloaded after a short debounce and
// takes effect atomically, reported as the changes it made. An invalid edit is refused with
// every problem logged, and the last good content stays in force. What the file does not say yet
// (uid, creationTimestamp, generation, resourceVersion; hashes instead of plain passwords) is
// written back into it. Without a path (MOORING_REGISTRY, read by cli/config.ts) a demo file is
// created in the data dir.

import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { RegistryChange } from '../../functions/ports/registry.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { MooringError } from '../../events/errors.ts';
import type { BackendWrite, RegistryBackend, StoredApplication, StoredDevice } from './backend.ts';
import { MemoryBackend, type StagedCommit } from './memory-backend.ts';
import { BackendRegistryStore } from './store.ts';
import { settleContent } from './file-load.ts';
import { RegistryValidationError, validateDocuments, type RegistryContent, type RegistryProblem } from './validate.ts';
import { applicationKey, deviceKey, locate, newDocument, removeResources, render, writeResource, type Doc, type DocLocation } from './yaml-docs.ts';
import { demoRegistryYaml } from './demo.ts';

function parseDocs(text: string, source?: string): { docs: Doc[]; content: RegistryContent } {
  const parsed = parseAllDocuments(text, { prettyErrors: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  const problems: RegistryProblem[] = [];
  docs.forEach((doc, i) => {
    for (const e of doc.errors) {
      // prettyErrors: the first line ends with "at line L, column C:"; the code frame follows.
      problems.push({ document: i + 1, path: '', message: `YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}` });
    }
  });
  if (problems.length > 0) throw new RegistryValidationError(problems, source);
  return { docs, content: validateDocuments(docs.map((doc) => doc.toJS()), source) };
}

/** The text of a registry without resources (a comment, so that it is not taken for a truncated file). */
const EMPTY = '# Mooring registry: no resources yet\n';

export interface FileRegistryOptions {
  /** The registry file; default `<dataDir>/registry.yaml` (the demo, created if missing). */
  path?: string;
  /** Default `./.mooring`. */
  dataDir?: string;
  /** The demo application's push endpoint (`spec.knative.endpoint.url`), written when the demo file is created. */
  demoEndpoint?: string;
  logger?: Logger;
  /** Reload on edits (default true). */
  watch?: boolean;
  /** Quiet time after the last file event before reloading (default 100 ms). */
  debounceMs?: number;
}

export type ReloadOutcome =
  | { status: 'applied' }
  /** The file's text is what is already in force. */
  | { status: 'unchanged' }
  /** Invalid or unreadable: the last good content stays in force. */
  | { status: 'refused'; error: Error };

export class FileBackend implements RegistryBackend {
  readonly path: string;
  /** True when this instance created the demo file. */
  readonly createdDemo: boolean;
  readonly #mem: MemoryBackend;
  readonly #logger: Logger;
  readonly #debounceMs: number;
  readonly #reloadListeners = new Set<(outcome: ReloadOutcome) => void>();
  #docs: Doc[] = [];
  #where = new Map<string, DocLocation>();
  #text = '';
  #loaded = false;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<ReloadOutcome> | undefined;
  #again = false;
  #closed = false;

  private constructor(path: string, createdDemo: boolean, opts: FileRegistryOptions) {
    this.path = path;
    this.createdDemo = createdDemo;
    this.#logger = opts.logger ?? silentLogger;
    this.#debounceMs = opts.debounceMs ?? 100;
    this.#mem = new MemoryBackend({ logger: this.#logger, persist: (staged) => this.#persist(staged) });
  }

  /** Loads the file (creating the demo file when no path is configured) and starts watching it. */
  static async open(opts: FileRegistryOptions = {}): Promise<FileBackend> {
    let path = opts.path;
    let createdDemo = false;
    if (!path) {
      path = join(opts.dataDir ?? './.mooring', 'registry.yaml');
      createdDemo = await createIfMissing(path, demoRegistryYaml({ endpoint: opts.demoEndpoint }));
    }
    path = resolve(path);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new MooringError('MOORING_INVALID_CONFIG', `registry file ${path} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    const backend = new FileBackend(path, createdDemo, opts);
    const counts = await backend.#mem.exclusive(() => backend.#load(text));
    backend.#logger.info({ path, ...counts, createdDemo }, 'registry loaded');
    if (opts.watch ?? true) backend.#watch();
    return backend;
  }

  getApplication(name: string): Promise<StoredApplication | undefined> { return this.#mem.getApplication(name); }
  getDevice(application: string, name: string): Promise<StoredDevice | undefined> { return this.#mem.getDevice(application, name); }
  findDeviceByAlias(application: string, alias: string): Promise<StoredDevice | undefined> { return this.#mem.findDeviceByAlias(application, alias); }
  listApplications(): Promise<StoredApplication[]> { return this.#mem.listApplications(); }
  listDevices(application: string): Promise<StoredDevice[]> { return this.#mem.listDevices(application); }
  commit(writes: readonly BackendWrite[], changes: readonly Omit<RegistryChange, 'origin'>[]): Promise<void> { return this.#mem.commit(writes, changes); }
  onChanges(listener: (changes: readonly RegistryChange[]) => void): () => void { return this.#mem.onChanges(listener); }

  /** Called after every reload attempt with its outcome (tests and operators wait on this). */
  onReload(listener: (outcome: ReloadOutcome) => void): () => void {
    this.#reloadListeners.add(listener);
    return () => { this.#reloadListeners.delete(listener); };
  }

  /** Takes `text` (the file's) into force; runs inside the memory backend's `exclusive`. */
  async #load(text: string): Promise<{ applications: number; devices: number; rewritten: boolean }> {
    const { docs, content } = parseDocs(text, this.path);
    const where = locate(docs);
    const prev = this.#loaded ? { applications: this.#mem.applicationsNow(), devices: this.#mem.devicesNow() } : undefined;
    const settled = await settleContent(content, where, prev);
    let written = text;
    if (settled.rewrites.length > 0) {
      for (const r of settled.rewrites) writeResource(docs[r.loc.doc]!, r.loc, r.resource, r.access, r.keepShort);
      written = render(docs);
      try {
        await this.#write(written);
      } catch (err) {
        // In force anyway; the file keeps what it said (plain passwords included) until it can be written.
        this.#logger.warn({ path: this.path, err: (err as Error).message }, 'registry file could not be rewritten with server-set fields and hashed passwords');
        written = text;
      }
    }
    this.#docs = docs;
    this.#where = locate(docs);
    this.#text = written;
    this.#loaded = true;
    this.#mem.replaceNow(settled.applications, settled.devices, settled.changes);
    return { applications: settled.applications.length, devices: settled.devices.length, rewritten: written !== text };
  }

  /** Makes a staged commit durable: the documents edited in place, checked to load again, the file replaced. */
  async #persist(staged: StagedCommit): Promise<void> {
    const docs = this.#docs.map((d) => d.clone());
    const removals: DocLocation[] = [];
    for (const [name, record] of staged.applications) {
      const loc = this.#where.get(applicationKey(name));
      if (!record) { if (loc) removals.push(loc); } else if (loc) writeResource(docs[loc.doc]!, loc, record.resource, record.access, false);
      else docs.push(newDocument(record.resource, record.access));
    }
    for (const { application, name, record } of staged.devices.values()) {
      const loc = this.#where.get(deviceKey(application, name));
      if (!record) { if (loc) removals.push(loc); continue; }
      if (!loc) { docs.push(newDocument(record.resource)); continue; }
      const cur = await this.#mem.getDevice(application, name);
      const r = record.resource;
      const keepShort = cur !== undefined && isDeepStrictEqual(cur.resource.spec, r.spec) && !r.status && !r.metadata.finalizers && !r.metadata.deletionTimestamp;
      writeResource(docs[loc.doc]!, loc, r, undefined, keepShort);
    }
    removeResources(docs, removals);
    const text = docs.length > 0 ? render(docs) : EMPTY;
    try {
      parseDocs(text, this.path);
    } catch (err) {
      throw new MooringError('MOORING_INVALID_REQUEST', `the registry file would not load: ${(err as Error).message}`, { cause: err });
    }
    await this.#write(text);
    this.#docs = docs.length > 0 ? docs : parseDocs(text).docs;
    this.#where = locate(this.#docs);
    this.#text = text;
  }

  /** A temp file in the same directory, renamed over the registry file. */
  async #write(text: string): Promise<void> {
    const tmp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`);
    try {
      await writeFile(tmp, text);
      await rename(tmp, this.path);
    } catch (err) {
      throw new MooringError('MOORING_UNAVAILABLE', `registry file ${this.path} cannot be written: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Reads the file again now; concurrent calls are serialized (a call during a reload reruns after it). */
  reload(): Promise<ReloadOutcome> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    const run = async (): Promise<ReloadOutcome> => {
      let outcome: ReloadOutcome;
      do {
        this.#again = false;
        outcome = await this.#reloadOnce();
      } while (this.#again && !this.#closed);
      return outcome;
    };
    this.#reloading = run().finally(() => { this.#reloading = undefined; });
    return this.#reloading;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#reloading;
    await this.#mem.close();
  }

  async #reloadOnce(): Promise<ReloadOutcome> {
    let outcome: ReloadOutcome;
    try {
      outcome = await this.#mem.exclusive(async (): Promise<ReloadOutcome> => {
        const text = await readFile(this.path, 'utf8');
        if (text === this.#text) return { status: 'unchanged' };
        // Most likely an editor truncating before it writes; to empty the registry on purpose,
        // leave a comment or a `---` in the file.
        if (text.trim() === '') throw new MooringError('MOORING_INVALID_CONFIG', `registry file ${this.path} is empty`);
        const counts = await this.#load(text);
        this.#logger.info({ path: this.path, ...counts }, 'registry reloaded');
        return { status: 'applied' };
      });
    } catch (err) {
      const error = err as Error;
      if (error instanceof RegistryValidationError) {
        this.#logger.error({ path: this.path, problems: error.problems }, `registry edit refused, last good registry stays in force: ${error.message}`);
      } else {
        this.#logger.warn({ path: this.path, err: error.message }, 'registry file unreadable, last good registry stays in force');
      }
      outcome = { status: 'refused', error };
    }
    for (const listener of [...this.#reloadListeners]) {
      try { listener(outcome); } catch (err) { this.#logger.error({ err }, 'registry reload listener failed'); }
    }
    return outcome;
  }

  #watch(): void {
    const name = basename(this.path);
    try {
      // The directory, not the file: a rename-over replaces the inode a file watch would follow.
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (filename !== null && filename !== name) return;
        this.#schedule();
      });
      this.#watcher.on('error', (err) => this.#logger.warn({ err: err.message, path: this.path }, 'registry watch failed; edits need a restart'));
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message, path: this.path }, 'registry watch failed; edits need a restart');
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => { void this.reload(); }, this.#debounceMs);
    this.#timer.unref();
  }
}


/**
 * The store of embedded mode: Drogue's rules on the file backend. `open` takes the options the
 * reader always took; the file's reload outcomes stay observable.
 */
export class FileRegistry extends BackendRegistryStore {
  readonly file: FileBackend;

  private constructor(file: FileBackend) {
    super(file);
    this.file = file;
  }

  static async open(opts: FileRegistryOptions = {}): Promise<FileRegistry> {
    return new FileRegistry(await FileBackend.open(opts));
  }

  get path(): string { return this.file.path; }
  get createdDemo(): boolean { return this.file.createdDemo; }
  onReload(listener: (outcome: ReloadOutcome) => void): () => void { return this.file.onReload(listener); }
  reload(): Promise<ReloadOutcome> { return this.file.reload(); }
}

/** Writes `text` to `path` unless the file exists; true when it was created. */
async function createIfMissing(path: string, text: string): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(path, text, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}
