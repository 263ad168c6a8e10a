// The RegistryStore with Drogue Cloud's rules (§5.2–§5.8 of the reference), once, on any
// RegistryBackend (memory, file, DynamoDB): server-set metadata, generation and resourceVersion,
// optimistic locking, alias uniqueness, hashed credentials, finalizers and cascading delete, one
// change per changed path. Each write is a read-modify-write committed with compare-and-set; a
// commit that lost a race with another writer is redone on the fresh record (the client's
// preconditions are checked again, so they, not the race, decide on a 409).

import { randomUUID } from 'node:crypto';
import type {
  Application, ApplicationAccess, ApplicationInput, Device, DeviceInput, ListOptions, Preconditions,
  RegistryChange, RegistryStore,
} from '../../functions/ports/registry.ts';
import { isMooringError, MooringError } from '../../events/errors.ts';
import type { AliasClaim, BackendWrite, RegistryBackend, StoredApplication, StoredDevice } from './backend.ts';
import { labelMatcher } from './labels.ts';
import {
  aliasDiff, applicationAliases, changedPaths, checkApplicationSpec, checkMetadata, clientMetadata, deviceAliases, hashCredentials, newVersion, timestamp,
} from './rules.ts';
import { applicationStatus } from './trust-anchors.ts';

const HAS_DEVICES = 'has-devices';
/** DynamoDB's TransactWriteItems limit. */
const MAX_WRITES = 100;
const MAX_ATTEMPTS = 16;
const RETRY = Symbol('retry');
type Attempt<T> = Promise<T | typeof RETRY>;
type Change = Omit<RegistryChange, 'origin'>;

const conflict = () => new MooringError('MOORING_CONFLICT', 'Conflict');
const notFound = () => new MooringError('MOORING_NOT_FOUND', 'Not found');
const referenceNotFound = () => new MooringError('MOORING_REFERENCE_NOT_FOUND', 'Referenced a non-existing entity');

/** Empty fields are not checked (Drogue's service/utils.rs). */
function checkPreconditions(md: { uid?: string; resourceVersion?: string }, p: Preconditions | undefined): void {
  if (p?.uid && p.uid !== md.uid) throw conflict();
  if (p?.resourceVersion && p.resourceVersion !== md.resourceVersion) throw conflict();
}

const release = (a: AliasClaim): BackendWrite => ({ op: 'releaseAlias', alias: { scope: a.scope, value: a.value } });
const claim = (a: AliasClaim): BackendWrite => ({ op: 'claimAlias', alias: a });

function page<T>(items: T[], opts: ListOptions | undefined): T[] {
  const offset = Math.max(0, opts?.offset ?? 0);
  return opts?.limit === undefined ? items.slice(offset) : items.slice(offset, offset + Math.max(0, opts.limit));
}
const byName = <T extends { metadata: { name: string } }>(a: T, b: T) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);

export class BackendRegistryStore implements RegistryStore {
  readonly backend: RegistryBackend;

  constructor(backend: RegistryBackend) {
    this.backend = backend;
  }

  // --- reads ---------------------------------------------------------------------------------

  async getApplication(name: string): Promise<Application | undefined> { return (await this.backend.getApplication(name))?.resource; }
  async getDevice(application: string, name: string): Promise<Device | undefined> { return (await this.backend.getDevice(application, name))?.resource; }
  async findDevice(application: string, nameOrAlias: string): Promise<Device | undefined> {
    return (await this.backend.findDeviceByAlias(application, nameOrAlias))?.resource;
  }

  async listApplications(opts?: ListOptions & { filter?: (app: Application, access: ApplicationAccess) => boolean }): Promise<Application[]> {
    const match = labelMatcher(opts?.labels);
    const filter = opts?.filter;
    const apps = (await this.backend.listApplications())
      .filter((a) => match(a.resource.metadata.labels) && (!filter || filter(a.resource, a.access)))
      .map((a) => a.resource).sort(byName);
    return page(apps, opts);
  }

