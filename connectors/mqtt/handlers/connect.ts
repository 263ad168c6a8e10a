// CONNECT (§3.1) as a named list of steps, each returning false to stop (after answering). A
// refused CONNECT gets a CONNACK with the precise code for the client's version and then the
// connection is closed [MQTT-3.2.2-5]. Authentication is the authz function; the session is
// registered under its device so a second connection takes it over.

import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import type { Application, Device, MqttDialect } from '../../../functions/ports/registry.ts';
import { dialectToString, resolveDialect } from '../../../functions/normalize/topic.ts';
import type { AuthenticateRequest } from '../../../functions/authz/types.ts';
import { sessionIdentity } from '../events.ts';
import { RC, V3 } from '../reason-codes.ts';
import type { SessionContext } from '../context.ts';
import { CONNACK_ACCEPTED_V4 } from '../codec.ts';
import { End } from '../ending.ts';
import { CLOSED } from '../state.ts';

interface ConnectContext {
  readonly s: SessionContext;
  readonly p: IConnectPacket;
  application?: Application;
  device?: Device;
  dialect?: MqttDialect;
}

type Step = (c: ConnectContext) => boolean | Promise<boolean>;

/** Refuses with v3.1.1 return code `v3` or v5 reason code `v5`, then closes. */
function refuse(c: ConnectContext, v3: number, v5: number, reason: string): false {
  const { s } = c;
  s.gw.stats.connectsRefused++;
  const packet: IConnackPacket = s.v5
    ? { cmd: 'connack', sessionPresent: false, reasonCode: v5 }
    : { cmd: 'connack', sessionPresent: false, returnCode: v3 };
  s.gw.opts.logger.info({ client: s.remoteAddress, clientId: c.p.clientId, code: s.v5 ? v5 : v3, reason }, 'mqtt connect refused');
  s.sendPacket(packet);
  void s.end(End.connectRefused, reason);
  return false;
}

/** [MQTT-3.1.2-2] An unsupported protocol level gets CONNACK 0x01 (v5 0x84) and a close. */
const checkProtocolVersion: Step = (c) => {
  const v = c.p.protocolVersion ?? 4;
  if (v !== 4 && v !== 5) return refuse(c, V3.unacceptableProtocolVersion, RC.unsupportedProtocolVersion, `protocol level ${v} not supported (3.1.1 and 5 are)`);
  return true;
};

/**
 * Drogue Cloud: clean session (3.1.1) / clean start (v5) must be true; no session outlives its
 * connection. 3.1.1 has no code for it: 0x02 (identifier rejected), the code 3.1.1 uses for a
 * session it will not keep [MQTT-3.1.3-8]; v5 0x83 (implementation specific: valid, not accepted).
 */
const checkCleanStart: Step = (c) => {
  if (c.p.clean === false) return refuse(c, V3.identifierRejected, RC.implementationSpecific, 'clean session / clean start must be true');
  return true;
};

/** v5 announces Retain Available 0: a Will with Retain is refused with 0x9A (§3.2.2.3.5). */
const checkWill: Step = (c) => {
  const will = c.p.will;
  if (will && c.s.v5 && will.retain === true) return refuse(c, V3.serverUnavailable, RC.retainNotSupported, 'retained Will not supported');
  return true;
};

/**
 * v5 [MQTT-4.12.0-1]: the gateway supports no enhanced authentication, so a CONNECT naming an
 * Authentication Method gets CONNACK 0x8C (Bad authentication method) and the connection is closed.
 */
const checkAuthenticationMethod: Step = (c) => {
  const method = c.s.v5 ? c.p.properties?.authenticationMethod : undefined;
  if (method !== undefined) return refuse(c, V3.notAuthorized, RC.badAuthenticationMethod, `authentication method ${method} not supported`);
  return true;
};

/** maxConnections: v5 0x9F (connection rate exceeded), 3.1.1 0x03 (server unavailable). */
const checkCapacity: Step = (c) => {
  if (c.s.gw.atCapacity()) return refuse(c, V3.serverUnavailable, RC.connectionRateExceeded, 'too many connections');
  return true;
};

const authenticate: Step = async (c) => {
  const { s, p } = c;
  const { opts } = s.gw;
  const req: AuthenticateRequest = { clientId: p.clientId };
  if (p.username !== undefined) req.username = p.username;
  if (p.password !== undefined) req.password = p.password;
  const tls = s.tls;
  if (tls?.certificateChain !== undefined && tls.certificateChain.length > 0) req.certificateChain = tls.certificateChain;
  if (tls?.pskIdentity !== undefined) req.pskIdentity = tls.pskIdentity;
  let out;
  try {
    out = await opts.authenticate(req, opts.registry, opts.clock);
  } catch (err) {
    opts.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'mqtt authentication failed');
    return refuse(c, V3.serverUnavailable, RC.serverUnavailable, 'authentication unavailable');
  }
  if (s.state === CLOSED) return false; // the client went away meanwhile
  if (!out.ok) {
    return out.reason === 'bad-credentials'
      ? refuse(c, V3.badUsernameOrPassword, RC.badUsernameOrPassword, out.message)
      : refuse(c, V3.notAuthorized, RC.notAuthorized, out.message);
  }
  c.application = out.application;
  c.device = out.device;
  return true;
};

