// One consumer group of an application's stream (`{app}.{group}`): the subscriber of its Trigger
// on the bus, and the members (MQTT subscriptions, WebSockets) it splits the events between.
// Each event goes to one member (round robin over those with room in their window); an event a
// member had not acknowledged when it left goes back to the head of the group's queue and to the
// next member, or to the same client when it comes back (at least once).
//
// How the bus learns an event is done depends on its durability:
// - `settle: 'ack'` (Kafka): the Trigger's delivery resolves only once a member acknowledged the
//   event (QoS 1 PUBACK; a QoS 0 write), so the offset is committed after the PUBACK. The bus
//   hands the group at most its consumer's lanes at a time: a slow group stalls only its own
//   consumer, and the queue here is bounded by that.
// - `settle: 'buffer'` (the in-memory bus, not durable anyway): the delivery resolves when the
//   event is queued here. The queue holds at most `maxBuffer` events; when it is full the delivery
//   waits for room while members acknowledge (the consumer sets the pace), but a group with no
//   member or whose members acknowledge nothing for STALL_MS drops its oldest events instead
//   (counted in `stats.dropped`, logged): a stuck consumer never holds the shared bus's capacity,
//   which would slow every device.

import type { CloudEvent } from '../../events/cloudevent.ts';
import { deliveryFailed } from '../../events/errors.ts';
import type { Logger } from '../../functions/ports/runtime.ts';

/** `buffer` mode: a full group whose members acknowledge nothing for this long drops its oldest events. */
const STALL_MS = 2000;

/** One event handed to a member; `ack()` once the consumer has it (idempotent). */
export interface Delivery {
  readonly event: CloudEvent;
  /** True when the event was handed out before and not acknowledged (MQTT DUP is not set: a new packet id). */
  readonly redelivered: boolean;
  ack(): void;
}

/** A consumer of a group: an MQTT subscription or a WebSocket. */
export interface StreamMember {
  /** Events it can take now (its window minus what it holds unacknowledged). */
  room(): number;
  send(delivery: Delivery): void;
}

export interface StreamGroupStats {
  delivered: number;
  acked: number;
  redelivered: number;
  dropped: number;
}

export interface StreamGroupOptions {
  settle: 'ack' | 'buffer';
  /** Events queued for no member at most (`buffer` mode; default 1000). */
  maxBuffer?: number;
  logger: Logger;
}

interface Item {
  readonly event: CloudEvent;
  /** Resolves the bus's delivery (`ack` mode). */
  readonly settle: ((err?: Error) => void) | undefined;
  sent: number;
}

interface Slot {
  readonly member: StreamMember;
  /** Handed out, not acknowledged, in send order. */
  readonly held: Set<Item>;
}

export class StreamGroup {
  readonly stats: StreamGroupStats = { delivered: 0, acked: 0, redelivered: 0, dropped: 0 };
  private waiting: Item[] = [];
  private readonly slots: Slot[] = [];
  private next = 0;
  private closed = false;
  private readonly maxBuffer: number;
  /** `buffer` mode: offers waiting for room in a full queue (at most one per bus lane). */
  private roomWaiters: Array<() => void> = [];
  private lastAck = Date.now();
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(readonly id: string, private readonly options: StreamGroupOptions) {
    this.maxBuffer = options.maxBuffer ?? 1000;
  }

  get members(): number { return this.slots.length; }

  /** Events queued here for no member yet. */
  get queued(): number { return this.waiting.length; }

