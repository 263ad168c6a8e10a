// PINGREQ (§3.12): [MQTT-3.12.4-1] The Server MUST send a PINGRESP packet in response. Receiving
// any packet already refreshed the keep-alive.

import { PINGRESP } from '../codec.ts';
import type { Session } from '../session.ts';

export function handlePingreq(s: Session): void {
  s.send(PINGRESP);
}
