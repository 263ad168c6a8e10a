// PUBACK / PUBREC / PUBCOMP from the client (§3.4, §3.5, §3.7). The gateway grants and delivers
// commands at QoS 0 only (as Drogue Cloud did), so it never waits for one of these: a client
// acknowledging a packet identifier the gateway never used is ignored in 3.1.1 and, in v5,
// answered as the spec allows for an unknown identifier (PUBREC → PUBREL 0x92).

import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import { ACK, encodeAck } from '../codec.ts';
import { RC } from '../reason-codes.ts';
import type { SessionContext } from '../context.ts';

export function handlePuback(_s: SessionContext, _packet: IPubackPacket): void {
  // Nothing outstanding at QoS 1: ignore.
}

export function handlePubrec(s: Pick<SessionContext, 'v5' | 'send'>, packet: IPubrecPacket): void {
  // §4.3.3: the sender answers PUBREC with PUBREL; the identifier is unknown here.
  s.send(encodeAck(ACK.pubrel, packet.messageId ?? 0, s.v5 ? RC.packetIdentifierNotFound : 0, s.v5));
}

export function handlePubcomp(_s: SessionContext, _packet: IPubcompPacket): void {
  // Nothing outstanding at QoS 2: ignore.
}