  async listDevices(application: string, opts?: ListOptions): Promise<Device[]> {
    const match = labelMatcher(opts?.labels);
    const devices = (await this.backend.listDevices(application)).map((d) => d.resource).filter((d) => match(d.metadata.labels)).sort(byName);
    return page(devices, opts);
  }

  async getAccess(application: string): Promise<ApplicationAccess | undefined> { return (await this.backend.getApplication(application))?.access; }

  onChange(listener: () => void): () => void { return this.backend.onChanges(() => listener()); }
  onChanges(listener: (changes: readonly RegistryChange[]) => void): () => void { return this.backend.onChanges(listener); }
  close(): Promise<void> { return this.backend.close(); }

  // --- the commit and its retry ----------------------------------------------------------------

  async #retry<T>(attempt: () => Attempt<T>): Promise<T> {
    for (let i = 1; ; i++) {
      const r = await attempt();
      if (r !== RETRY) return r;
      if (i >= MAX_ATTEMPTS) throw conflict();
      // Writers that lost a race together should not meet again at once.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * i * 2));
    }
  }

  /**
   * Commits; on a conflict, `raced()` tells whether a record read for this write changed meanwhile
   * (then the write is redone: RETRY), else the conflict is the client's (a duplicate, an alias).
   */
  async #commit(writes: BackendWrite[], changes: Change[], raced: () => Promise<boolean>): Promise<typeof RETRY | undefined> {
    try {
      await this.backend.commit(writes, changes);
      return undefined;
    } catch (err) {
      if (!isMooringError(err, 'MOORING_CONFLICT')) throw err;
      if (await raced()) return RETRY;
      throw conflict();
    }
  }

  #appChanged(app: StoredApplication): () => Promise<boolean> {
    return async () => (await this.backend.getApplication(app.resource.metadata.name))?.revision !== app.revision;
  }

  #deviceChanged(dev: StoredDevice): () => Promise<boolean> {
    const { application, name } = dev.resource.metadata;
    return async () => (await this.backend.getDevice(application, name))?.revision !== dev.revision;
  }

  // --- applications ----------------------------------------------------------------------------

  async createApplication(input: ApplicationInput, opts?: { owner?: string }): Promise<Application> {
    checkMetadata(input?.metadata, 'Application');
    checkApplicationSpec(input.spec);
    const spec = { ...input.spec };
    const resource: Application = {
      kind: 'Application',
      metadata: {
        name: input.metadata.name, uid: randomUUID(), creationTimestamp: timestamp(), generation: 0, resourceVersion: newVersion(),
        ...clientMetadata(input.metadata),
      },
      spec,
    };
    const status = applicationStatus(spec, input.status);
    if (status) resource.status = status;
    const access: ApplicationAccess = { members: {}, resourceVersion: newVersion() };
    if (opts?.owner !== undefined) access.owner = opts.owner;
    const record: StoredApplication = { resource, access, revision: 0 };
    await this.#commit(
      [{ op: 'putApplication', record, expect: 'absent' }, ...applicationAliases(resource).map(claim)],
      [{ kind: 'application', application: resource.metadata.name, uid: resource.metadata.uid!, revision: 0, path: '.' }],
      async () => false,
    );
    return resource;
  }

  async updateApplication(input: ApplicationInput): Promise<Application> {
    checkMetadata(input?.metadata, 'Application');
    checkApplicationSpec(input.spec);
    return this.#retry(async () => {
      const cur = await this.backend.getApplication(input.metadata.name);
      if (!cur) throw notFound();
      checkPreconditions(cur.resource.metadata, input.metadata);
      const old = cur.resource;
      const spec = { ...input.spec };
      const next: Application = {
        kind: 'Application',
        metadata: { ...old.metadata, labels: undefined, annotations: undefined, finalizers: undefined, ...clientMetadata(input.metadata) },
        spec,
      };
      for (const k of ['labels', 'annotations', 'finalizers'] as const) if (next.metadata[k] === undefined) delete next.metadata[k];
      const status = applicationStatus(spec, input.status);
      if (status) next.status = status;
      const paths = changedPaths(old, next);
      if (paths.length === 0) return old;
      const aliases = aliasDiff(applicationAliases(old), applicationAliases(next));
      if (old.metadata.deletionTimestamp && !next.metadata.finalizers) {
        // Finalizers cleared during deletion: the application goes, without an event (§5.7).
        const r = await this.#commit(
          [{ op: 'deleteApplication', name: old.metadata.name, expect: { revision: cur.revision } }, ...applicationAliases(old).map(release)],
          [], this.#appChanged(cur));
        return r ?? old;
      }
      next.metadata.generation = (old.metadata.generation ?? 0) + (paths.some((p) => p.startsWith('.spec')) ? 1 : 0);
      next.metadata.resourceVersion = newVersion();
      const revision = cur.revision + 1;
      const r = await this.#commit(
        [{ op: 'putApplication', record: { ...cur, resource: next, revision }, expect: { revision: cur.revision } },
          ...aliases.release.map(release), ...aliases.claim.map(claim)],
        paths.map((path) => ({ kind: 'application', application: old.metadata.name, uid: old.metadata.uid!, revision, path })),
        this.#appChanged(cur));
      return r ?? next;
    });
  }

  async deleteApplication(name: string, preconditions?: Preconditions): Promise<void> {
    // 1. Mark it, so that device creates from now on find it being deleted (REFERENCE_NOT_FOUND).
    const marked = await this.#retry(async (): Attempt<StoredApplication> => {
      const cur = await this.backend.getApplication(name);
      if (!cur || cur.resource.metadata.deletionTimestamp) throw notFound();
      checkPreconditions(cur.resource.metadata, preconditions);
      const resource: Application = structuredClone(cur.resource);
      resource.metadata.deletionTimestamp = timestamp();
      resource.metadata.resourceVersion = newVersion();
      const record = { ...cur, resource, revision: cur.revision + 1 };
      const r = await this.#commit([{ op: 'putApplication', record, expect: { revision: cur.revision } }], [], this.#appChanged(cur));
      return r ?? record;
    });
    // 2. Devices without finalizers go directly (no device events), their aliases released.
    await this.#deleteDevicesOf(name);
    // 3. `has-devices` if devices remain; then the application goes ('.'), or stays marked ('.metadata').
    await this.#retry(async () => {
      const cur = await this.backend.getApplication(name);
      if (!cur || cur.resource.metadata.uid !== marked.resource.metadata.uid) return undefined;
      const remaining = (await this.backend.listDevices(name)).length;
      const finalizers = [...(cur.resource.metadata.finalizers ?? [])];
      if (remaining > 0 && !finalizers.includes(HAS_DEVICES)) finalizers.push(HAS_DEVICES);
      const uid = cur.resource.metadata.uid!;
      const revision = cur.revision + 1;
      if (finalizers.length === 0) {
        return this.#commit(
          [{ op: 'deleteApplication', name, expect: { revision: cur.revision } }, ...applicationAliases(cur.resource).map(release)],
          [{ kind: 'application', application: name, uid, revision, path: '.' }], this.#appChanged(cur));
      }
      const resource: Application = structuredClone(cur.resource);
      resource.metadata.finalizers = finalizers;
      resource.metadata.resourceVersion = newVersion();
      return this.#commit(
        [{ op: 'putApplication', record: { ...cur, resource, revision }, expect: { revision: cur.revision } }],
        [{ kind: 'application', application: name, uid, revision, path: '.metadata' }], this.#appChanged(cur));
    });
  }

  /** Deletes the application's devices that have no finalizers, in commits of at most MAX_WRITES. */
  async #deleteDevicesOf(application: string): Promise<void> {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const doomed = (await this.backend.listDevices(application)).filter((d) => !d.resource.metadata.finalizers?.length);
      if (doomed.length === 0) return;
      let batch: BackendWrite[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const writes = batch;
        batch = [];
        // A device changed meanwhile: the next round lists again.
        try { await this.backend.commit(writes, []); } catch (err) { if (!isMooringError(err, 'MOORING_CONFLICT')) throw err; }
      };
      for (const d of doomed) {
        const writes: BackendWrite[] = [
          { op: 'deleteDevice', application, name: d.resource.metadata.name, expect: { revision: d.revision } },
          ...deviceAliases(d.resource).map(release),
        ];
        if (batch.length + writes.length > MAX_WRITES) await flush();
        batch.push(...writes);
      }
      await flush();
    }
  }

  /** The last device of an application being deleted is gone: drop `has-devices`, and the application when no finalizer is left (no event). */
  async #finishApplication(application: string): Promise<void> {
    await this.#retry(async () => {
      const cur = await this.backend.getApplication(application);
      if (!cur?.resource.metadata.deletionTimestamp || !cur.resource.metadata.finalizers?.includes(HAS_DEVICES)) return undefined;
      if ((await this.backend.listDevices(application)).length > 0) return undefined;
      const finalizers = cur.resource.metadata.finalizers.filter((f) => f !== HAS_DEVICES);
      if (finalizers.length === 0) {
        return this.#commit(
          [{ op: 'deleteApplication', name: application, expect: { revision: cur.revision } }, ...applicationAliases(cur.resource).map(release)],
          [], this.#appChanged(cur));
      }
      const resource: Application = structuredClone(cur.resource);
      resource.metadata.finalizers = finalizers;
      resource.metadata.resourceVersion = newVersion();
      return this.#commit([{ op: 'putApplication', record: { ...cur, resource, revision: cur.revision + 1 }, expect: { revision: cur.revision } }],
        [], this.#appChanged(cur));
    });
  }

  // --- devices ---------------------------------------------------------------------------------

  async createDevice(input: DeviceInput): Promise<Device> {
    checkMetadata(input?.metadata, 'Device');
    const { name, application } = input.metadata;
    return this.#retry(async () => {
      const app = await this.backend.getApplication(application);
      if (!app || app.resource.metadata.deletionTimestamp) throw referenceNotFound();
      const { spec } = await hashCredentials({ ...input.spec });
      const resource: Device = {
        kind: 'Device',
        metadata: {
          name, application, uid: randomUUID(), creationTimestamp: timestamp(), generation: 0, resourceVersion: newVersion(),
          ...clientMetadata(input.metadata),
        },
        spec,
      };
      if (input.status && Object.keys(input.status).length > 0) resource.status = { ...input.status };
      const r = await this.#commit(
        [{ op: 'checkApplication', name: application, expect: { revision: app.revision } },
          { op: 'putDevice', record: { resource, revision: 0 }, expect: 'absent' }, ...deviceAliases(resource).map(claim)],
        [{ kind: 'device', application, device: name, uid: resource.metadata.uid!, revision: 0, path: '.' }],
        this.#appChanged(app));
      return r ?? resource;
    });
  }

  async updateDevice(input: DeviceInput): Promise<Device> {
    checkMetadata(input?.metadata, 'Device');
    const { name, application } = input.metadata;
    return this.#retry(async () => {
      const cur = await this.backend.getDevice(application, name);
      if (!cur) throw notFound();
      checkPreconditions(cur.resource.metadata, input.metadata);
      const old = cur.resource;
      const { spec } = await hashCredentials({ ...input.spec }, old.spec);
      const { labels: _l, annotations: _a, finalizers: _f, ...kept } = old.metadata;
      const next: Device = { kind: 'Device', metadata: { ...kept, ...clientMetadata(input.metadata) }, spec };
      if (input.status && Object.keys(input.status).length > 0) next.status = { ...input.status };
      const paths = changedPaths(old, next);
      if (paths.length === 0) return old;
      if (old.metadata.deletionTimestamp && !next.metadata.finalizers) {
        // The last finalizer is gone: the device goes, without an event (§5.7).
        const r = await this.#commit(
          [{ op: 'deleteDevice', application, name, expect: { revision: cur.revision } }, ...deviceAliases(old).map(release)],
          [], this.#deviceChanged(cur));
        if (r) return r;
        await this.#finishApplication(application);
        return old;
      }
      next.metadata.generation = (old.metadata.generation ?? 0) + (paths.some((p) => p.startsWith('.spec')) ? 1 : 0);
      next.metadata.resourceVersion = newVersion();
      const revision = cur.revision + 1;
      const aliases = aliasDiff(deviceAliases(old), deviceAliases(next));
      const r = await this.#commit(
        [{ op: 'putDevice', record: { resource: next, revision }, expect: { revision: cur.revision } },
          ...aliases.release.map(release), ...aliases.claim.map(claim)],
        paths.map((path) => ({ kind: 'device', application, device: name, uid: old.metadata.uid!, revision, path })),
        this.#deviceChanged(cur));
      return r ?? next;
    });
  }

  async deleteDevice(application: string, name: string, preconditions?: Preconditions): Promise<void> {
    const removed = await this.#retry(async (): Attempt<boolean> => {
      const cur = await this.backend.getDevice(application, name);
      if (!cur || cur.resource.metadata.deletionTimestamp) throw notFound();
      checkPreconditions(cur.resource.metadata, preconditions);
      const uid = cur.resource.metadata.uid!;
      const revision = cur.revision + 1;
      if (!cur.resource.metadata.finalizers?.length) {
        const r = await this.#commit(
          [{ op: 'deleteDevice', application, name, expect: { revision: cur.revision } }, ...deviceAliases(cur.resource).map(release)],
          [{ kind: 'device', application, device: name, uid, revision, path: '.' }], this.#deviceChanged(cur));
        return r ?? true;
      }
      const resource: Device = structuredClone(cur.resource);
      resource.metadata.deletionTimestamp = timestamp();
      resource.metadata.resourceVersion = newVersion();
      const r = await this.#commit(
        [{ op: 'putDevice', record: { resource, revision }, expect: { revision: cur.revision } }],
        [{ kind: 'device', application, device: name, uid, revision, path: '.metadata' }], this.#deviceChanged(cur));
      return r ?? false;
    });
    if (removed) await this.#finishApplication(application);
  }

  // --- access ----------------------------------------------------------------------------------

  /** Read-modify-write of the access record; members never change the application's resourceVersion (no event). */
  #access(application: string, change: (access: ApplicationAccess) => ApplicationAccess): Promise<void> {
    return this.#retry(async () => {
      const cur = await this.backend.getApplication(application);
      if (!cur) throw notFound();
      const access = { ...change(structuredClone(cur.access)), resourceVersion: newVersion() };
      return this.#commit([{ op: 'putApplication', record: { ...cur, access, revision: cur.revision + 1 }, expect: { revision: cur.revision } }],
        [], this.#appChanged(cur));
    });
  }

  async setMembers(application: string, members: ApplicationAccess['members'], expectedVersion?: string): Promise<void> {
    return this.#access(application, (a) => {
      if (expectedVersion && expectedVersion !== a.resourceVersion) throw conflict();
      return { ...a, members: structuredClone(members) };
    });
  }

  async setTransferOwner(application: string, newOwner: string | undefined): Promise<void> {
    return this.#access(application, ({ transferOwner: _t, ...a }) => (newOwner === undefined ? a : { ...a, transferOwner: newOwner }));
  }

  async acceptTransfer(application: string): Promise<void> {
    return this.#access(application, ({ transferOwner, ...a }) => {
      if (transferOwner === undefined) throw notFound();
      return { ...a, owner: transferOwner };
    });
  }
}
