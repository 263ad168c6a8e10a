// DISCONNECT from the client (§3.14). [MQTT-3.14.4-3] On receipt of DISCONNECT with a Reason Code
// of 0x00 (Success) the Server MUST discard any Will Message without publishing it. v5 reason
// 0x04 (Disconnect with Will Message) asks for it to be published; any other v5 reason is an
// abnormal end and publishes it too. In 3.1.1 every DISCONNECT deletes the Will [MQTT-3.1.2-10].

import type { IDisconnectPacket } from 'mqtt-packet';
import { RC } from '../reason-codes.ts';
import type { SessionContext } from '../context.ts';
import { End } from '../ending.ts';

export function handleDisconnect(s: Pick<SessionContext, 'v5' | 'end'>, packet: IDisconnectPacket): void {
  const rc = s.v5 ? (packet.reasonCode ?? RC.success) : RC.success;
  void s.end(rc === RC.success ? End.clientDisconnect : End.clientDisconnectWithWill, `client disconnected (0x${rc.toString(16)})`);
}
