// One SUBSCRIBE filter of an integration connection as a member of its stream group
// (connectors/stream): each event the group hands it becomes a PUBLISH on the filter's topic
// (without `$share/…/`), structured JSON or v5 binary mode. QoS 1: the event is acknowledged to
// the group on the client's PUBACK (the connection's window is its Receive Maximum); QoS 0: once
// written. A connection whose socket does not drain gets nothing more until it does.

import type { IPublishPacket } from 'mqtt-packet';
import { encode } from '../mqtt/codec.ts';
import type { Delivery, StreamMember } from '../stream/group.ts';
import type { StreamHandle } from '../stream/source.ts';
import { binaryForApplication, encodeForApplication, STRUCTURED_CONTENT_TYPE } from '../stream/format.ts';

/** What a subscription needs of its connection. */
export interface Outbound {
  readonly version: number;
  /** Bytes written and not yet flushed. */
  readonly backlog: number;
  readonly maxWriteBuffer: number;
  /** The client's Maximum Packet Size (0: none). */
  readonly clientMaxPacket: number;
  /** QoS 1 events this connection may still send unacknowledged. */
  room(): number;
  /** A packet id for a QoS 1 PUBLISH, remembered with its delivery. */
  hold(delivery: Delivery): number;
  /** Forgets a held packet id (its PUBLISH was not sent). */
  release(packetId: number): void;
  send(buf: Buffer): void;
}

export class Subscription implements StreamMember {
  handle: StreamHandle | undefined;
  /** False until the SUBACK went out: no event overtakes it. */
  ready = false;

  constructor(
    private readonly out: Outbound,
    readonly topic: string,
    readonly qos: 0 | 1,
    readonly binary: boolean,
    readonly subscriptionId: number | undefined,
  ) {}

  room(): number {
    // Flow control at half the bound: a slow reader gets events as it drains; the session closes
    // a connection past the bound, or whose queue stalls (connectors/mqtt/session.ts).
    if (!this.ready || this.out.backlog > this.out.maxWriteBuffer / 2) return 0;
    return this.qos === 1 ? this.out.room() : 1;
  }

  send(d: Delivery): void {
    const packet: IPublishPacket = { cmd: 'publish', topic: this.topic, qos: this.qos, dup: false, retain: false, payload: Buffer.alloc(0) };
    const v5 = this.out.version === 5;
    if (this.binary && v5) {
      const b = binaryForApplication(d.event);
      packet.payload = b.payload;
      packet.properties = { userProperties: b.userProperties };
      if (b.contentType !== undefined) packet.properties.contentType = b.contentType;
    } else {
      packet.payload = encodeForApplication(d.event);
      if (v5) packet.properties = { contentType: STRUCTURED_CONTENT_TYPE, payloadFormatIndicator: true };
    }
    if (v5 && this.subscriptionId !== undefined) (packet.properties ??= {}).subscriptionIdentifier = this.subscriptionId;
    if (this.qos === 1) packet.messageId = this.out.hold(d);
    const buf = encode(packet, this.out.version);
    // [MQTT-3.1.2-24] never more than the client's Maximum Packet Size: such an event is skipped.
    if (this.out.clientMaxPacket > 0 && buf.length > this.out.clientMaxPacket) {
      if (packet.messageId !== undefined) this.out.release(packet.messageId);
      d.ack();
      return;
    }
    this.out.send(buf);
    if (this.qos === 0) d.ack();
  }

  leave(): void {
    this.handle?.leave();
    this.handle = undefined;
  }
}
