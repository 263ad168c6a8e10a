// What handlers and the gateway see of a session, and what a session sees of its gateway: two
// interfaces, no classes, so handlers/ never imports session.ts (which imports the dispatcher) and
// the gateway's bookkeeping does not import the session either. Handlers change a session only
// through these methods; the fields they read are read-only here.

import type { IConnectPacket, Packet } from 'mqtt-packet';
import type { ReplyOffer } from '../../functions/command-dispatch/replies.ts';
import type { Device, MqttDialect } from '../../functions/ports/registry.ts';
import type { QuotaTicket } from '../quotas/limiter.ts';
import type { AckQueue } from './ack-queue.ts';
import type { Decision } from './authz-cache.ts';
import type { CommandSubscription } from './commands.ts';
import type { GatewayStats, TlsInfo } from './core.ts';
import type { EndReason } from './ending.ts';
import type { SessionIdentity } from './events.ts';
import type { ResolvedOptions } from './options.ts';
import type { SessionState } from './state.ts';

export type Will = NonNullable<IConnectPacket['will']>;

/** What CONNECT decided, handed to the session in one call once it is accepted. */
export interface Establishment {
  readonly who: SessionIdentity;
  readonly dialect: MqttDialect;
  /** Keep Alive in seconds (0 = none). */
  readonly keepalive: number;
  readonly will: Will | undefined;
  /** The client's v5 Maximum Packet Size (0 = no limit). */
  readonly clientMaxPacket: number;
}

export interface SessionContext {
  readonly gw: GatewayCore;
  readonly state: SessionState;
  readonly v5: boolean;
  /** Known once CONNECT is accepted. */
  readonly who: SessionIdentity | undefined;
  readonly dialect: MqttDialect | undefined;
  readonly remoteAddress: string | undefined;
  /** TLS facts of the handshake; only until CONNECT is accepted. */
  readonly tls: TlsInfo | undefined;
  /** The in-order PUBACK / PUBREC queue. */
  readonly acks: AckQueue;
  /** Command subscriptions by topic filter. */
  readonly subs: ReadonlyMap<string, CommandSubscription> | undefined;
  /** The connection directory's token of this connection's claim (presence.ts), once claimed. */
  presenceToken: string | undefined;
  /** This connection's place in its application's and device's quotas (released when it ends). */
  quota: QuotaTicket | undefined;
  /** v5: publishes refused over quota in the second that began at `quotaSecond` (DISCONNECT 0x96 past a bound). */
  quotaRefusals: number;
  quotaSecond: number;

  send(buf: Buffer): void;
  sendPacket(packet: Packet): void;
  /** The one way a session ends (see ending.ts). Resolves once its Will and disconnected event went to the bus. */
  end(reason: EndReason, detail?: string): Promise<void>;

  /** CONNECT arrived: the protocol level decides the codec from now on. */
  beginConnect(version: 4 | 5): void;
  /** CONNECT accepted: identity, keep-alive, Will, limits; the session becomes CONNECTED and is indexed. */
  establish(e: Establishment): void;
  /** Publishes io.drogue.connection.v1 {connected: true}; a disconnected event will follow. */
  announceConnected(): void;

  /** v5 client → server topic aliases. */
  setTopicAlias(alias: number, topic: string): void;
  topicAlias(alias: number): string | undefined;
  addSubscription(filter: string, sub: CommandSubscription): void;
  removeSubscription(filter: string): CommandSubscription | undefined;

  /** A cached publish-as decision for `device`, if fresh. */
  cachedDecision(device: string): Decision | undefined;
  /** Asks authz whether this device may act for `device`; caches the answer either way. */
  decide(device: string): Promise<Decision>;

  /** Counts a bus publish; input stops when the per-connection limit is reached. */
  busStarted(): void;
  busSettled(): void;
  logBusError(err: unknown, what: string): void;
}

/** What a session needs from the gateway that owns it. */
export interface GatewayCore {
  readonly opts: ResolvedOptions;
  /** The sessions' packet dispatcher; default the device gateway's (handlers/index.ts). */
  readonly dispatch?: (s: SessionContext, packet: Packet) => void | Promise<void>;
  /** Advances every `timerResolutionMs`; sessions store ticks, not timestamps. */
  readonly tick: number;
  /** Bumped on every registry change: cached decisions from an older epoch are stale. */
  readonly epoch: number;
  readonly stats: GatewayStats;
  /** The connected session of a device (`app`, `device`). */
  sessionOf(application: string, device: string): SessionContext | undefined;
  /** Makes `session` the device's connection; the caller has taken the old one over. */
  register(session: SessionContext): void;
  /** Forgets a closed session (connections, index, subscriptions). */
  unregister(session: SessionContext): void;
  /** Keeps the device document's gateways for command routing. */
  rememberDevice(device: Device): void;
  /** Command subscriptions by device filter (`command/inbox/<device>/#`) held by other sessions. */
  addDeviceSubscriber(application: string, device: string, session: SessionContext): void;
  removeDeviceSubscriber(application: string, device: string, session: SessionContext): void;
  /** True when a new connection would exceed maxConnections. */
  atCapacity(): boolean;
  /** Claims the device in the connection directory (cross-instance takeover); false when the session closed meanwhile. */
  claim(session: SessionContext, will: Will | undefined): Promise<boolean>;
  /** The session ended; `finished` resolves once its last events went to the bus. */
  ended(session: SessionContext, finished: Promise<void>): void;
  /** The session subscribed to commands: hands it what the offline queue kept for it. */
  subscribed(session: SessionContext): Promise<void>;
  /** A reply for a command delivered here that another instance waits for: sent there (RoutedCommands.forwardReply). */
  forwardReply(offer: ReplyOffer): Promise<void> | undefined;
}
