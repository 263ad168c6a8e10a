// The one quota limiter of a process (docs/quotas.md): every device port (the MQTT gateway's
// TCP, TLS and WebSocket listeners, the HTTP endpoint) and every command entry point (the command
// API, the MQTT integration) of the same process admit through it, so an application's counters
// are one whatever the protocol. Connections are counted; messages, bytes and commands go through
// token buckets holding one second of the rate. The publish path is `admit(ticket, bytes)`: one
// branch when the application has no rate limit, a few arithmetic steps otherwise, no allocation.

import type { Application, RegistryReader } from '../../functions/ports/registry.ts';
import { MooringError } from '../../events/errors.ts';
import { resolveLimits, UNLIMITED, type Limits } from './limits.ts';

export const QUOTA_KINDS = [
  'application_connections', 'device_connections', 'application_messages', 'application_bytes',
  'device_messages', 'device_bytes', 'application_commands',
] as const;
export type QuotaKind = (typeof QUOTA_KINDS)[number];
export const QUOTA_PROTOCOLS = ['mqtt', 'http', 'api', 'mqtt_integration'] as const;
export type QuotaProtocol = (typeof QUOTA_PROTOCOLS)[number];

const K = Object.fromEntries(QUOTA_KINDS.map((k, i) => [k, i])) as Record<QuotaKind, number>;
const P = Object.fromEntries(QUOTA_PROTOCOLS.map((p, i) => [p, i])) as Record<QuotaProtocol, number>;

/** How long a refused connection is told to wait before trying again (HTTP Retry-After). */
const CONNECTION_RETRY_MS = 1000;

/** Tokens and when they were last counted; the rate comes from the application's limits. */
interface Bucket { tokens: number; last: number }

/** Counts the bucket up to `now` (capacity: one second of `perSecond`, at least one message). */
function refill(b: Bucket, perSecond: number, now: number): number {
  const cap = perSecond < 1 ? 1 : perSecond;
  const t = b.tokens + ((now - b.last) * perSecond) / 1000;
  b.tokens = t > cap ? cap : t;
  b.last = now;
  return cap;
}

/** 0 when `charge` may be taken now, else the milliseconds until it may. A charge above capacity waits for a full bucket. */
function wait(b: Bucket, perSecond: number, charge: number, now: number): number {
  const cap = refill(b, perSecond, now);
  const need = charge < cap ? charge : cap;
  return b.tokens >= need ? 0 : ((need - b.tokens) * 1000) / perSecond;
}

export class DeviceQuota {
  connections = 0;
  readonly messages: Bucket;
  readonly bytes: Bucket;
  constructor(now: number) {
    this.messages = { tokens: Infinity, last: now };
    this.bytes = { tokens: Infinity, last: now };
  }
}

export class AppQuota {
  limits: Limits = UNLIMITED;
  /** resourceVersion of the document the limits were read from. */
  version: string | undefined = undefined;
  /** Any message or byte rate set: the publish path checks buckets only then. */
  ratesLimited = false;
  connections = 0;
  readonly messages: Bucket;
  readonly bytes: Bucket;
  readonly commands: Bucket;
  readonly devices = new Map<string, DeviceQuota>();
  constructor(readonly name: string, now: number) {
    this.messages = { tokens: Infinity, last: now };
    this.bytes = { tokens: Infinity, last: now };
    this.commands = { tokens: Infinity, last: now };
  }

  setLimits(limits: Limits, version: string | undefined): void {
    this.limits = limits;
    this.version = version;
    this.ratesLimited = limits.appMessagesPerSecond > 0 || limits.appBytesPerSecond > 0
      || limits.deviceMessagesPerSecond > 0 || limits.deviceBytesPerSecond > 0;
  }
}

/** One admitted connection (an MQTT session, an HTTP request in progress): release it once. */
export class QuotaTicket {
  private released = false;
  constructor(readonly app: AppQuota, readonly device: DeviceQuota) {}
  /** The connection ended; the sweep forgets the entries once they are idle. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.app.connections--;
    this.device.connections--;
  }
}

export interface QuotaLimiterOptions {
  /** Looks applications up for the command rate and after registry changes. */
  registry: RegistryReader;
  /** Process-wide defaults (MOORING_QUOTA_*); each application's `spec.limits` overrides fields. */
  defaults?: Limits;
  /** Milliseconds, monotonic. Default performance.now. */
  now?: () => number;
  /** Idle entries are forgotten this often (ms). Default 30 000. */
  sweepMs?: number;
}

