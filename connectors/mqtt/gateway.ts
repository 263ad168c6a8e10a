// The MQTT gateway: the device-facing MQTT endpoint of Mooring (not a broker). It owns the
// sessions, the index device → session used to deliver commands and take connections over, one
// timer for every keep-alive and CONNECT deadline, and the listeners. `handle(stream)` takes any
// Duplex: TCP, TLS and WebSocket listeners are thin wrappers around it.

import type { ReplyOffer } from '../../functions/command-dispatch/replies.ts';
import type { Duplex } from 'node:stream';
import type { UserProperties } from 'mqtt-packet';
import type { Device } from '../../functions/ports/registry.ts';
import { gatewaysOf, isDisabled } from '../../functions/authz/device-view.ts';
import { commandTopic, topicFor } from './commands.ts';
import { Presence } from './presence.ts';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { RoutedCommands } from './routed.ts';
import type { Subscriber } from '../../functions/ports/bus.ts';
import type { SessionContext, Will } from './context.ts';
import { deviceKey, type ConnectionInfo, type GatewayStats } from './core.ts';
import type { GatewayCore } from './context.ts';
import { End } from './ending.ts';
import { resolveOptions, type MqttGatewayOptions, type ResolvedOptions } from './options.ts';
import { Session } from './session.ts';
import { sweepSessions, startListeners, type ListenerAddresses } from './host.ts';

export interface CommandProperties {
  /** v5 Content Type of the delivered PUBLISH. */
  contentType?: string;
  /** v5 User Properties of the delivered PUBLISH. */
  userProperties?: UserProperties;
  /**
   * The device's gateways (`gatewaySelector.matchNames`) when the caller has the device document;
   * otherwise the gateway uses the ones it has seen, or looks the device up (late deliveries are
   * then not counted in the return value).
   */
  gateways?: readonly string[];
}

export type GatewayAddresses = ListenerAddresses;

export interface MqttGateway {
  /** Serves one MQTT connection over any Duplex stream. */
  handle(stream: Duplex, info?: ConnectionInfo): void;
  /** Starts the configured listeners (TCP, TLS when a certificate is configured, WebSocket). */
  listen(): Promise<GatewayAddresses>;
  /** Stops listening, ends every session (v5 DISCONNECT 0x8B), waits for their last events. */
  close(): Promise<void>;
  /**
   * Delivers a command to every connection subscribed to it: the device's own, gateways with a
   * `command/inbox/<device>/#` filter, gateways of the device with `command/inbox/#`. Returns how
   * many PUBLISH packets were sent now.
   */
  deliverCommand(application: string, device: string, command: string, payload: Uint8Array, properties?: CommandProperties): number;
  /**
   * Delivers a routed io.mooring.command.v1 (command-dispatch named this instance as the holder
   * of its target) to that one connection; kept in the offline queue when the connection cannot
   * take it and the command has a TTL. Returns how many PUBLISH packets were sent (0 or 1).
   */
  deliverRouted(event: CloudEvent): Promise<number>;
  /** deliverRouted as the subscriber of this instance's command Trigger. */
  readonly commandSubscriber: Subscriber;
  /** This instance's id in the connection directory (the `mooringholder` its Trigger selects). */
  readonly instanceId: string;
  readonly stats: Readonly<GatewayStats>;
}

interface Closable { close(): Promise<void> }

const MAX_REMEMBERED_DEVICES = 10_000;

class Gateway implements GatewayCore, MqttGateway {
  readonly opts: ResolvedOptions;
  tick = 0;
  epoch = 0;
  readonly stats: GatewayStats = {
    connections: 0, connectsAccepted: 0, connectsRefused: 0, publishesAccepted: 0, publishesRefused: 0,
    publishesDropped: 0, commandsDelivered: 0, protocolErrors: 0, takeovers: 0, willsPublished: 0,
  };
  private readonly all = new Set<Session>();
  private readonly index = new Map<string, Session>();
  private readonly deviceSubscribers = new Map<string, Set<Session>>();
  /** Gateways of devices seen (authentication, publish-as): command routing without a lookup. */
  private readonly gatewaysSeen = new Map<string, readonly string[]>();
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribeRegistry: () => void;
  private listeners: Closable[] = [];
  private closed = false;
  private readonly presence: Presence | undefined;
  private readonly routed: RoutedCommands;

