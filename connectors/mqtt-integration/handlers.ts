// SUBSCRIBE, UNSUBSCRIBE and PUBLISH on the MQTT integration (Drogue's
// mqtt-integration/src/service/session.rs, with the differences docs/compatibility.md lists).
// SUBSCRIBE: per filter (./filters.ts) wildcards 0xA2, other shapes 0x8F, an empty filter 0x87,
// Read denied 0x87, an unknown application 0x80 (3.1.1: 0x80 for every failure); QoS 0 → 0,
// 1 or 2 → 1; the user property `content-mode` (`structured`, `binary`) applies to the whole
// SUBSCRIBE, any other value refuses every filter with 0x83. A shared filter joins the group
// `{app}.{group}`, a plain one `{app}.{client id}` (anonymous without a client id).
// PUBLISH `command/{app}/{device}/{command}`: Write on the app, then "send command"
// (functions/command-dispatch/send.ts); PUBACK says 0x83 for another topic, 0x87 when denied or the
// application is missing, the error registry's code for a refused command.

import type { IPublishPacket, ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import { ACK, encodeAck } from '../mqtt/codec.ts';
import { RC, V3 } from '../mqtt/reason-codes.ts';
import { End } from '../mqtt/ending.ts';
import { CLOSED } from '../mqtt/state.ts';
import { mqttReasonFor } from '../../events/errors.ts';
import type { StreamSource } from '../stream/source.ts';
import type { Connection } from './connection.ts';
import { parseCommandTopic, parseStreamFilter } from './filters.ts';
import { Subscription } from './subscription.ts';
import type { IntegrationAuth, SendCommand } from './types.ts';

const WILDCARDS_NOT_SUPPORTED = 0xa2;

export interface HandlerPorts {
  readonly auth: IntegrationAuth;
  readonly source: StreamSource;
  readonly sendCommand: SendCommand | undefined;
  readonly logger: import('../../functions/ports/runtime.ts').Logger;
}

function contentMode(packet: ISubscribePacket): 'structured' | 'binary' | undefined {
  const v = packet.properties?.userProperties?.['content-mode'];
  const mode = Array.isArray(v) ? v[v.length - 1] : v;
  if (mode === undefined || mode === 'structured') return 'structured';
  return mode === 'binary' ? 'binary' : undefined;
}

export async function subscribe(ports: HandlerPorts, c: Connection, packet: ISubscribePacket): Promise<void> {
  const s = c.session;
  const v5 = s.v5;
  const fail = (rc: number): number => (v5 ? rc : V3.subackFailure);
  const mode = contentMode(packet);
  const subscriptionId = v5 ? packet.properties?.subscriptionIdentifier as number | undefined : undefined;
  const granted: number[] = [];
  const added: Subscription[] = [];
  for (const { topic: filter, qos } of packet.subscriptions) {
    if (mode === undefined) { granted.push(fail(RC.implementationSpecific)); continue; }
    const f = parseStreamFilter(filter);
    if (!f.ok) {
      granted.push(fail(f.reason === 'wildcard' ? WILDCARDS_NOT_SUPPORTED : f.reason === 'empty' ? RC.notAuthorized : RC.topicFilterInvalid));
      continue;
    }
    let access;
    try {
      access = await ports.auth.authorize(f.application, c.user, 'Read');
    } catch (err) {
      ports.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'integration subscribe: authorization failed');
      granted.push(fail(RC.unspecified));
      continue;
    }
    if (s.state === CLOSED) return;
    if (access !== 'allow') { granted.push(fail(access === 'missing' ? RC.unspecified : RC.notAuthorized)); continue; }
    const grantedQos: 0 | 1 = qos === 0 ? 0 : 1;
    c.subs.get(filter)?.leave();
    c.subs.delete(filter);
    const sub = new Subscription(c, f.topic, grantedQos, mode === 'binary', subscriptionId);
    try {
      sub.handle = await ports.source.join({ application: f.application, group: f.group ?? (c.clientId === '' ? undefined : c.clientId), channel: f.channel }, sub);
    } catch (err) {
      ports.logger.error({ err: err instanceof Error ? err.message : String(err), filter }, 'integration subscribe: the stream did not start');
      granted.push(fail(RC.unspecified));
      continue;
    }
    if ((s.state as number) === CLOSED) { sub.leave(); return; }
    c.subs.set(filter, sub);
    added.push(sub);
    granted.push(grantedQos);
  }
  s.sendPacket({ cmd: 'suback', messageId: packet.messageId!, granted });
  // Events start after the SUBACK.
  for (const sub of added) {
    sub.ready = true;
    sub.handle?.group.pump();
  }
}

/** UNSUBSCRIBE by the filter as subscribed, `$share/…` included (v5: 0x11 when there was none). */
export function unsubscribe(c: Connection, packet: IUnsubscribePacket): void {
  const codes: number[] = [];
  for (const filter of packet.unsubscriptions) {
    const sub = c.subs.get(filter);
    if (sub === undefined) { codes.push(RC.noSubscriptionExisted); continue; }
    c.subs.delete(filter);
    sub.leave();
    codes.push(RC.success);
  }
  c.session.sendPacket({ cmd: 'unsuback', messageId: packet.messageId!, granted: c.session.v5 ? codes : [] });
}

/** A command PUBLISH; the PUBACK (QoS 1) carries the outcome. */
export async function publish(ports: HandlerPorts, c: Connection, p: IPublishPacket): Promise<void> {
  const s = c.session;
  // CONNACK said Maximum QoS 1 (§3.2.2.3.4): QoS 2 is a protocol error (v5 DISCONNECT 0x82).
  if (p.qos === 2) return void s.end(End.protocolError, 'QoS 2 is not supported');
  const rc = await sendCommand(ports, c, p);
  if (s.state === CLOSED) return;
  if (rc !== RC.success) ports.logger.info({ topic: p.topic, rc }, 'integration command refused');
  if (p.qos === 1) s.send(encodeAck(ACK.puback, p.messageId!, rc, s.v5));
}

async function sendCommand(ports: HandlerPorts, c: Connection, p: IPublishPacket): Promise<number> {
  const target = parseCommandTopic(p.topic);
  if (target === undefined || ports.sendCommand === undefined) return RC.implementationSpecific;
  try {
    if ((await ports.auth.authorize(target.application, c.user, 'Write')) !== 'allow') return RC.notAuthorized;
    const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
    await ports.sendCommand({
      application: target.application, device: target.device, command: target.command,
      payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
      contentType: c.session.v5 ? p.properties?.contentType : undefined,
    });
    return RC.success;
  } catch (err) {
    return mqttReasonFor(err);
  }
}
