// The RegistryBackend in memory: maps by name and by alias, commits all-or-nothing (checked
// against a staged overlay, then applied), one commit at a time. Records are frozen copies, so
// reads hand them out without copying. The file backend (file.ts) runs on this one, persisting
// each staged commit before it is applied.

import type { RegistryChange } from '../../functions/ports/registry.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { MooringError } from '../../events/errors.ts';
import type { AliasClaim, AliasKey, BackendWrite, Expectation, RegistryBackend, StoredApplication, StoredDevice } from './backend.ts';
import { applicationAliases, deviceAliases } from './rules.ts';

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const aliasId = (a: AliasKey) => `${a.scope}\u0000${a.value}`;
const deviceId = (application: string, name: string) => `${application}\u0000${name}`;

/** What one commit changes: touched records (null = removed), by name / device id. */
export interface StagedCommit {
  applications: Map<string, StoredApplication | null>;
  devices: Map<string, { application: string; name: string; record: StoredDevice | null }>;
}

export interface MemoryBackendOptions {
  logger?: Logger;
  /** Makes a staged commit durable before it takes effect (the file backend); a throw fails the commit. */
  persist?: (staged: StagedCommit, backend: MemoryBackend) => Promise<void>;
}

function conflict(what: string): MooringError {
  return new MooringError('MOORING_CONFLICT', `Conflict: ${what}`);
}

function checkExpect(current: { revision: number } | undefined, expect: Expectation, what: string): void {
  if (expect === 'absent') {
    if (current) throw conflict(`${what} exists`);
  } else if (!current || current.revision !== expect.revision) {
    throw conflict(`${what} changed`);
  }
}

export class MemoryBackend implements RegistryBackend {
  readonly #apps = new Map<string, StoredApplication>();
  readonly #devices = new Map<string, Map<string, StoredDevice>>();
  readonly #aliases = new Map<string, AliasClaim>();
  readonly #listeners = new Set<(changes: readonly RegistryChange[]) => void>();
  readonly #logger: Logger;
  readonly #persist: MemoryBackendOptions['persist'];
  #lock: Promise<unknown> = Promise.resolve();

  constructor(opts: MemoryBackendOptions = {}) {
    this.#logger = opts.logger ?? silentLogger;
    this.#persist = opts.persist;
  }

