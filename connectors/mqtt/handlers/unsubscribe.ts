// UNSUBSCRIBE (§3.10): removes command subscriptions. [MQTT-3.10.4-5] the Server MUST respond with
// UNSUBACK even if no subscription was deleted; v5 says which with 0x11 (no subscription existed).

import type { IUnsubscribePacket } from 'mqtt-packet';
import { RC } from '../reason-codes.ts';
import type { SessionContext } from '../context.ts';

export function handleUnsubscribe(s: SessionContext, packet: IUnsubscribePacket): void {
  const codes: number[] = [];
  for (const filter of packet.unsubscriptions) {
    const sub = s.removeSubscription(filter);
    if (sub === undefined) {
      codes.push(RC.noSubscriptionExisted);
      continue;
    }
    if (sub.kind === 'device' && sub.device !== s.who!.device && !hasDeviceFilter(s, sub.device)) {
      s.gw.removeDeviceSubscriber(s.who!.application, sub.device, s);
    }
    codes.push(RC.success);
  }
  if (s.v5) s.sendPacket({ cmd: 'unsuback', messageId: packet.messageId!, granted: codes });
  else s.sendPacket({ cmd: 'unsuback', messageId: packet.messageId!, granted: [] });
}

function hasDeviceFilter(s: SessionContext, device: string): boolean {
  if (s.subs === undefined) return false;
  for (const sub of s.subs.values()) if (sub.kind === 'device' && sub.device === device) return true;
  return false;
}
