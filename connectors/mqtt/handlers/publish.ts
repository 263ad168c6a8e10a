// PUBLISH (§3.3): a device event. The topic is read in the device's dialect (channel, and the
// device it acts for), publishing for another device needs a publish-as decision (cached per
// session), a JSON content type needs a JSON body; then the raw event goes to the bus, and a QoS 1
// PUBACK / QoS 2 PUBREC leaves only after the bus accepted it (nothing acknowledged is lost).
// Refusals: QoS 0 dropped; v5 reason code in PUBACK/PUBREC; 3.1.1 cannot refuse, so the
// connection is closed [MQTT-3.3.5-2]. QoS 2 is supported (method A of §4.3.3).
// Over the application's or device's message/byte rate (docs/quotas.md): v5 QoS 1/2 get 0x97, QoS 0
// is dropped, and a client refused more than `quotaDisconnectAfter` times within a second (it
// ignores the 0x97s) gets DISCONNECT 0x96;
// 3.1.1 is held (its input waits until the bucket allows the publish): backpressure, not a close.

import type { IPublishPacket } from 'mqtt-packet';
import { parseTopic } from '../../../functions/normalize/topic.ts';
import { REPLY_PREFIX } from '../../../functions/command-dispatch/replies.ts';
import { resolveContentType } from '../../../functions/content-type/sniff.ts';
import { mqttReasonFor } from '../../../events/errors.ts';
import { ACK, encodeAck } from '../codec.ts';
import { publishEvent, type PublishFields } from '../events.ts';
import { RC } from '../reason-codes.ts';
import type { GatewayCore, SessionContext, Will } from '../context.ts';
import type { SessionIdentity } from '../events.ts';
import type { MqttDialect } from '../../../functions/ports/registry.ts';
import { End } from '../ending.ts';
import { rfc3339 } from '../../../events/time.ts';
import { CLOSED } from '../state.ts';

export function handlePublish(s: SessionContext, p: IPublishPacket): void | Promise<void> {
  const { opts } = s.gw;
  const v5 = s.v5;
  if (p.qos > 0) {
    // v5 §3.3.4: more unacknowledged QoS 1/2 PUBLISH packets than the announced Receive Maximum
    // is answered with DISCONNECT 0x93 (Receive Maximum exceeded).
    if (v5 && s.acks.size >= opts.receiveMaximum) {
      return void s.end(End.receiveMaximumExceeded, 'Receive Maximum exceeded');
    }
    // [MQTT-4.3.3-10] until PUBREL, a QoS 2 PUBLISH with the same identifier must not be delivered
    // again: it is the client retransmitting.
    if (p.qos === 2 && s.acks.qos2InProgress(p.messageId!)) {
      if (s.acks.awaitingRelease(p.messageId!)) s.send(encodeAck(ACK.pubrec, p.messageId!, 0, v5));
      return;
    }
  }
  // v5 CONNACK said Retain Available 0: a retained PUBLISH is answered with DISCONNECT 0x9A (§3.3.1.3).
  // 3.1.1 cannot be told, so the flag is carried in the event and not interpreted.
  if (v5 && p.retain) return void s.end(End.retainNotSupported, 'retained messages are not supported');

  let topic = p.topic;
  if (v5) {
    const alias = p.properties?.topicAlias;
    if (alias !== undefined) {
      // [MQTT-3.3.2-9]/[MQTT-3.3.2-10] an alias of 0 or above the announced Topic Alias Maximum
      // is answered with DISCONNECT 0x94 (Topic Alias invalid).
      if (alias === 0 || alias > opts.topicAliasMaximum) return void s.end(End.topicAliasInvalid, `topic alias ${alias} invalid`);
      if (topic.length > 0) {
        s.setTopicAlias(alias, topic);
      } else {
        const known = s.topicAlias(alias);
        // §3.3.2.3.4: an alias not yet set by this client is a Protocol Error.
        if (known === undefined) return void s.end(End.protocolError, `topic alias ${alias} used before it was set`);
        topic = known;
      }
    }
  }
  // Empty topics without an alias, wildcards [MQTT-3.3.2-2], identifier 0: ../validate.ts.

  if (topic.startsWith(REPLY_PREFIX) && s.gw.opts.replies !== undefined) return reply(s, p, topic.slice(REPLY_PREFIX.length));

  const route = parseTopic(topic, s.dialect);
  if (!route.ok) return refuse(s, p, RC.topicNameInvalid, route.message);
  const target = route.device;
  if (target !== undefined && target !== s.who!.device) {
    const known = s.cachedDecision(target);
    if (known === undefined) {
      // Input waits for the decision, so later publishes of this connection stay behind this one.
      return s.decide(target).then((d) => {
        if (!d.ok) return refuse(s, p, RC.notAuthorized, d.message);
        return accept(s, p, topic);
      }, (err: unknown) => {
        s.gw.opts.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'publish-as authorization failed');
        return refuse(s, p, RC.unspecified, 'authorization unavailable');
      });
    }
    if (!known.ok) return refuse(s, p, RC.notAuthorized, known.message);
  }
  return accept(s, p, topic);
}

