// CONNECT to the MQTT integration (Drogue's mqtt-integration/src/service/app.rs): clean session /
// clean start required (3.1.1 "server unavailable", v5 0x80 otherwise); the user from the
// credentials — username + password: an access token; only a username or only a password: a JWT;
// neither: anonymous — with bad credentials refused as 3.1.1 code 4 / v5 0x86. The v5 CONNACK says
// shared and wildcard subscriptions are available and retain is not.

import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import { RC, V3 } from '../mqtt/reason-codes.ts';
import { End } from '../mqtt/ending.ts';
import { sessionIdentity } from '../mqtt/events.ts';
import { CLOSED } from '../mqtt/state.ts';
import type { SessionContext } from '../mqtt/context.ts';
import type { IntegrationAuth, IntegrationUser } from './types.ts';

/** Receive Maximum assumed for a client that states none (the window of QoS 1 events per connection). */
export const DEFAULT_WINDOW = 64;

export interface Connected {
  readonly clientId: string;
  readonly user: IntegrationUser | undefined;
  /** QoS 1 PUBLISH packets the client takes unacknowledged (its v5 Receive Maximum). */
  readonly window: number;
}

function refuse(s: SessionContext, p: IConnectPacket, v3: number, v5: number, reason: string): undefined {
  s.gw.stats.connectsRefused++;
  const packet: IConnackPacket = s.v5
    ? { cmd: 'connack', sessionPresent: false, reasonCode: v5 }
    : { cmd: 'connack', sessionPresent: false, returnCode: v3 };
  s.gw.opts.logger.info({ client: s.remoteAddress, clientId: p.clientId, reason }, 'mqtt integration connect refused');
  s.sendPacket(packet);
  void s.end(End.connectRefused, reason);
  return undefined;
}

async function userOf(auth: IntegrationAuth, p: IConnectPacket): Promise<IntegrationUser | undefined> {
  const username = p.username !== undefined && p.username !== '' ? p.username : undefined;
  const password = p.password !== undefined && p.password.length > 0 ? p.password.toString('utf8') : undefined;
  if (username !== undefined && password !== undefined) return auth.verifyAccessToken(username, password);
  if (username !== undefined) return auth.verifyJwt(username);
  if (password !== undefined) return auth.verifyJwt(password);
  return undefined;
}

/** Handles CONNECT; resolves with the session's facts once CONNACK 0x00 went out, else undefined. */
export async function connect(s: SessionContext, p: IConnectPacket, auth: IntegrationAuth): Promise<Connected | undefined> {
  const version = p.protocolVersion ?? 4;
  s.beginConnect(version === 5 ? 5 : 4);
  if (version !== 4 && version !== 5) return refuse(s, p, V3.unacceptableProtocolVersion, RC.unsupportedProtocolVersion, `protocol level ${version} not supported`);
  if (p.clean === false) return refuse(s, p, V3.serverUnavailable, RC.unspecified, 'clean session / clean start must be true');
  if (s.gw.atCapacity()) return refuse(s, p, V3.serverUnavailable, RC.connectionRateExceeded, 'too many connections');
  let user: IntegrationUser | undefined;
  try {
    user = await userOf(auth, p);
  } catch (err) {
    return refuse(s, p, V3.badUsernameOrPassword, RC.badUsernameOrPassword, err instanceof Error ? err.message : 'bad credentials');
  }
  if (s.state === CLOSED) return undefined;
  s.establish({
    who: sessionIdentity('', p.clientId, 'integration'),
    dialect: { type: 'drogue/v1' },
    keepalive: p.keepalive ?? 0,
    will: undefined,
    clientMaxPacket: s.v5 ? (p.properties?.maximumPacketSize ?? 0) : 0,
  });
  const packet: IConnackPacket = { cmd: 'connack', sessionPresent: false };
  if (s.v5) {
    packet.reasonCode = RC.success;
    packet.properties = {
      maximumPacketSize: s.gw.opts.maxPacketSize,
      maximumQoS: 1,
      retainAvailable: false,
      wildcardSubscriptionAvailable: true,
      sharedSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      topicAliasMaximum: 0,
    };
    if ((p.properties?.sessionExpiryInterval ?? 0) !== 0) packet.properties.sessionExpiryInterval = 0;
  } else {
    packet.returnCode = V3.accepted;
  }
  s.sendPacket(packet);
  s.gw.stats.connectsAccepted++;
  const window = s.v5 ? Math.max(1, Math.min(p.properties?.receiveMaximum ?? DEFAULT_WINDOW, 1024)) : DEFAULT_WINDOW;
  return { clientId: p.clientId, user, window };
}