export class QuotaLimiter {
  readonly defaults: Limits;
  readonly now: () => number;
  private readonly apps = new Map<string, AppQuota>();
  /** Refusals by kind × protocol (the `mooring_quota_refusals_total` series). */
  private readonly counts = new Array<number>(QUOTA_KINDS.length * QUOTA_PROTOCOLS.length).fill(0);
  /** The kind of the last refusal `admit` returned (for the caller's message). */
  lastKind: QuotaKind = 'device_messages';
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;

  constructor(private readonly opts: QuotaLimiterOptions) {
    this.defaults = opts.defaults ?? UNLIMITED;
    this.now = opts.now ?? (() => performance.now());
    this.timer = setInterval(() => this.sweep(), opts.sweepMs ?? 30_000).unref();
    this.unsubscribe = opts.registry.onChange(() => this.refresh());
  }

  /** The application's quota state, its limits read from `application` when that document is newer. */
  app(application: Application): AppQuota {
    const name = application.metadata.name;
    let a = this.apps.get(name);
    if (a === undefined) this.apps.set(name, (a = new AppQuota(name, this.now())));
    const version = application.metadata.resourceVersion;
    if (a.version !== version || version === undefined) a.setLimits(resolveLimits(application.spec.limits, this.defaults), version);
    return a;
  }

  /**
   * Admits a connection of `device` (an MQTT session, an HTTP request in progress); `replacing`: it
   * takes over the device's connection here, so the counts only pass through +1 for a moment.
   * Throws MOORING_QUOTA_EXCEEDED when the application or the device is at its connection limit.
   */
  acquire(application: Application, device: string, protocol: QuotaProtocol, replacing = false): QuotaTicket {
    const a = this.app(application);
    let d = a.devices.get(device);
    if (d === undefined) a.devices.set(device, (d = new DeviceQuota(this.now())));
    const L = a.limits;
    if (!replacing) {
      if (L.appConnections > 0 && a.connections >= L.appConnections) {
        throw this.refuse('application_connections', protocol, CONNECTION_RETRY_MS, `application ${a.name} is at its limit of ${L.appConnections} connections`);
      }
      if (L.deviceConnections > 0 && d.connections >= L.deviceConnections) {
        throw this.refuse('device_connections', protocol, CONNECTION_RETRY_MS, `device ${device} is at its limit of ${L.deviceConnections} connections`);
      }
    }
    a.connections++;
    d.connections++;
    return new QuotaTicket(a, d);
  }

  /**
   * A publish of `bytes` by the ticket's device: 0 when admitted (the tokens are taken), else the
   * milliseconds until it would be (nothing taken; counted as a refusal, `lastKind` says which).
   */
  admit(t: QuotaTicket, bytes: number, protocol: QuotaProtocol): number {
    const a = t.app;
    if (!a.ratesLimited) return 0;
    const L = a.limits;
    const d = t.device;
    const now = this.now();
    let ms = 0;
    let kind = -1;
    if (L.deviceMessagesPerSecond > 0 && (ms = wait(d.messages, L.deviceMessagesPerSecond, 1, now)) > 0) kind = K.device_messages;
    else if (L.deviceBytesPerSecond > 0 && (ms = wait(d.bytes, L.deviceBytesPerSecond, bytes, now)) > 0) kind = K.device_bytes;
    else if (L.appMessagesPerSecond > 0 && (ms = wait(a.messages, L.appMessagesPerSecond, 1, now)) > 0) kind = K.application_messages;
    else if (L.appBytesPerSecond > 0 && (ms = wait(a.bytes, L.appBytesPerSecond, bytes, now)) > 0) kind = K.application_bytes;
    if (kind >= 0) {
      this.counts[kind * QUOTA_PROTOCOLS.length + P[protocol]]!++;
      this.lastKind = QUOTA_KINDS[kind]!;
      return ms;
    }
    if (L.deviceMessagesPerSecond > 0) d.messages.tokens -= 1;
    if (L.deviceBytesPerSecond > 0) d.bytes.tokens -= bytes;
    if (L.appMessagesPerSecond > 0) a.messages.tokens -= 1;
    if (L.appBytesPerSecond > 0) a.bytes.tokens -= bytes;
    return 0;
  }

  /** The refusal error of the last `admit` that returned `ms` (MOORING_QUOTA_EXCEEDED with Retry-After). */
  admitError(ms: number, who: string): MooringError {
    return new MooringError('MOORING_QUOTA_EXCEEDED', `${who}: ${this.lastKind.replace('_', ' ')} rate limit exceeded`, { retryAfterMs: ms });
  }

