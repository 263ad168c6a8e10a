// The one dispatcher: checks protocol order, with the clause of the spec next to each rule, and
// hands the packet to its handler. A handler returning a promise holds the connection's input
// until it settles, so packets are processed strictly in order (CONNECT authentication, a
// publish-as decision that is not cached).

import type { Packet } from 'mqtt-packet';
import type { SessionContext } from '../context.ts';
import { End } from '../ending.ts';
import { NEW } from '../state.ts';
import { handleConnect } from './connect.ts';
import { handlePublish } from './publish.ts';
import { handlePuback, handlePubrec, handlePubcomp } from './puback.ts';
import { handlePubrel } from './pubrel.ts';
import { handleSubscribe } from './subscribe.ts';
import { handleUnsubscribe } from './unsubscribe.ts';
import { handlePingreq } from './pingreq.ts';
import { handleDisconnect } from './disconnect.ts';

export function dispatch(s: SessionContext, packet: Packet): void | Promise<void> {
  if (s.state === NEW) {
    // [MQTT-3.1.0-1] After a Network Connection is established by a Client to a Server, the first
    // packet sent from the Client to the Server MUST be a CONNECT packet.
    if (packet.cmd !== 'connect') return void s.end(End.aborted, 'the first packet was not CONNECT [MQTT-3.1.0-1]');
    return handleConnect(s, packet);
  }
  switch (packet.cmd) {
    case 'connect':
      // [MQTT-3.1.0-2] The Server MUST process a second CONNECT packet sent from a Client as a
      // Protocol Error and close the Network Connection.
      return void s.end(End.protocolError, 'a second CONNECT [MQTT-3.1.0-2]');
    case 'publish': return handlePublish(s, packet);
    case 'puback': return handlePuback(s, packet);
    case 'pubrec': return handlePubrec(s, packet);
    case 'pubrel': return handlePubrel(s, packet);
    case 'pubcomp': return handlePubcomp(s, packet);
    case 'subscribe': return handleSubscribe(s, packet);
    case 'unsubscribe': return handleUnsubscribe(s, packet);
    case 'pingreq': return handlePingreq(s);
    case 'disconnect': return handleDisconnect(s, packet);
    case 'auth':
      // [MQTT-4.12.0-1] If the Client did not include an Authentication Method in CONNECT (the
      // gateway accepts none), an AUTH packet is a Protocol Error.
      return void s.end(End.protocolError, 'AUTH without an authentication method [MQTT-4.12.0-1]');
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP only travel from server to client: a client sending
      // one commits a protocol violation [MQTT-4.8.0-1] (v5: DISCONNECT 0x82, §4.13).
      return void s.end(End.protocolError, `unexpected ${packet.cmd} from a client`);
  }
}