  constructor(options: MqttGatewayOptions) {
    this.opts = resolveOptions(options);
    if (this.opts.directory !== undefined) this.presence = new Presence(this, this.opts.directory, this.opts.instanceId);
    this.routed = new RoutedCommands(this.opts, this.stats, (application, device) => this.index.get(deviceKey(application, device)));
    this.unsubscribeRegistry = this.opts.registry.onChange(() => {
      this.epoch++;
      this.gatewaysSeen.clear();
      this.revoke();
    });
  }

  // ---- revocation ---------------------------------------------------------------------------

  private revoking: Promise<void> | undefined;
  private revokeAgain = false;

  /**
   * After a registry change, ends the sessions of devices (and applications) that were disabled
   * or deleted: they would be refused at CONNECT now, so they do not stay connected either
   * (v5 DISCONNECT 0x98 Administrative action). Passes run one after another; a change during a
   * pass runs another. A failed lookup leaves the session alone (the store may be briefly away).
   */
  private revoke(): void {
    if (this.revoking !== undefined) { this.revokeAgain = true; return; }
    this.revoking = (async () => {
      do {
        this.revokeAgain = false;
        await this.revokeOnce();
      } while (this.revokeAgain && !this.closed);
    })().finally(() => { this.revoking = undefined; });
  }

  /** Resolves when no revocation pass is running (tests). */
  async revoked(): Promise<void> {
    while (this.revoking !== undefined) await this.revoking;
  }

