// PUBREL (§3.6), the second half of a QoS 2 exchange the client started. The event went to the bus
// before PUBREC was sent (method A of §4.3.3), so PUBREL only releases the packet identifier:
// [MQTT-4.3.3-11] the receiver MUST respond to a PUBREL packet by sending a PUBCOMP packet
// containing the same Packet Identifier as the PUBREL. An unknown identifier gets v5 0x92.

import type { IPubrelPacket } from 'mqtt-packet';
import { ACK, encodeAck } from '../codec.ts';
import { RC } from '../reason-codes.ts';
import type { SessionContext } from '../context.ts';

export function handlePubrel(s: Pick<SessionContext, 'v5' | 'send' | 'acks'>, packet: IPubrelPacket): void {
  const id = packet.messageId ?? 0;
  const known = s.acks.release(id);
  s.send(encodeAck(ACK.pubcomp, id, known || !s.v5 ? RC.success : RC.packetIdentifierNotFound, s.v5));
}