  /** A command to `application` (the command API, the MQTT integration); throws MOORING_QUOTA_EXCEEDED over its rate. */
  async admitCommand(application: string, protocol: QuotaProtocol): Promise<void> {
    let a = this.apps.get(application);
    if (a === undefined) {
      const doc = await this.opts.registry.getApplication(application);
      if (doc === undefined) return; // the command service answers for a missing application
      a = this.app(doc);
    }
    const rate = a.limits.appCommandsPerSecond;
    if (rate <= 0) return;
    const ms = wait(a.commands, rate, 1, this.now());
    if (ms > 0) throw this.refuse('application_commands', protocol, ms, `application ${application} exceeds its limit of ${rate} commands per second`);
    a.commands.tokens -= 1;
  }

  /** `send` behind the application's command rate (the command API's and the MQTT integration's entry point). */
  commandGate<R extends { application: string }, T>(send: (request: R) => Promise<T>, protocol: QuotaProtocol): (request: R) => Promise<T> {
    return async (request) => {
      await this.admitCommand(request.application, protocol);
      return send(request);
    };
  }

  private refuse(kind: QuotaKind, protocol: QuotaProtocol, retryAfterMs: number, message: string): MooringError {
    this.counts[K[kind] * QUOTA_PROTOCOLS.length + P[protocol]]!++;
    return new MooringError('MOORING_QUOTA_EXCEEDED', message, { retryAfterMs });
  }

  /** Refusals so far by kind and protocol (metrics read it at scrape time). */
  refusals(): Array<{ kind: QuotaKind; protocol: QuotaProtocol; count: number }> {
    const out: Array<{ kind: QuotaKind; protocol: QuotaProtocol; count: number }> = [];
    QUOTA_KINDS.forEach((kind, k) => QUOTA_PROTOCOLS.forEach((protocol, p) => {
      out.push({ kind, protocol, count: this.counts[k * QUOTA_PROTOCOLS.length + p]! });
    }));
    return out;
  }

  /** Total refusals of one kind (tests). */
  refused(kind: QuotaKind): number {
    let n = 0;
    for (let p = 0; p < QUOTA_PROTOCOLS.length; p++) n += this.counts[K[kind] * QUOTA_PROTOCOLS.length + p]!;
    return n;
  }

  /** Forgets devices and applications with no connection whose buckets are full again. */
  sweep(): void {
    const now = this.now();
    for (const [name, a] of this.apps) {
      const L = a.limits;
      for (const [device, d] of a.devices) {
        if (d.connections > 0) continue;
        if (L.deviceMessagesPerSecond > 0 && refill(d.messages, L.deviceMessagesPerSecond, now) > d.messages.tokens) continue;
        if (L.deviceBytesPerSecond > 0 && refill(d.bytes, L.deviceBytesPerSecond, now) > d.bytes.tokens) continue;
        a.devices.delete(device);
      }
      if (a.connections > 0 || a.devices.size > 0) continue;
      if (L.appMessagesPerSecond > 0 && refill(a.messages, L.appMessagesPerSecond, now) > a.messages.tokens) continue;
      if (L.appBytesPerSecond > 0 && refill(a.bytes, L.appBytesPerSecond, now) > a.bytes.tokens) continue;
      if (L.appCommandsPerSecond > 0 && refill(a.commands, L.appCommandsPerSecond, now) > a.commands.tokens) continue;
      this.apps.delete(name);
    }
  }

  /** Entries kept now (tests: the sweep bounds them). */
  get size(): { applications: number; devices: number } {
    let devices = 0;
    for (const a of this.apps.values()) devices += a.devices.size;
    return { applications: this.apps.size, devices };
  }

  /** After a registry change: every known application's limits read again (live sessions follow). */
  private refresh(): void {
    if (this.refreshing !== undefined) { this.refreshAgain = true; return; }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        for (const a of [...this.apps.values()]) {
          try {
            const doc = await this.opts.registry.getApplication(a.name);
            if (doc !== undefined) this.app(doc);
            else a.setLimits(this.defaults, undefined);
          } catch { /* the store is away for a moment: the limits in force stay */ }
        }
      } while (this.refreshAgain);
    })().finally(() => { this.refreshing = undefined; });
  }

  /** Resolves when no refresh runs (tests). */
  async refreshed(): Promise<void> {
    while (this.refreshing !== undefined) await this.refreshing;
  }

  close(): void {
    clearInterval(this.timer);
    this.unsubscribe();
  }
}