  private async revokeOnce(): Promise<void> {
    const byApp = new Map<string, Session[]>();
    for (const s of this.index.values()) {
      const list = byApp.get(s.who!.application);
      if (list === undefined) byApp.set(s.who!.application, [s]);
      else list.push(s);
    }
    const registry = this.opts.registry;
    let ended = 0;
    for (const [application, sessions] of byApp) {
      if (this.closed) return;
      try {
        const app = await registry.getApplication(application);
        for (const s of sessions) {
          let allowed = app !== undefined && !isDisabled(app);
          if (allowed) {
            const device = await registry.getDevice(application, s.who!.device);
            allowed = device !== undefined && !isDisabled(device);
          }
          if (!allowed && this.index.get(deviceKey(application, s.who!.device)) === s) {
            ended++;
            void s.end(End.revoked, 'device or application disabled or deleted');
          }
        }
      } catch (err) {
        this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err), application }, 'registry lookup failed; sessions kept');
      }
    }
    if (ended > 0) this.opts.logger.info({ ended }, 'sessions of disabled or deleted devices ended');
  }

  handle(stream: Duplex, info?: ConnectionInfo): void {
    if (this.closed) { stream.destroy(); return; }
    const s = new Session(this, stream, info);
    this.all.add(s);
    this.stats.connections++;
    this.timer ??= setInterval(sweep, this.opts.timerResolutionMs, this).unref();
  }

  // ---- GatewayCore --------------------------------------------------------------------------

  sessionOf(application: string, device: string): Session | undefined {
    return this.index.get(deviceKey(application, device));
  }

  register(s: Session): void {
    this.index.set(deviceKey(s.who!.application, s.who!.device), s);
  }

  unregister(s: Session): void {
    s.quota?.release();
    if (!this.all.delete(s)) return;
    this.stats.connections--;
    if (s.who === undefined) return;
    const key = deviceKey(s.who.application, s.who.device);
    if (this.index.get(key) === s) this.index.delete(key);
    if (s.subs !== undefined) {
      for (const sub of s.subs.values()) {
        if (sub.kind === 'device') this.removeDeviceSubscriber(s.who.application, sub.device, s);
      }
    }
  }

  rememberDevice(device: Device): void {
    const key = deviceKey(device.metadata.application, device.metadata.name);
    if (!this.gatewaysSeen.has(key) && this.gatewaysSeen.size >= MAX_REMEMBERED_DEVICES) {
      const oldest = this.gatewaysSeen.keys().next();
      if (!oldest.done) this.gatewaysSeen.delete(oldest.value);
    }
    this.gatewaysSeen.set(key, gatewaysOf(device));
  }

  addDeviceSubscriber(application: string, device: string, s: Session): void {
    const key = deviceKey(application, device);
    let set = this.deviceSubscribers.get(key);
    if (set === undefined) this.deviceSubscribers.set(key, (set = new Set()));
    set.add(s);
  }

  removeDeviceSubscriber(application: string, device: string, s: Session): void {
    const key = deviceKey(application, device);
    const set = this.deviceSubscribers.get(key);
    if (set === undefined) return;
    set.delete(s);
    if (set.size === 0) this.deviceSubscribers.delete(key);
  }

  atCapacity(): boolean {
    return this.stats.connections > this.opts.maxConnections;
  }

  get instanceId(): string { return this.opts.instanceId; }

  claim(s: SessionContext, will: Will | undefined): Promise<boolean> {
    return this.presence === undefined ? Promise.resolve(true) : this.presence.claim(s, will);
  }

  ended(s: SessionContext, finished: Promise<void>): void {
    this.presence?.ended(s, finished);
  }

  /** Renews this instance's lease and reaps dead instances now (tests; a timer does it every ttl/3). */
  heartbeat(): Promise<void> {
    return this.presence?.heartbeat() ?? Promise.resolve();
  }

  subscribed(s: SessionContext): Promise<void> {
    return this.routed.drain(s);
  }

  forwardReply(offer: ReplyOffer): Promise<void> | undefined {
    return this.routed.forwardReply(offer);
  }

  // ---- commands -----------------------------------------------------------------------------

  deliverCommand(application: string, device: string, command: string, payload: Uint8Array, properties: CommandProperties = {}): number {
    const { contentType, userProperties } = properties;
    const key = deviceKey(application, device);
    let delivered = 0;
    const own = this.index.get(key);
    if (own !== undefined) {
      const t = topicFor(own.subs, device, device, command);
      if (t !== undefined && own.deliver(t, payload, contentType, userProperties)) delivered++;
    }
    const topic = commandTopic(device, command);
    const explicit = this.deviceSubscribers.get(key);
    if (explicit !== undefined) {
      for (const s of explicit) if (s !== own && s.deliver(topic, payload, contentType, userProperties)) delivered++;
    }
    const toGateways = (gateways: readonly string[]): number => {
      let n = 0;
      for (const g of gateways) {
        if (g === device) continue;
        const s = this.index.get(deviceKey(application, g));
        if (s === undefined || explicit?.has(s) === true || !hasAllFilter(s)) continue;
        if (s.deliver(topic, payload, contentType, userProperties)) n++;
      }
      return n;
    };
    const gateways = properties.gateways ?? this.gatewaysSeen.get(key);
    if (gateways !== undefined) {
      delivered += toGateways(gateways);
    } else if (this.anyAllFilter(application)) {
      this.opts.registry.getDevice(application, device).then((d) => {
        if (d === undefined) return;
        this.rememberDevice(d);
        this.stats.commandsDelivered += toGateways(gatewaysOf(d));
      }, (err: unknown) => this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err), application, device }, 'command: gateway lookup failed'));
    }
    this.stats.commandsDelivered += delivered;
    return delivered;
  }

  readonly commandSubscriber: Subscriber = async (event) => {
    await this.routed.deliver(event);
    return undefined;
  };

  deliverRouted(event: CloudEvent): Promise<number> {
    return this.routed.deliver(event);
  }

  /** Whether any connection of the application subscribed with `command/inbox/#` (worth a lookup). */
  private anyAllFilter(application: string): boolean {
    for (const s of this.index.values()) if (s.who!.application === application && hasAllFilter(s)) return true;
    return false;
  }

  // ---- timers -------------------------------------------------------------------------------

  /** One pass over all sessions per tick: CONNECT deadline, keep-alive (1.5 × Keep Alive). */
  sweepNow(): void {
    sweepSessions(this.all, ++this.tick, this.opts);
  }

  async listen(): Promise<GatewayAddresses> {
    const handle = (stream: Duplex, info: ConnectionInfo): void => this.handle(stream, info);
    const { addresses, running } = await startListeners(handle, this.opts.listeners, { port: 1883, tlsPort: 8883, wsPort: 8083 }, this.opts);
    this.listeners.push(...running);
    return addresses;
  }

  async close(): Promise<void> {
    this.closed = true;
    const listeners = this.listeners;
    this.listeners = [];
    const stopping = listeners.map((l) => l.close());
    const finishing: Promise<void>[] = [];
    for (const s of [...this.all]) {
      finishing.push(s.end(End.serverShutdown, 'gateway shutting down'));
    }
    await Promise.all(finishing);
    await Promise.all(stopping);
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribeRegistry();
    this.presence?.close();
  }
}

function hasAllFilter(s: Session): boolean {
  if (s.subs === undefined) return false;
  for (const sub of s.subs.values()) if (sub.kind === 'all') return true;
  return false;
}

function sweep(g: Gateway): void {
  g.sweepNow();
}

export function createMqttGateway(options: MqttGatewayOptions): MqttGateway & { sweepNow(): void; revoked(): Promise<void>; heartbeat(): Promise<void> } {
  return new Gateway(options);
}
