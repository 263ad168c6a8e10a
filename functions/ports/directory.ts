// The ConnectionDirectory port: which instance (an MQTT gateway process) holds which device's
// connection, so a command goes to the one instance that can deliver it (no broadcast), a device
// connecting to instance B takes its connection over from instance A, and when an instance dies a
// survivor says goodbye (Will, connected:false) for its devices. Drogue Cloud's device-state
// service (sessions with a ping, one state row per device) is the model; Mooring needs no 409
// retry loop and no separate service. Adapters: connectors/directory (in-memory, embedded mode),
// connectors/dynamodb/directory.ts (instances sharing Kafka and DynamoDB). Every adapter passes
// test/contracts/connection-directory.ts.
//
// What an adapter must guarantee (a DynamoDB adapter: one item per device keyed by
// `{app}/{device}`, one lease item per instance with a TTL attribute, conditional writes):
// - at most one holder per device at any time (`claim` is a conditional write: the item is absent,
//   held by this instance, or held by an instance whose lease ran out);
// - `release` deletes only when instance and token still match (condition on both);
// - a lease runs out `ttlMs` after the instance's last `refresh`/`claim` (DynamoDB's TTL deletion
//   is lazy: expiry is decided by comparing the lease's `expires` attribute with the clock, never
//   by the item being gone);
// - each entry of a dead instance is handed out once, to one `reap` caller or as the `orphan` of
//   one `claim` (a conditional delete / overwrite on the entry's token), so a Will is emitted once;
// - the previous holder's listener hears of a loss at the latest when its next `refresh` resolves
//   (DynamoDB: a `lost` marker written on the holder's lease item, read and cleared by refresh).

/** One device's connection as the directory records it. */
export interface ConnectionEntry {
  readonly application: string;
  readonly device: string;
  /** The instance (gateway process) holding the connection. */
  readonly instance: string;
  /** Unique per connection: a release or a loss concerns this connection only. */
  readonly token: string;
  /**
   * Opaque text the holder stores for whoever must say goodbye in its place (the MQTT gateway:
   * the Will and the identity of the connection event, as JSON). At most a few KiB.
   */
  readonly farewell?: string;
}

/** A loss heard by the previous holder. */
export interface LostConnection {
  readonly entry: ConnectionEntry;
  /**
   * true: end the connection and say goodbye (Will, connected:false) yourself, then release;
   * false: someone else already did (the instance's lease ran out and was reaped, or a claim
   * forced the device away): end it without events.
   */
  readonly farewell: boolean;
}

export type ClaimOutcome =
  /** The caller holds the device now. `orphan`: the entry of a dead (or forced-away) holder, whose goodbye is the caller's. */
  | { readonly claimed: true; readonly orphan?: ConnectionEntry }
  /** Another live instance holds it; it has been told (`lost`) and releases once it said goodbye. */
  | { readonly claimed: false; readonly holder: ConnectionEntry };

export interface ClaimOptions {
  /** Take the device even from a live holder (after waiting for its release in vain). */
  force?: boolean;
}

export type ConnectionRef = Pick<ConnectionEntry, 'application' | 'device' | 'instance' | 'token'>;

export interface ConnectionDirectory {
  /** How long an instance's lease lasts after its last refresh. */
  readonly ttlMs: number;
  /** Starts or renews the instance's lease; hands pending losses to its listener before resolving. */
  refresh(instance: string): Promise<void>;
  /**
   * Records `entry` as the device's connection (renewing the instance's lease). Free, held by the
   * same instance (a local takeover, already handled by the caller) or held by a dead instance:
   * claimed. Held by another live instance: not claimed, that holder is told it lost the device.
   */
  claim(entry: ConnectionEntry, options?: ClaimOptions): Promise<ClaimOutcome>;
  /** Forgets the connection if it is still this instance's and token's; true when it was. */
  release(ref: ConnectionRef): Promise<boolean>;
  /** The live holder of the device's connection; a dead instance's entry is not returned. */
  lookup(application: string, device: string): Promise<ConnectionEntry | undefined>;
  /** Resolves true once the connection `token` no longer holds the device (released, lost or dead), false after `timeoutMs`. */
  waitReleased(application: string, device: string, token: string, timeoutMs: number): Promise<boolean>;
  /** Removes the instances whose lease ran out; returns their entries, each to one caller only. */
  reap(): Promise<ConnectionEntry[]>;
  /** The instance's losses, as they are learnt; returns the unsubscribe function. */
  listen(instance: string, listener: (lost: LostConnection) => void): () => void;
}
