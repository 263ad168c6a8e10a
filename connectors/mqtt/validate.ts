// The MUSTs of MQTT 3.1.1 and 5.0 that mqtt-packet leaves unchecked, in one place. mqtt-packet
// checks the fixed-header flags [MQTT-2.2.2-1], QoS 3 in the header and in subscription options,
// the CONNECT reserved flag and the Will flags without a Will; it does not check the strings, the
// packet identifiers, empty SUBSCRIBE / UNSUBSCRIBE payloads, topic names, a Will QoS of 3, the
// MQTT 5 properties, or bytes left over after a packet's fields. The codec calls `stringViolation`
// for every UTF-8 string it decodes and `frameViolation` once a frame is decoded (both make the
// frame malformed); the dispatcher calls `packetViolation` before any handler sees the packet.
// 3.1.1 has no server DISCONNECT: a violation closes the connection [MQTT-4.8.0-1]; v5 sends the
// DISCONNECT reason code of the End reason first (§4.13), once CONNACK was sent.

import { isUtf8 } from 'node:buffer';
import type { Packet } from 'mqtt-packet';
import { End, type EndReason } from './ending.ts';

export interface Violation {
  readonly end: EndReason;
  readonly detail: string;
}

const violation = (end: EndReason, detail: string): Violation => ({ end, detail });

/**
 * A UTF-8 Encoded String field (§1.5.3 / §1.5.4): well-formed UTF-8, no encoded surrogates
 * [MQTT-1.5.3-1] (v5 [MQTT-1.5.4-1]), no U+0000 [MQTT-1.5.3-2] (v5 [MQTT-1.5.4-2]). Either makes
 * the packet malformed, so the connection is closed (v5 DISCONNECT 0x81).
 */
export function stringViolation(bytes: Uint8Array): string | undefined {
  if (bytes.indexOf(0) !== -1) return 'U+0000 in a UTF-8 string [MQTT-1.5.3-2] [MQTT-1.5.4-2]';
  if (!isUtf8(bytes)) return 'ill-formed UTF-8 in a string [MQTT-1.5.3-1] [MQTT-1.5.4-1]';
  return undefined;
}

/**
 * After decoding: the fields must fill the Remaining Length exactly (a PUBLISH's payload takes the
 * rest, so only its header must fit). Extra bytes after a PINGREQ, a 3.1.1 PUBACK, the fields of a
 * CONNECT… make the packet malformed (§2.1.4; v5 §4.13.1).
 */
export function frameViolation(packet: Packet, consumed: number): string | undefined {
  const length = (packet as { length?: number }).length ?? 0;
  if (packet.cmd === 'publish' ? consumed > length : consumed !== length) {
    return `the ${packet.cmd} fields take ${consumed} bytes of a Remaining Length of ${length}`;
  }
  return undefined;
}

/** MQTT 5 properties a client may send, by packet (§2.2.2.2: any other is a Malformed Packet). */
const allowed: Record<string, ReadonlySet<string>> = {
  connect: new Set(['sessionExpiryInterval', 'receiveMaximum', 'maximumPacketSize', 'topicAliasMaximum',
    'requestResponseInformation', 'requestProblemInformation', 'userProperties', 'authenticationMethod', 'authenticationData']),
  will: new Set(['willDelayInterval', 'payloadFormatIndicator', 'messageExpiryInterval', 'contentType',
    'responseTopic', 'correlationData', 'userProperties']),
  publish: new Set(['payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic',
    'correlationData', 'userProperties', 'subscriptionIdentifier', 'contentType']),
  puback: new Set(['reasonString', 'userProperties']),
  pubrec: new Set(['reasonString', 'userProperties']),
  pubrel: new Set(['reasonString', 'userProperties']),
  pubcomp: new Set(['reasonString', 'userProperties']),
  subscribe: new Set(['subscriptionIdentifier', 'userProperties']),
  unsubscribe: new Set(['userProperties']),
  disconnect: new Set(['sessionExpiryInterval', 'reasonString', 'userProperties', 'serverReference']),
  auth: new Set(['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties']),
};

/**
 * v5 properties: only those of the packet's type (else malformed, §2.2.2.2), each at most once
 * (a second one is a Protocol Error, e.g. §3.1.2.11), values that parsed within the packet.
 */
function propertiesViolation(kind: string, props: Record<string, unknown> | undefined): Violation | undefined {
  if (props === undefined) return undefined;
  const ok = allowed[kind];
  for (const name of Object.keys(props)) {
    if (ok === undefined || !ok.has(name)) return violation(End.malformed, `property ${name} is not allowed in ${kind} [MQTT-2.2.2-2]`);
    const value = props[name];
    if (Array.isArray(value)) return violation(End.protocolError, `property ${name} included more than once`);
    if (value === null || value === undefined || value === -1 || (value === false && name === 'subscriptionIdentifier')) {
      return violation(End.malformed, `property ${name} does not fit in the packet`);
    }
  }
  return undefined;
}

const hasWildcard = (topic: string): boolean => topic.includes('+') || topic.includes('#');

