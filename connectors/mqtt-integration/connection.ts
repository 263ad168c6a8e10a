// One MQTT integration connection's own state beside its session (connectors/mqtt/session.ts):
// the user, the client id, its subscriptions, and the QoS 1 events sent and not yet acknowledged
// (packet id → delivery; the window is the client's Receive Maximum).

import type { Session } from '../mqtt/session.ts';
import type { Delivery } from '../stream/group.ts';
import type { Connected } from './connect.ts';
import type { Outbound, Subscription } from './subscription.ts';
import type { IntegrationUser } from './types.ts';

export class Connection implements Outbound {
  readonly subs = new Map<string, Subscription>();
  private readonly held = new Map<number, Delivery>();
  private nextId = 1;
  readonly user: IntegrationUser | undefined;
  readonly clientId: string;
  private readonly window: number;
  private closed = false;

  constructor(readonly session: Session, c: Connected, readonly maxWriteBuffer: number, readonly clientMaxPacket: number) {
    this.user = c.user;
    this.clientId = c.clientId;
    this.window = c.window;
    session.stream.on('drain', () => this.pump());
  }

  get version(): number { return this.session.version; }
  get backlog(): number { return this.session.backlog; }

  room(): number { return this.window - this.held.size; }

  hold(delivery: Delivery): number {
    while (this.held.has(this.nextId)) this.nextId = this.nextId >= 65535 ? 1 : this.nextId + 1;
    const id = this.nextId;
    this.nextId = id >= 65535 ? 1 : id + 1;
    this.held.set(id, delivery);
    return id;
  }

  release(packetId: number): void { this.held.delete(packetId); }

  send(buf: Buffer): void { this.session.send(buf); }

  /** PUBACK: the event is done for its group; the window has room again for every subscription. */
  puback(packetId: number | undefined): void {
    if (packetId === undefined) return;
    const d = this.held.get(packetId);
    if (d === undefined) return; // unknown id: ignored (3.1.1), nothing to say in v5 either
    this.held.delete(packetId);
    d.ack();
    this.pump();
  }

  /** Lets every subscription's group hand out what waits for room. */
  pump(): void {
    if (this.closed) return;
    for (const sub of this.subs.values()) sub.handle?.group.pump();
  }

  /** The connection ended: it leaves its groups; what it held unacknowledged goes to the next member. */
  close(): void {
    this.closed = true;
    for (const sub of this.subs.values()) sub.leave();
    this.subs.clear();
    this.held.clear();
  }
}