/**
 * A device's answer to a request/response command (`command/reply/<id>`): taken when a command
 * routed to this connection waits for it, else refused as not authorized (v5 0x87).
 */
function reply(s: SessionContext, p: IPublishPacket, request: string): void {
  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
  const offer = {
    application: s.who!.application, sender: s.who!.device, request, payload,
    contentType: s.v5 ? p.properties?.contentType : undefined,
  };
  if (s.gw.opts.replies!(offer)) {
    if (p.qos > 0) s.acks.settle(s.acks.expect(p.messageId!, p.qos), RC.success);
    return;
  }
  // Sent through another instance, which waits for it: the reply goes there through the bus.
  const forwarded = s.gw.forwardReply(offer);
  if (forwarded === undefined) return refuse(s, p, RC.notAuthorized, `no command ${request} waits for a reply from this connection`);
  const ack = p.qos > 0 ? s.acks.expect(p.messageId!, p.qos) : undefined;
  forwarded.then(() => { if (ack !== undefined) s.acks.settle(ack, RC.success); }, (err: unknown) => {
    s.logBusError(err, 'command reply');
    if (ack !== undefined) s.acks.settle(ack, mqttReasonFor(err));
  });
}

function accept(s: SessionContext, p: IPublishPacket, topic: string): void | Promise<void> {
  const props = s.v5 ? p.properties : undefined;
  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
  const contentType = props?.contentType;
  if (contentType !== undefined) {
    const ct = resolveContentType(contentType, payload);
    if (!ct.ok) return refuse(s, p, RC.unspecified, ct.message);
  }
  if (s.quota !== undefined) {
    const ms = s.gw.opts.quotas!.admit(s.quota, payload.length, 'mqtt');
    if (ms > 0) return overQuota(s, p, topic, ms);
  }
  const fields: PublishFields = {
    topic, qos: p.qos, retain: p.retain, payload,
    contentType, payloadFormat: props?.payloadFormatIndicator, userProperties: props?.userProperties,
  };
  const { opts, stats } = s.gw;
  const event = publishEvent(opts.newId(), rfc3339(opts.clock.now()), s.who!, fields);
  const ack = p.qos > 0 ? s.acks.expect(p.messageId!, p.qos) : undefined;
  s.busStarted();
  opts.bus.publish(event, { unacknowledged: p.qos === 0 }).then(() => {
    stats.publishesAccepted++;
    s.busSettled();
    if (ack !== undefined) s.acks.settle(ack, RC.success);
  }, (err: unknown) => {
    s.busSettled();
    s.logBusError(err, 'publish');
    // The registry's reason: 0x97 Quota exceeded when the bus is full, 0x80 when it is down.
    const rc = mqttReasonFor(err);
    if (ack !== undefined) {
      stats.publishesRefused++;
      s.acks.settle(ack, rc);
    } else {
      stats.publishesDropped++;
    }
  });
}