  /** The Trigger's subscriber: resolves when the bus may count the event as done. */
  readonly offer = (event: CloudEvent): Promise<undefined> => {
    // A closing group's deliveries fail as retriable: the stopping Trigger abandons them, and a
    // durable bus keeps them for the group's next consumer.
    if (this.closed) return Promise.reject(deliveryFailed(`stream group ${this.id} is closing`, 503));
    if (this.options.settle === 'buffer') {
      // Full while members acknowledge: wait for room (the consumer sets the pace). Full with no
      // member, or none acknowledging for STALL_MS: the oldest waiting event makes room.
      if (this.roomWaiters.length > 0 || this.waiting.length >= this.maxBuffer) {
        if (this.slots.length > 0 && Date.now() - this.lastAck < STALL_MS) {
          return new Promise<undefined>((resolve) => {
            this.roomWaiters.push(() => { this.enqueue(event); resolve(undefined); });
            this.stallTimer ??= setTimeout(this.checkStall, STALL_MS);
          });
        }
        this.admit(true); // the earlier waiting offers first, in order
        this.dropOldest();
      }
      this.enqueue(event);
      return Promise.resolve(undefined);
    }
    return new Promise<undefined>((resolve, reject) => {
      this.waiting.push({ event, settle: (err) => (err ? reject(err) : resolve(undefined)), sent: 0 });
      this.pump();
    });
  };

  private enqueue(event: CloudEvent): void {
    this.waiting.push({ event, settle: undefined, sent: 0 });
    this.pump();
  }

  private dropOldest(): void {
    if (this.waiting.length < this.maxBuffer) return;
    this.waiting.shift();
    if (this.stats.dropped++ % 1000 === 0) {
      this.options.logger.warn({ group: this.id, dropped: this.stats.dropped, maxBuffer: this.maxBuffer }, 'stream group full and not draining: oldest event dropped');
    }
  }

  /** Offers waiting for room take it, in order; with `force`, by dropping the oldest. */
  private admit(force = false): void {
    while (this.roomWaiters.length > 0 && (force || this.waiting.length < this.maxBuffer)) {
      if (force) this.dropOldest();
      this.roomWaiters.shift()!();
    }
  }

  private readonly checkStall = (): void => {
    this.stallTimer = undefined;
    if (this.roomWaiters.length === 0) return;
    if (this.slots.length === 0 || Date.now() - this.lastAck >= STALL_MS) this.admit(true);
    else this.stallTimer = setTimeout(this.checkStall, STALL_MS);
  };

  /** Adds a member; it gets events at once when it has room. */
  join(member: StreamMember): void {
    this.slots.push({ member, held: new Set() });
    this.lastAck = Date.now(); // a new member gets its chance before a full queue drops anything
    this.pump();
  }

  /** Removes a member; what it held unacknowledged goes back to the head of the queue, in order. */
  leave(member: StreamMember): void {
    const i = this.slots.findIndex((s) => s.member === member);
    if (i < 0) return;
    const [slot] = this.slots.splice(i, 1);
    if (slot!.held.size > 0) this.waiting = [...slot!.held, ...this.waiting];
    slot!.held.clear();
    this.pump();
    if (this.slots.length === 0) this.admit(true);
  }

  /** A member has room again (its socket drained, an ack arrived elsewhere). */
  pump(): void {
    while (this.waiting.length > 0 && this.slots.length > 0) {
      const slot = this.pick();
      if (slot === undefined) return;
      const item = this.waiting.shift()!;
      slot.held.add(item);
      const redelivered = item.sent++ > 0;
      this.stats.delivered++;
      if (redelivered) this.stats.redelivered++;
      slot.member.send({
        event: item.event,
        redelivered,
        ack: () => {
          if (!slot.held.delete(item)) return; // left meanwhile: it was requeued
          this.stats.acked++;
          this.lastAck = Date.now();
          item.settle?.();
          this.pump();
          this.admit();
        },
      });
    }
  }

  /** The next member with room, round robin. */
  private pick(): Slot | undefined {
    const n = this.slots.length;
    for (let k = 0; k < n; k++) {
      const slot = this.slots[(this.next + k) % n]!;
      if (slot.member.room() > 0) {
        this.next = (this.next + k + 1) % n;
        return slot;
      }
    }
    return undefined;
  }

  /** Closes: queued and unacknowledged deliveries fail (retriable) so the bus keeps them if it can. */
  close(): void {
    this.closed = true;
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.admit(true);
    const err = deliveryFailed(`stream group ${this.id} closed`, 503);
    const items = [...this.waiting, ...this.slots.flatMap((s) => [...s.held])];
    this.waiting = [];
    for (const s of this.slots) s.held.clear();
    this.slots.length = 0;
    for (const item of items) item.settle?.(err);
  }
}
