// An in-memory RegistryReader over checked resources, with the indexes the hot paths need:
// application by name, device by application + name, and device by any name a client may use
// (name, alias, unique username). Content is replaced as a whole (atomically), and resources are
// frozen so no caller can change the registry by accident. The file adapter builds on this.

import type { Application, Device, RegistryReader } from '../../functions/ports/registry.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { validateDocuments, type RegistryContent } from './validate.ts';

interface Snapshot {
  applications: Map<string, Application>;
  devices: Map<string, Map<string, Device>>;
  /** application → (name | alias | unique username) → device. */
  lookup: Map<string, Map<string, Device>>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function index(content: RegistryContent): Snapshot {
  const snap: Snapshot = { applications: new Map(), devices: new Map(), lookup: new Map() };
  for (const app of content.applications) {
    snap.applications.set(app.metadata.name, deepFreeze(app));
    snap.devices.set(app.metadata.name, new Map());
    snap.lookup.set(app.metadata.name, new Map());
  }
  for (const dev of content.devices) {
    const app = dev.metadata.application;
    deepFreeze(dev);
    let byName = snap.devices.get(app);
    let lookup = snap.lookup.get(app);
    if (!byName || !lookup) {
      byName = new Map();
      lookup = new Map();
      snap.devices.set(app, byName);
      snap.lookup.set(app, lookup);
    }
    byName.set(dev.metadata.name, dev);
    // Validation guarantees these keys do not collide between devices; first writer wins anyway.
    const add = (key: string) => { if (!lookup.has(key)) lookup.set(key, dev); };
    add(dev.metadata.name);
    for (const alias of dev.spec.alias ?? []) add(alias);
    for (const c of dev.spec.authentication?.credentials ?? []) {
      if ('user' in c && c.user.unique) add(c.user.username);
    }
  }
  return snap;
}

export class MemoryRegistry implements RegistryReader {
  #snap: Snapshot;
  readonly #listeners = new Set<() => void>();
  readonly #logger: Logger;

  constructor(content: RegistryContent = { applications: [], devices: [] }, opts: { logger?: Logger } = {}) {
    this.#snap = index(content);
    this.#logger = opts.logger ?? silentLogger;
  }

  /** Checks Drogue-format documents (long or short form); throws RegistryValidationError. */
  static fromDocuments(documents: readonly unknown[]): MemoryRegistry {
    return new MemoryRegistry(validateDocuments(documents));
  }

  /** Replaces the whole content (already validated) and notifies the change listeners. */
  replace(content: RegistryContent): void {
    this.#snap = index(content);
    for (const listener of [...this.#listeners]) {
      try { listener(); } catch (err) { this.#logger.error({ err }, 'registry change listener failed'); }
    }
  }

  /** Validates `documents` and replaces the content; throws (keeping the old content) when invalid. */
  replaceDocuments(documents: readonly unknown[]): void {
    this.replace(validateDocuments(documents));
  }

  async getApplication(name: string): Promise<Application | undefined> {
    return this.#snap.applications.get(name);
  }

  async getDevice(application: string, name: string): Promise<Device | undefined> {
    return this.#snap.devices.get(application)?.get(name);
  }

  async findDevice(application: string, nameOrAlias: string): Promise<Device | undefined> {
    return this.#snap.lookup.get(application)?.get(nameOrAlias);
  }

  async listApplications(): Promise<Application[]> {
    return [...this.#snap.applications.values()];
  }

  async listDevices(application: string): Promise<Device[]> {
    return [...(this.#snap.devices.get(application)?.values() ?? [])];
  }

  onChange(listener: () => void): () => void {
    const wrapped = () => listener();
    this.#listeners.add(wrapped);
    return () => { this.#listeners.delete(wrapped); };
  }
}