/**
 * A publish over the rate: 3.1.1 waits (input held: the client's own flow control slows it down;
 * nothing is lost and no reconnect storm follows), then is admitted again; v5 is refused with 0x97
 * (QoS 0 dropped), and DISCONNECT 0x96 ends a client that keeps publishing regardless.
 */
function overQuota(s: SessionContext, p: IPublishPacket, topic: string, ms: number): void | Promise<void> {
  if (!s.v5) {
    return new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(ms))).then(() => (s.state === CLOSED ? undefined : accept(s, p, topic)));
  }
  const { quotaDisconnectAfter, quotas } = s.gw.opts;
  const now = quotas!.now();
  if (now - s.quotaSecond >= 1000) {
    s.quotaSecond = now;
    s.quotaRefusals = 0;
  }
  if (quotaDisconnectAfter > 0 && ++s.quotaRefusals > quotaDisconnectAfter) {
    return void s.end(End.messageRateTooHigh, `${quotas!.lastKind.replace('_', ' ')} rate exceeded more than ${quotaDisconnectAfter} times within a second`);
  }
  refuse(s, p, RC.quotaExceeded, `${quotas!.lastKind.replace('_', ' ')} rate exceeded`);
}

/**
 * A PUBLISH the gateway does not take: QoS 0 is dropped; QoS 1/2 get the v5 reason code in their
 * PUBACK/PUBREC (in receive order); a 3.1.1 client's connection is closed [MQTT-3.3.5-2].
 */
function refuse(s: SessionContext, p: IPublishPacket, rc: number, message: string): void {
  const { stats, opts } = s.gw;
  opts.logger.debug({ device: s.who?.device, topic: p.topic, rc, message }, 'publish refused');
  if (p.qos === 0) {
    stats.publishesDropped++;
    return;
  }
  stats.publishesRefused++;
  const { acks } = s;
  acks.settle(acks.expect(p.messageId!, p.qos), rc);
}

/**
 * Publishes a Will as the device event it stands for: same topic rules, same authorization (a
 * gateway's Will for another device needs publish-as rights), content type checked.
 */
export async function publishWill(s: SessionContext, will: Will): Promise<void> {
  await publishWillOf(s.gw, s.who!, s.dialect!, s.v5 ? will : { ...will, properties: undefined },
    async (device) => (s.cachedDecision(device) ?? await s.decide(device)).ok,
    (err) => s.logBusError(err, 'will'));
}

/**
 * The Will of a connection of `who` (the session's own, or one a dead instance left in the
 * directory): `mayActFor` answers whether `who` may publish for another device.
 */
export async function publishWillOf(
  gw: GatewayCore, who: SessionIdentity, dialect: MqttDialect, will: Will,
  mayActFor: (device: string) => Promise<boolean>, onBusError: (err: unknown) => void,
): Promise<void> {
  const { opts, stats } = gw;
  const route = parseTopic(will.topic, dialect);
  if (!route.ok) return;
  const target = route.device;
  if (target !== undefined && target !== who.device && !await mayActFor(target)) return;
  const payload = typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload;
  const props = will.properties;
  const contentType = props?.contentType;
  if (contentType !== undefined && !resolveContentType(contentType, payload).ok) return;
  const event = publishEvent(opts.newId(), rfc3339(opts.clock.now()), who, {
    topic: will.topic, qos: will.qos ?? 0, retain: will.retain === true, payload,
    contentType, payloadFormat: props?.payloadFormatIndicator, userProperties: props?.userProperties,
  });
  stats.willsPublished++;
  // Handed to the bus now (order on the partition); its acceptance is only logged.
  opts.bus.publish(event).catch(onBusError);
}
