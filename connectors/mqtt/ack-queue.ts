// The acknowledgements owed to a client for its QoS 1 and 2 PUBLISH packets. They leave in the
// order the packets arrived [MQTT-4.6.0-2], whatever order the bus answers in: each publish
// reserves a slot, the bus settles it, and every settled slot at the head of the queue is sent.
// QoS 2 follows method A of §4.3.3: PUBREC once the bus took the event, then the identifier is
// held until PUBREL.

import { ACK, encodeAck } from './codec.ts';

/** A QoS 1/2 publish waiting for the bus. */
export interface PendingAck {
  readonly id: number;
  readonly qos: number;
  /** -1 while the bus has not answered; then the reason code to send. */
  rc: number;
}

/** Where the queue's acknowledgements go: the session. */
export interface AckSink {
  readonly v5: boolean;
  send(buf: Buffer): void;
  /**
   * [MQTT-3.3.5-2] a 3.1.1 server that does not take a PUBLISH must acknowledge it anyway or close
   * the connection: Mooring never acknowledges what it did not take, so the sink closes.
   */
  refusedWithoutWords(rc: number): void;
}

export class AckQueue {
  private q: PendingAck[] | undefined;
  /** QoS 2 packet identifiers acknowledged with PUBREC, waiting for PUBREL. */
  private rel: Set<number> | undefined;

  constructor(private readonly sink: AckSink) {}

  /** QoS 1 and 2 publishes received and not yet answered with PUBACK / PUBCOMP (v5 Receive Maximum). */
  get size(): number {
    return (this.q?.length ?? 0) + (this.rel?.size ?? 0);
  }

  /** Reserves the acknowledgement slot of a QoS 1/2 publish, in receive order. */
  expect(id: number, qos: number): PendingAck {
    const a: PendingAck = { id, qos, rc: -1 };
    (this.q ??= []).push(a);
    return a;
  }

  /** Settles an acknowledgement; sends every settled one at the head of the queue. */
  settle(a: PendingAck, rc: number): void {
    a.rc = rc;
    const q = this.q;
    if (q === undefined) return;
    const { sink } = this;
    const v5 = sink.v5;
    while (q.length > 0 && q[0]!.rc >= 0) {
      const head = q.shift()!;
      if (head.rc >= 0x80 && !v5) {
        this.q = undefined;
        sink.refusedWithoutWords(head.rc);
        return;
      }
      if (head.qos === 2) {
        if (head.rc < 0x80) (this.rel ??= new Set()).add(head.id);
        sink.send(encodeAck(ACK.pubrec, head.id, head.rc, v5));
      } else {
        sink.send(encodeAck(ACK.puback, head.id, head.rc, v5));
      }
    }
  }

  /** True while a QoS 2 publish with this identifier is waiting for the bus or for PUBREL. */
  qos2InProgress(id: number): boolean {
    if (this.rel?.has(id) === true) return true;
    const q = this.q;
    if (q !== undefined) for (const a of q) if (a.qos === 2 && a.id === id) return true;
    return false;
  }

  /** True once PUBREC was sent for this identifier and PUBREL has not come yet. */
  awaitingRelease(id: number): boolean {
    return this.rel?.has(id) === true;
  }

  /** PUBREL: frees the identifier; false when it was not waiting. */
  release(id: number): boolean {
    return this.rel?.delete(id) === true;
  }
}
