// The device registry as functions and connectors see it: Drogue Cloud's resource format
// (kind Application / Device, metadata + spec + status). RegistryReader is what the device path
// needs (read-only, indexed, with change notification so callers drop cached decisions);
// RegistryStore adds the writes of the management API with Drogue's rules (server-set metadata,
// optimistic locking, alias uniqueness, finalizers, cascading delete, change events).
// Adapters: connectors/registry (memory, file) and connectors/dynamodb.

export interface Metadata {
  name: string;
  /** For a device: the application it belongs to. */
  application?: string;
  uid?: string;
  creationTimestamp?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Set when a delete waits for finalizers; the resource stays readable until they are gone. */
  deletionTimestamp?: string;
  finalizers?: string[];
}

/** A stored password: plain text, or a crypt(3)-style hash. */
export type PasswordCredential =
  | string
  | { plain: string }
  | { bcrypt: string }
  | { sha512: string };

export type Credential =
  | { pass: PasswordCredential }
  | { user: { username: string; password: PasswordCredential; unique?: boolean } }
  | { psk: { key: string; validity?: { notBefore?: string; notAfter?: string } } };

/** `spec.mqtt.dialect`: `{type: 'drogue/v1'}` or `{type: 'plainTopic', devicePrefix?: boolean}`. */
export type MqttDialect =
  | { type: 'drogue/v1' }
  | { type: 'plainTopic'; devicePrefix?: boolean };

export interface ApplicationSpec {
  core?: { disabled?: boolean };
  mqtt?: { dialect?: MqttDialect };
  /** X.509 trust anchors for client certificates: base64 of PEM, as in Drogue. */
  trustAnchors?: { anchors: Array<{ certificate: string }> };
  /** Where the push sink delivers this application's stream. */
  knative?: { endpoint?: { url: string; headers?: Record<string, string>; timeout?: string } };
  /** Mooring's extension: quotas and rate limits of the application (docs/quotas.md). */
  limits?: ApplicationLimits;
  [other: string]: unknown;
}

/**
 * `spec.limits` (a Mooring extension, docs/quotas.md): each field absent takes the process-wide
 * default, 0 means unlimited. Connections are MQTT connections and HTTP requests in progress.
 */
export interface ApplicationLimits {
  application?: { connections?: number; messagesPerSecond?: number; bytesPerSecond?: number; commandsPerSecond?: number };
  device?: { connections?: number; messagesPerSecond?: number; bytesPerSecond?: number };
}

export interface DeviceSpec {
  core?: { disabled?: boolean };
  authentication?: { credentials?: Credential[] };
  gatewaySelector?: { matchNames?: string[] };
  alias?: string[];
  mqtt?: { dialect?: MqttDialect };
  [other: string]: unknown;
}

export interface Application {
  kind: 'Application';
  metadata: Metadata;
  spec: ApplicationSpec;
  /** Free-form, client-writable (Drogue: PUT replaces it); `status.trustAnchors` is recomputed. */
  status?: Record<string, unknown>;
}

export interface Device {
  kind: 'Device';
  metadata: Metadata & { application: string };
  spec: DeviceSpec;
  status?: Record<string, unknown>;
}

