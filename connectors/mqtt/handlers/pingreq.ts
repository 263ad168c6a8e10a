// PINGREQ (§3.12): [MQTT-3.12.4-1] The Server MUST send a PINGRESP packet in response. Receiving
// any packet already refreshed the keep-alive.

import { PINGRESP } from '../codec.ts';
import type { SessionContext } from '../context.ts';

export function handlePingreq(s: Pick<SessionContext, 'send'>): void {
  s.send(PINGRESP);
}