  async getApplication(name: string): Promise<StoredApplication | undefined> { return this.#apps.get(name); }
  async getDevice(application: string, name: string): Promise<StoredDevice | undefined> { return this.#devices.get(application)?.get(name); }
  async findDeviceByAlias(application: string, alias: string): Promise<StoredDevice | undefined> {
    const claim = this.#aliases.get(aliasId({ scope: application, value: alias }));
    return claim ? this.#devices.get(application)?.get(claim.target) : undefined;
  }
  async listApplications(): Promise<StoredApplication[]> { return [...this.#apps.values()]; }
  async listDevices(application: string): Promise<StoredDevice[]> { return [...(this.#devices.get(application)?.values() ?? [])]; }

  /** Synchronous views for the file backend. */
  applicationsNow(): StoredApplication[] { return [...this.#apps.values()]; }
  devicesNow(): StoredDevice[] { return [...this.#devices.values()].flatMap((m) => [...m.values()]); }

  commit(writes: readonly BackendWrite[], changes: readonly Omit<RegistryChange, 'origin'>[]): Promise<void> {
    return this.exclusive(() => this.#commit(writes, changes));
  }

  async #commit(writes: readonly BackendWrite[], changes: readonly Omit<RegistryChange, 'origin'>[]): Promise<void> {
    const staged: StagedCommit = { applications: new Map(), devices: new Map() };
    const aliases = new Map<string, AliasClaim | null>();
    const app = (name: string) => (staged.applications.has(name) ? staged.applications.get(name) ?? undefined : this.#apps.get(name));
    const dev = (a: string, n: string) => {
      const s = staged.devices.get(deviceId(a, n));
      return s ? s.record ?? undefined : this.#devices.get(a)?.get(n);
    };
    const alias = (k: AliasKey) => (aliases.has(aliasId(k)) ? aliases.get(aliasId(k)) ?? undefined : this.#aliases.get(aliasId(k)));
    for (const w of writes) {
      switch (w.op) {
        case 'putApplication':
          checkExpect(app(w.record.resource.metadata.name), w.expect, `application ${w.record.resource.metadata.name}`);
          staged.applications.set(w.record.resource.metadata.name, deepFreeze(structuredClone(w.record)));
          break;
        case 'deleteApplication':
          checkExpect(app(w.name), w.expect, `application ${w.name}`);
          staged.applications.set(w.name, null);
          break;
        case 'checkApplication':
          checkExpect(app(w.name), w.expect, `application ${w.name}`);
          break;
        case 'putDevice': {
          const { application, name } = w.record.resource.metadata;
          checkExpect(dev(application, name), w.expect, `device ${application}/${name}`);
          staged.devices.set(deviceId(application, name), { application, name, record: deepFreeze(structuredClone(w.record)) });
          break;
        }
        case 'deleteDevice':
          checkExpect(dev(w.application, w.name), w.expect, `device ${w.application}/${w.name}`);
          staged.devices.set(deviceId(w.application, w.name), { application: w.application, name: w.name, record: null });
          break;
        case 'claimAlias': {
          const holder = alias(w.alias);
          if (holder && holder.target !== w.alias.target) throw conflict(`alias ${JSON.stringify(w.alias.value)} is taken`);
          aliases.set(aliasId(w.alias), { ...w.alias });
          break;
        }
        case 'releaseAlias':
          aliases.set(aliasId(w.alias), null);
          break;
      }
    }
    if (this.#persist) await this.#persist(staged, this);
    this.#apply(staged, aliases);
    this.#emit(changes.map((c) => ({ ...c, origin: 'local' as const })));
  }

  #apply(staged: StagedCommit, aliases: Map<string, AliasClaim | null>): void {
    for (const [name, record] of staged.applications) {
      if (record) this.#apps.set(name, record);
      else this.#apps.delete(name);
    }
    for (const { application, name, record } of staged.devices.values()) {
      let byName = this.#devices.get(application);
      if (record) {
        if (!byName) this.#devices.set(application, (byName = new Map()));
        byName.set(name, record);
      } else if (byName) {
        byName.delete(name);
        if (byName.size === 0) this.#devices.delete(application);
      }
    }
    for (const [id, claim] of aliases) {
      if (claim) this.#aliases.set(id, claim);
      else this.#aliases.delete(id);
    }
  }

  /** Runs `fn` between commits (nothing commits while it runs). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Replaces the whole content (the file backend's loads, inside `exclusive`), aliases recomputed
   * from the resources (first holder wins; the file's validation refuses device collisions).
   * Reports `changes` (also when empty: content may have changed without a registry event).
   */
  replaceNow(applications: readonly StoredApplication[], devices: readonly StoredDevice[], changes: readonly RegistryChange[]): void {
    this.#apps.clear();
    this.#devices.clear();
    this.#aliases.clear();
    const claim = (c: AliasClaim) => { if (!this.#aliases.has(aliasId(c))) this.#aliases.set(aliasId(c), c); };
    for (const a of applications) {
      this.#apps.set(a.resource.metadata.name, deepFreeze(structuredClone(a)));
      applicationAliases(a.resource).forEach(claim);
    }
    for (const d of devices) {
      const { application, name } = d.resource.metadata;
      let byName = this.#devices.get(application);
      if (!byName) this.#devices.set(application, (byName = new Map()));
      byName.set(name, deepFreeze(structuredClone(d)));
      deviceAliases(d.resource).forEach(claim);
    }
    this.#emit(changes);
  }

  onChanges(listener: (changes: readonly RegistryChange[]) => void): () => void {
    const wrapped = (c: readonly RegistryChange[]) => listener(c);
    this.#listeners.add(wrapped);
    return () => { this.#listeners.delete(wrapped); };
  }

  #emit(changes: readonly RegistryChange[]): void {
    for (const l of [...this.#listeners]) {
      try { l(changes); } catch (err) { this.#logger.error({ err }, 'registry change listener failed'); }
    }
  }

  async close(): Promise<void> {
    await this.#lock;
    this.#listeners.clear();
  }
}
