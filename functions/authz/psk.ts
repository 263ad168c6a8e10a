// TLS-PSK: the TLS listener asks for the key of an identity `<device>@<app>` during the handshake
// (node:tls `pskCallback`); the key comes from the device's `psk` credential (base64) when its
// validity window includes now. A disabled or unknown application or device gets no key.

import type { Clock } from '../ports/runtime.ts';
import type { Device, RegistryReader } from '../ports/registry.ts';
import { credentialsOf, isDisabled, splitIdentity, withinValidity } from './device-view.ts';

/** The device's pre-shared keys that are valid at `now`, in credential order. */
export function validPskKeys(device: Device, now: number): Buffer[] {
  const keys: Buffer[] = [];
  for (const c of credentialsOf(device)) {
    if (!('psk' in c) || typeof c.psk.key !== 'string') continue;
    if (!withinValidity(c.psk.validity, now)) continue;
    const key = Buffer.from(c.psk.key, 'base64');
    if (key.length > 0) keys.push(key);
  }
  return keys;
}

/** The key for a PSK identity `<device>@<app>`, or undefined (the handshake then fails). */
export async function pskKeyFor(identity: string, registry: RegistryReader, clock: Clock): Promise<Buffer | undefined> {
  const id = splitIdentity(identity);
  if (!id) return undefined;
  const application = await registry.getApplication(id.application);
  if (!application || isDisabled(application)) return undefined;
  const device = await registry.findDevice(id.application, id.device);
  if (!device || isDisabled(device)) return undefined;
  return validPskKeys(device, clock.now())[0];
}
