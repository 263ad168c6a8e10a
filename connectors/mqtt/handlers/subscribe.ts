// SUBSCRIBE (§3.8): only the command filters (see ../commands.ts) are accepted, granted at QoS 0
// (commands are delivered at QoS 0, as Drogue Cloud did). A filter naming another device needs
// publish-as rights for it (the device lists this one as gateway). Refused filters get v5 0x8F
// (topic filter invalid), 0x87 (not authorized), 0x9E (shared subscriptions not supported), or the
// 3.1.1 failure code 0x80 — in the SUBACK, one code per filter, in order [MQTT-3.8.4-6].

import type { ISubscribePacket } from 'mqtt-packet';
import { parseCommandFilter } from '../commands.ts';
import { RC, V3 } from '../reason-codes.ts';
import type { SessionContext } from '../context.ts';
import { End } from '../ending.ts';
import { CONNECTED } from '../state.ts';

export async function handleSubscribe(s: SessionContext, packet: ISubscribePacket): Promise<void> {
  // §3.2.2.3.12: CONNACK said Subscription Identifiers Available 0, so a SUBSCRIBE carrying one is
  // answered with DISCONNECT 0xA1 (Subscription Identifiers not supported).
  if (s.v5 && packet.properties?.subscriptionIdentifier !== undefined) {
    return void s.end(End.subscriptionIdentifiersNotSupported, 'subscription identifiers are not supported');
  }
  const self = s.who!;
  const granted: number[] = [];
  for (const { topic } of packet.subscriptions) {
    const sub = parseCommandFilter(topic);
    if (sub === undefined) {
      granted.push(s.v5 ? (topic.startsWith('$share/') ? 0x9e : RC.topicFilterInvalid) : V3.subackFailure);
      continue;
    }
    if (sub.kind === 'device' && sub.device !== self.device) {
      let d = s.cachedDecision(sub.device);
      if (d === undefined) {
        try {
          d = await s.decide(sub.device);
        } catch (err) {
          s.gw.opts.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'subscribe authorization failed');
          granted.push(s.v5 ? RC.unspecified : V3.subackFailure);
          continue;
        }
        if (s.state !== CONNECTED) return;
      }
      if (!d.ok) {
        granted.push(s.v5 ? RC.notAuthorized : V3.subackFailure);
        continue;
      }
      s.gw.addDeviceSubscriber(self.application, sub.device, s);
    }
    s.addSubscription(topic, sub);
    granted.push(RC.grantedQos0);
  }
  s.sendPacket({ cmd: 'suback', messageId: packet.messageId!, granted });
  // Commands the offline queue kept for this connection, in order, once it can receive them.
  if (granted.includes(RC.grantedQos0)) await s.gw.subscribed(s);
}