/** The device's dialect, else the application's; one that does not parse refuses the connection. */
const chooseDialect: Step = (c) => {
  try {
    c.dialect = resolveDialect(c.device, c.application);
  } catch (err) {
    return refuse(c, V3.serverUnavailable, RC.implementationSpecific, err instanceof Error ? err.message : 'invalid dialect');
  }
  return true;
};

/**
 * The application's and the device's connection quotas (docs/quotas.md): v5 CONNACK 0x97 (Quota
 * exceeded), 3.1.1 0x03 (Server unavailable, its only "not now"). A connection taking over the
 * device's connection here replaces it, so it passes. The ticket is released when the session ends.
 */
const admitQuota: Step = (c) => {
  const { s } = c;
  const quotas = s.gw.opts.quotas;
  if (quotas === undefined) return true;
  const device = c.device!.metadata.name;
  const replacing = s.gw.sessionOf(c.application!.metadata.name, device) !== undefined;
  try {
    s.quota = quotas.acquire(c.application!, device, 'mqtt', replacing);
  } catch (err) {
    return refuse(c, V3.serverUnavailable, RC.quotaExceeded, err instanceof Error ? err.message : String(err));
  }
  return true;
};

/**
 * [MQTT-3.1.4-3] (v5) / [MQTT-3.1.4-2] (3.1.1): a connection of a device already connected takes
 * over; the old one gets v5 DISCONNECT 0x8E and is closed. Its Will is published: with clean start
 * required its session ends here, and [MQTT-3.1.2-8] publishes the Will when the session ends.
 * Waiting for the old session's events keeps connected / disconnected in order.
 */
const takeOver: Step = (c) => {
  const { s } = c;
  const old = s.gw.sessionOf(c.application!.metadata.name, c.device!.metadata.name);
  // The usual case (no other connection of the device here) stays synchronous: no promise per connect.
  if (old === undefined || old === s) return true;
  s.gw.stats.takeovers++;
  return old.end(End.takenOver, 'taken over by a new connection').then(() => s.state !== CLOSED);
};

/** Session state from the CONNECT: identity, keep-alive, Will, the client's v5 limits. */
const register: Step = (c) => {
  const { s, p } = c;
  const device = c.device!;
  const dialect = c.dialect!;
  s.gw.rememberDevice(device);
  s.establish({
    who: sessionIdentity(c.application!.metadata.name, device.metadata.name, dialectToString(dialect),
      c.application!.metadata.uid, device.metadata.uid),
    dialect,
    keepalive: p.keepalive ?? 0,
    will: p.will ?? undefined,
    clientMaxPacket: s.v5 ? (p.properties?.maximumPacketSize ?? 0) : 0,
  });
  return true;
};

/**
 * The connection directory: a device held by another instance is taken over from it (that instance
 * ends its connection and says goodbye first), before CONNACK and the connected event.
 */
const claim: Step = async (c) => {
  const ok = await c.s.gw.claim(c.s, c.p.will ?? undefined);
  return ok && c.s.state !== CLOSED;
};

/** CONNACK 0x00; v5 states what the gateway supports (§3.2.2.3). */
const connack: Step = (c) => {
  const { s, p } = c;
  const { opts } = s.gw;
  if (!s.v5) {
    s.send(CONNACK_ACCEPTED_V4); // return code 0x00 (V3.accepted)
    s.gw.stats.connectsAccepted++;
    return true;
  }
  const packet: IConnackPacket = {
    cmd: 'connack', sessionPresent: false, reasonCode: RC.success,
    properties: {
      receiveMaximum: opts.receiveMaximum,
      maximumPacketSize: opts.maxPacketSize,
      topicAliasMaximum: opts.topicAliasMaximum,
      retainAvailable: false,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: false,
      sharedSubscriptionAvailable: false,
    },
  };
  // The session ends with the connection whatever the client asked for.
  if ((p.properties?.sessionExpiryInterval ?? 0) !== 0) packet.properties!.sessionExpiryInterval = 0;
  // [MQTT-3.2.2-16] a zero-length client id gets an Assigned Client Identifier.
  if (p.clientId === '') packet.properties!.assignedClientIdentifier = `${s.who!.device}@${s.who!.application}`;
  s.sendPacket(packet);
  s.gw.stats.connectsAccepted++;
  return true;
};

/** io.drogue.connection.v1 {connected: true}, ahead of any event of this connection. */
const announceConnected: Step = (c) => {
  c.s.announceConnected();
  return true;
};

export const connectSteps: ReadonlyArray<readonly [string, Step]> = [
  ['checkProtocolVersion', checkProtocolVersion],
  ['checkCleanStart', checkCleanStart],
  ['checkWill', checkWill],
  ['checkAuthenticationMethod', checkAuthenticationMethod],
  ['checkCapacity', checkCapacity],
  ['authenticate', authenticate],
  ['chooseDialect', chooseDialect],
  ['admitQuota', admitQuota],
  ['takeOver', takeOver],
  ['register', register],
  ['claim', claim],
  ['connack', connack],
  ['announceConnected', announceConnected],
];

export async function handleConnect(s: SessionContext, p: IConnectPacket): Promise<void> {
  s.beginConnect(p.protocolVersion === 5 ? 5 : 4);
  const c: ConnectContext = { s, p };
  for (const [, step] of connectSteps) {
    const r = step(c);
    if ((r === true ? r : await r) !== true) return;
    if (s.state === CLOSED) return;
  }
}
