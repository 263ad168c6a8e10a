// Every way a session ends, and what each one means, in one table: whether the Will is published,
// which v5 DISCONNECT reason code the server sends (3.1.1 has no server DISCONNECT: the connection
// is just closed [MQTT-4.8.0-1]), and whether it counts as a protocol error. `planEnd` turns a
// reason and the session's situation into what the session does; Session.end is its only caller.
//
// The Will [MQTT-3.1.2-8] is published when the network connection closes, unless the client
// deleted it with a normal DISCONNECT: v5 reason 0x00 [MQTT-3.14.4-3], any 3.1.1 DISCONNECT
// [MQTT-3.1.2-10]. So a dropped connection, a keep-alive timeout [MQTT-3.1.2-22], a takeover
// [MQTT-3.1.4-3] (clean start is required, the session ends with it), a protocol error, a publish
// 3.1.1 cannot refuse and a server shutdown all publish it. Only a connected session has one.
// The disconnected event (io.drogue.connection.v1) follows every session that announced itself
// connected, after the Will, on the same partition.

import { RC } from './reason-codes.ts';

/** No DISCONNECT packet: the connection is closed without a word. */
export const NO_PACKET = -1;

export interface EndReason {
  /** For logs and tests. */
  readonly name: string;
  /** v5 DISCONNECT reason code sent to a connected client, or NO_PACKET. */
  readonly rc: number;
  /** Publish the Will (when the session is connected and has one). */
  readonly will: boolean;
  /** Counted in stats.protocolErrors. */
  readonly protocolError: boolean;
  /** No disconnected event either: another instance already said goodbye for this connection. */
  readonly silent: boolean;
}

function reason(name: string, rc: number, will: boolean, protocolError = false, silent = false): EndReason {
  return Object.freeze({ name, rc, will, protocolError, silent });
}

export const End = {
  /** DISCONNECT 0x00 (v5) or any 3.1.1 DISCONNECT: the Will is deleted. */
  clientDisconnect: reason('client disconnect', NO_PACKET, false),
  /** v5 DISCONNECT 0x04 (Disconnect with Will Message) or an error reason from the client. */
  clientDisconnectWithWill: reason('client disconnect with will', NO_PACKET, true),
  /** The stream closed, ended or failed under the session. */
  connectionLost: reason('connection lost', NO_PACKET, true),
  keepAliveTimeout: reason('keep-alive timeout', RC.keepAliveTimeout, true),
  takenOver: reason('taken over', RC.sessionTakenOver, true),
  serverShutdown: reason('server shutting down', RC.serverShuttingDown, true),
  /** The registry disabled or deleted the device or its application: no Will (it would be refused). */
  revoked: reason('revoked', RC.administrativeAction, false),
  /** Before CONNECT completed (not a CONNECT first, no CONNECT in time): close silently. */
  aborted: reason('aborted', NO_PACKET, false, true),
  /** A CONNACK refusal was sent; close after it. */
  connectRefused: reason('connect refused', NO_PACKET, false),
  /** [MQTT-3.3.5-2] a 3.1.1 PUBLISH the gateway does not take: close, it cannot be told. */
  publishRefused: reason('publish refused', NO_PACKET, true),
  protocolError: reason('protocol error', RC.protocolError, true, true),
  malformed: reason('malformed packet', RC.malformed, true, true),
  packetTooLarge: reason('packet too large', RC.packetTooLarge, true, true),
  receiveMaximumExceeded: reason('receive maximum exceeded', RC.receiveMaximumExceeded, true),
  retainNotSupported: reason('retain not supported', RC.retainNotSupported, true),
  topicAliasInvalid: reason('topic alias invalid', RC.topicAliasInvalid, true),
  /** A v5 client that kept publishing over its quota (docs/quotas.md): DISCONNECT 0x96. */
  messageRateTooHigh: reason('message rate too high', RC.messageRateTooHigh, true),
  /** [MQTT-3.3.2-2] a wildcard in a PUBLISH topic name: v5 DISCONNECT 0x90, 3.1.1 a close. */
  topicNameInvalid: reason('topic name invalid', RC.topicNameInvalid, true, true),
  subscriptionIdentifiersNotSupported: reason('subscription identifiers not supported', RC.subscriptionIdentifiersNotSupported, true),
  internalError: reason('internal error', RC.unspecified, true),
  /**
   * The directory gave the device to another instance that said goodbye in this one's place (this
   * instance's lease ran out, or a claim forced it away): 0x8E, no Will, no disconnected event.
   */
  leaseLost: reason('lease lost', RC.sessionTakenOver, false, false, true),
} as const satisfies Record<string, EndReason>;

/** What the session does when it ends. */
export interface EndPlan {
  /** The v5 DISCONNECT reason code to send first, or NO_PACKET. */
  readonly disconnect: number;
  readonly publishWill: boolean;
  /** io.drogue.connection.v1 {connected: false}. */
  readonly disconnectedEvent: boolean;
}

export interface EndSituation {
  readonly v5: boolean;
  /** CONNACK 0x00 was sent (a server DISCONNECT may only follow it). */
  readonly connected: boolean;
  readonly hasWill: boolean;
  /** The connected event went to the bus. */
  readonly announced: boolean;
}

export function planEnd(r: EndReason, s: EndSituation): EndPlan {
  return {
    disconnect: s.v5 && s.connected ? r.rc : NO_PACKET,
    publishWill: r.will && s.connected && s.hasWill && s.announced,
    disconnectedEvent: s.announced && !r.silent,
  };
}
