// The embedded registry: a YAML (or JSON) file of Drogue-format resources, several documents per
// file. The file is watched (its directory, so editors that save by writing a new file and
// renaming it over the old one are seen too); an edit is reloaded after a short debounce and
// takes effect atomically. An invalid edit is refused with every problem logged, and the last
// good content stays in force. Without a path (MOORING_REGISTRY, read by cli/config.ts) a demo
// file is created in the data dir.

import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Application, Device, RegistryReader } from '../../functions/ports/registry.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { MooringError } from '../../events/errors.ts';
import { MemoryRegistry } from './memory.ts';
import { RegistryValidationError, validateDocuments, type RegistryContent, type RegistryProblem } from './validate.ts';
import { demoRegistryYaml } from './demo.ts';

/** Parses a registry file's text and validates it; throws RegistryValidationError. */
export function parseRegistryText(text: string, source?: string): RegistryContent {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  const problems: RegistryProblem[] = [];
  list.forEach((doc, i) => {
    for (const e of doc.errors) {
      // prettyErrors: the first line ends with "at line L, column C:"; the code frame follows.
      problems.push({ document: i + 1, path: '', message: `YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}` });
    }
  });
  if (problems.length > 0) throw new RegistryValidationError(problems, source);
  return validateDocuments(list.map((doc) => doc.toJS()), source);
}

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

export class FileRegistry implements RegistryReader {
  readonly path: string;
  /** True when this instance created the demo file. */
  readonly createdDemo: boolean;
  readonly #registry: MemoryRegistry;
  readonly #logger: Logger;
  readonly #debounceMs: number;
  readonly #reloadListeners = new Set<(outcome: ReloadOutcome) => void>();
  #text: string;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<ReloadOutcome> | undefined;
  #again = false;
  #closed = false;

  private constructor(path: string, text: string, content: RegistryContent, createdDemo: boolean, opts: FileRegistryOptions) {
    this.path = path;
    this.createdDemo = createdDemo;
    this.#text = text;
    this.#logger = opts.logger ?? silentLogger;
    this.#debounceMs = opts.debounceMs ?? 100;
    this.#registry = new MemoryRegistry(content, { logger: this.#logger });
  }

  /** Loads the file (creating the demo file when no path is configured) and starts watching it. */
  static async open(opts: FileRegistryOptions = {}): Promise<FileRegistry> {
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
    const content = parseRegistryText(text, path);
    const registry = new FileRegistry(path, text, content, createdDemo, opts);
    registry.#logger.info({ path, applications: content.applications.length, devices: content.devices.length, createdDemo }, 'registry loaded');
    if (opts.watch ?? true) registry.#watch();
    return registry;
  }

  getApplication(name: string): Promise<Application | undefined> { return this.#registry.getApplication(name); }
  getDevice(application: string, name: string): Promise<Device | undefined> { return this.#registry.getDevice(application, name); }
  findDevice(application: string, nameOrAlias: string): Promise<Device | undefined> { return this.#registry.findDevice(application, nameOrAlias); }
  listApplications(): Promise<Application[]> { return this.#registry.listApplications(); }
  listDevices(application: string): Promise<Device[]> { return this.#registry.listDevices(application); }
  /** Called after an edit took effect (not for refused or unchanged reloads). */
  onChange(listener: () => void): () => void { return this.#registry.onChange(listener); }

  /** Called after every reload attempt with its outcome (tests and operators wait on this). */
  onReload(listener: (outcome: ReloadOutcome) => void): () => void {
    this.#reloadListeners.add(listener);
    return () => { this.#reloadListeners.delete(listener); };
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
  }

  async #reloadOnce(): Promise<ReloadOutcome> {
    let outcome: ReloadOutcome;
    try {
      const text = await readFile(this.path, 'utf8');
      if (text === this.#text) {
        outcome = { status: 'unchanged' };
      } else if (text.trim() === '') {
        // Most likely an editor truncating before it writes; to empty the registry on purpose,
        // leave a comment or a `---` in the file.
        throw new MooringError('MOORING_INVALID_CONFIG', `registry file ${this.path} is empty`);
      } else {
        const content = parseRegistryText(text, this.path);
        this.#text = text;
        this.#logger.info({ path: this.path, applications: content.applications.length, devices: content.devices.length }, 'registry reloaded');
        this.#registry.replace(content);
        outcome = { status: 'applied' };
      }
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