export interface RegistryReader {
  getApplication(name: string): Promise<Application | undefined>;
  /** The device by its exact name. */
  getDevice(application: string, name: string): Promise<Device | undefined>;
  /**
   * The device a client names when it authenticates: its name, one of its `alias` entries, or
   * the username of a `user` credential marked `unique`.
   */
  findDevice(application: string, nameOrAlias: string): Promise<Device | undefined>;
  listApplications(): Promise<Application[]>;
  listDevices(application: string): Promise<Device[]>;
  /** Called after every change that took effect; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

// ---------------------------------------------------------------------------------------------
// Writes (the management API). Errors are MooringErrors (events/errors.ts):
// MOORING_INVALID_REQUEST (name rules, unknown metadata fields, bad selector),
// MOORING_CONFLICT (duplicate name or alias, failed uid/resourceVersion precondition),
// MOORING_NOT_FOUND (no such resource, or already being deleted),
// MOORING_REFERENCE_NOT_FOUND (a device's application is missing or being deleted),
// MOORING_UNAVAILABLE (the backing store cannot be reached).
// Authorisation is not the store's business: the API decides (owner/members below) before it calls.

/** What a write takes: `kind` optional; server-set metadata (uid, creationTimestamp, generation,
 *  resourceVersion, deletionTimestamp) sent by the client is ignored, except uid/resourceVersion on
 *  update, which are preconditions. */
export interface ApplicationInput {
  metadata: Metadata;
  spec?: ApplicationSpec;
  status?: Record<string, unknown>;
}
export interface DeviceInput {
  metadata: Metadata & { application: string };
  spec?: DeviceSpec;
  status?: Record<string, unknown>;
}

/** DELETE preconditions (Drogue: an optional JSON body `{"preconditions": {...}}`); empty fields are not checked. */
export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

export interface ListOptions {
  /** A label selector in Kubernetes syntax (`a=b,c!=d,e,!f,g in (x,y),h notin (z)`). */
  labels?: string;
  /** Applied after ordering by name. */
  limit?: number;
  offset?: number;
}

export type MemberRole = 'admin' | 'manager' | 'reader';

/** Who may act on an application (Drogue keeps this beside the resource, not in its JSON). */
export interface ApplicationAccess {
  /** The user id of the owner; absent for an application created anonymously (open to everyone). */
  owner?: string;
  /** The user id a transfer of ownership is offered to. */
  transferOwner?: string;
  /** user id → role; the key `""` is the entry for anonymous users. */
  members: Record<string, { role: MemberRole }>;
  /** Changes on every members write (not with the application's resourceVersion). */
  resourceVersion: string;
}

/** One change that took effect, as Drogue's registry events carry it (§5.8): one per changed path. */
export interface RegistryChange {
  kind: 'application' | 'device';
  application: string;
  device?: string;
  uid: string;
  /** Internal revision: increases on every change of the resource. */
  revision: number;
  /** `.` (created or removed), `.metadata`, `.spec.<key>`, `.status.<key>`. */
  path: string;
  /** `local` when this process made the write; `remote` when another instance did (seen via the store). */
  origin: 'local' | 'remote';
}

export interface RegistryStore extends RegistryReader {
  /** Creates the application (201 in the API); `owner` becomes its owner. */
  createApplication(input: ApplicationInput, opts?: { owner?: string }): Promise<Application>;
  /** Replaces labels, annotations, finalizers, spec and status; no effective change → no new version, no event. */
  updateApplication(input: ApplicationInput): Promise<Application>;
  /** Deletes devices without finalizers, then the application, or marks it (finalizers, `has-devices`). */
  deleteApplication(name: string, preconditions?: Preconditions): Promise<void>;
  createDevice(input: DeviceInput): Promise<Device>;
  updateDevice(input: DeviceInput): Promise<Device>;
  deleteDevice(application: string, name: string, preconditions?: Preconditions): Promise<void>;

  /** Ordered by name; `filter` (e.g. visibility to a user) applies before limit/offset. */
  listApplications(opts?: ListOptions & { filter?: (app: Application, access: ApplicationAccess) => boolean }): Promise<Application[]>;
  listDevices(application: string, opts?: ListOptions): Promise<Device[]>;

  getAccess(application: string): Promise<ApplicationAccess | undefined>;
  /** MOORING_CONFLICT when `expectedVersion` is given and stale. */
  setMembers(application: string, members: ApplicationAccess['members'], expectedVersion?: string): Promise<void>;
  /** Offers the application to `newOwner`, or withdraws the offer (undefined). */
  setTransferOwner(application: string, newOwner: string | undefined): Promise<void>;
  /** Makes the pending new owner the owner (the API checks the caller is that user). */
  acceptTransfer(application: string): Promise<void>;

  /** Every change that took effect, here or (for shared stores) in another instance. */
  onChanges(listener: (changes: readonly RegistryChange[]) => void): () => void;
  close(): Promise<void>;
}
