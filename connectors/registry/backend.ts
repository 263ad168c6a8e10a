// The persistence beneath every RegistryStore: what an adapter (memory, file, DynamoDB) must do,
// and no more. Drogue's rules (server-set metadata, generation, name and alias rules, hashing of
// credentials, finalizers, cascading delete, which paths changed) live once, in
// connectors/registry/store.ts, which runs on any backend. A backend stores records, finds them
// by key or alias (an index lookup on the device authentication path, never a scan), commits a
// set of writes atomically with compare-and-set on each record's revision and put-if-absent on
// aliases, and reports every committed change, its own and (for a shared store) other instances'.

import type { Application, ApplicationAccess, Device, RegistryChange } from '../../functions/ports/registry.ts';

export interface StoredApplication {
  resource: Application;
  access: ApplicationAccess;
  /** Internal, never shown by the API: +1 on every write of the record (members included). The CAS token. */
  revision: number;
}

export interface StoredDevice {
  resource: Device;
  revision: number;
}

/**
 * An alias claims a name in a scope, for one resource. Application aliases are global (scope
 * `''`): types `name` and `x509/ca` (trust anchor subject DN). Device aliases are per application
 * (scope = the application's name): types `name`, `alias` (spec.alias) and `username` (a unique
 * `user` credential). Uniqueness is on (scope, value) across types, as Drogue's ALIAS tables.
 */
export interface AliasKey {
  scope: string;
  value: string;
}
export interface AliasClaim extends AliasKey {
  type: 'name' | 'alias' | 'username' | 'x509/ca';
  /** The resource that holds the alias: the application's name, or the device's name. */
  target: string;
}

/** `absent`: the record must not exist; a number: its stored revision must equal it. */
export type Expectation = 'absent' | { revision: number };

export type BackendWrite =
  | { op: 'putApplication'; record: StoredApplication; expect: Expectation }
  | { op: 'deleteApplication'; name: string; expect: { revision: number } }
  | { op: 'putDevice'; record: StoredDevice; expect: Expectation }
  | { op: 'deleteDevice'; application: string; name: string; expect: { revision: number } }
  /** Fails when (scope, value) is held by another target (of any type). Re-claiming one's own is a no-op. */
  | { op: 'claimAlias'; alias: AliasClaim }
  | { op: 'releaseAlias'; alias: AliasKey }
  /** Writes nothing; fails the commit unless the application's stored revision equals `expect`
   *  (DynamoDB: a ConditionCheck). A device create carries it, so it cannot land in an application
   *  that a concurrent delete has just marked. */
  | { op: 'checkApplication'; name: string; expect: { revision: number } };

export interface RegistryBackend {
  getApplication(name: string): Promise<StoredApplication | undefined>;
  getDevice(application: string, name: string): Promise<StoredDevice | undefined>;
  /** The device holding `alias` (a name, an alias or a unique username) in the application. */
  findDeviceByAlias(application: string, alias: string): Promise<StoredDevice | undefined>;
  /** Any order; the store sorts. */
  listApplications(): Promise<StoredApplication[]>;
  /** Any order; a query on the application's key (not a table scan). */
  listDevices(application: string): Promise<StoredDevice[]>;
  /**
   * All writes or none. A failed expectation or alias claim throws MOORING_CONFLICT; an
   * unreachable store MOORING_UNAVAILABLE. `changes` are reported to onChanges listeners (here
   * as `local`; to other instances sharing the store as `remote`) once the commit is durable.
   * DynamoDB: one TransactWriteItems, so at most 100 writes (the store splits larger deletes).
   */
  commit(writes: readonly BackendWrite[], changes: readonly Omit<RegistryChange, 'origin'>[]): Promise<void>;
  /**
   * Every committed change. Also called with an empty list when content changed without
   * a registry event (e.g. a hand edit of the file, members), so caches are dropped.
   */
  onChanges(listener: (changes: readonly RegistryChange[]) => void): () => void;
  close(): Promise<void>;
}