/** The checks a decoded packet passes before its handler runs; `v5` is the packet's protocol level. */
export function packetViolation(packet: Packet, v5: boolean): Violation | undefined {
  switch (packet.cmd) {
    case 'connect': {
      const will = packet.will;
      // 3.1.1 [MQTT-3.1.2-14] / v5 [MQTT-3.1.2-12]: Will QoS 3 is malformed.
      if (will && (will.qos ?? 0) > 2) return violation(End.malformed, 'Will QoS 3 [MQTT-3.1.2-14]');
      // 3.1.1 [MQTT-3.1.2-22]: a password needs a user name (v5 allows one alone).
      if (!v5 && packet.password !== undefined && packet.username === undefined) {
        return violation(End.malformed, 'password flag without user name flag [MQTT-3.1.2-22]');
      }
      if (!v5) return undefined;
      const props = packet.properties as Record<string, unknown> | undefined;
      // v5 §3.1.2.11.3 / §3.1.2.11.4: a Receive Maximum or Maximum Packet Size of 0 is a Protocol Error.
      if (props?.receiveMaximum === 0) return violation(End.protocolError, 'Receive Maximum 0');
      if (props?.maximumPacketSize === 0) return violation(End.protocolError, 'Maximum Packet Size 0');
      // §3.1.2.11.10: Authentication Data without an Authentication Method is a Protocol Error.
      if (props?.authenticationData !== undefined && props.authenticationMethod === undefined) {
        return violation(End.protocolError, 'Authentication Data without Authentication Method');
      }
      const willProps = will?.properties as Record<string, unknown> | undefined;
      if (typeof willProps?.responseTopic === 'string' && hasWildcard(willProps.responseTopic)) {
        return violation(End.protocolError, 'wildcard in a Will Response Topic [MQTT-3.3.2-14]');
      }
      return propertiesViolation('connect', props) ?? propertiesViolation('will', willProps);
    }
    case 'publish': {
      // [MQTT-2.3.1-1] (v5 [MQTT-2.2.1-3]): a QoS 1/2 PUBLISH has a non-zero packet identifier.
      if (packet.qos > 0 && packet.messageId === 0) return violation(End.protocolError, 'PUBLISH with packet identifier 0 [MQTT-2.3.1-1]');
      // [MQTT-3.3.1-2]: DUP is 0 on every QoS 0 PUBLISH.
      if (packet.qos === 0 && packet.dup) return violation(End.malformed, 'DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]');
      const topic = packet.topic;
      // [MQTT-3.3.2-2]: no wildcard in a Topic Name (v5: DISCONNECT 0x90 Topic Name invalid).
      if (hasWildcard(topic)) return violation(End.topicNameInvalid, 'wildcard in a topic name [MQTT-3.3.2-2]');
      const props = v5 ? packet.properties as Record<string, unknown> | undefined : undefined;
      // [MQTT-4.7.3-1]: a topic name is at least one character; v5 allows an empty one with a
      // Topic Alias only (§3.3.2.3.4: else a Protocol Error).
      if (topic.length === 0 && props?.topicAlias === undefined) {
        return violation(End.protocolError, 'empty topic name without a topic alias [MQTT-4.7.3-1]');
      }
      // v5 [MQTT-3.3.4-6]: a PUBLISH from a client carries no Subscription Identifier.
      if (props?.subscriptionIdentifier !== undefined) return violation(End.protocolError, 'Subscription Identifier in a PUBLISH from a client [MQTT-3.3.4-6]');
      // v5 [MQTT-3.3.2-14]: a Response Topic is a topic name, without wildcards.
      if (typeof props?.responseTopic === 'string' && hasWildcard(props.responseTopic)) {
        return violation(End.protocolError, 'wildcard in a Response Topic [MQTT-3.3.2-14]');
      }
      return v5 ? propertiesViolation('publish', props) : undefined;
    }
    case 'subscribe':
    case 'unsubscribe': {
      // [MQTT-2.3.1-1] (v5 [MQTT-2.2.1-3]): a non-zero packet identifier.
      if (packet.messageId === 0) return violation(End.protocolError, `${packet.cmd.toUpperCase()} with packet identifier 0 [MQTT-2.3.1-1]`);
      // 3.1.1 [MQTT-3.8.3-3] / [MQTT-3.10.3-2], v5 [MQTT-3.8.3-2] / [MQTT-3.10.3-2]: at least one topic filter.
      const filters = packet.cmd === 'subscribe' ? packet.subscriptions.length : packet.unsubscriptions.length;
      if (filters === 0) return violation(End.protocolError, `${packet.cmd.toUpperCase()} without a topic filter [MQTT-3.8.3-3]`);
      // v5 [MQTT-3.8.3-4]: No Local on a Shared Subscription is a Protocol Error.
      if (v5 && packet.cmd === 'subscribe' && packet.subscriptions.some((sub) => sub.nl === true && sub.topic.startsWith('$share/'))) {
        return violation(End.protocolError, 'No Local on a shared subscription [MQTT-3.8.3-4]');
      }
      return v5 ? propertiesViolation(packet.cmd, packet.properties as Record<string, unknown> | undefined) : undefined;
    }
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp': case 'disconnect': case 'auth':
      return v5 ? propertiesViolation(packet.cmd, packet.properties as Record<string, unknown> | undefined) : undefined;
    default:
      return undefined;
  }
}
