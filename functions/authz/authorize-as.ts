// Publish-as authorization: may the authenticated `sender` act for `device`? Itself always (while
// it and its application are enabled); another device only if that device exists, is enabled,
// and its `gatewaySelector.matchNames` lists the sender (Drogue's gateway model). Stateless:
// gateway sessions cache the decision (Drogue: LRU 128, 30 s, negative results too).

import type { RegistryReader } from '../ports/registry.ts';
import type { AuthorizeAsRequest, AuthorizeOutcome } from './types.ts';
import { gatewaysOf, isDisabled } from './device-view.ts';

export async function authorizeAs(req: AuthorizeAsRequest, registry: RegistryReader): Promise<AuthorizeOutcome> {
  const { application: appName, sender, device: target } = req;
  const application = await registry.getApplication(appName);
  if (!application) return { ok: false, reason: 'not-found', message: `unknown application ${appName}` };
  if (isDisabled(application)) return { ok: false, reason: 'not-authorized', message: `application ${appName} is disabled` };

  const senderDevice = await registry.getDevice(appName, sender);
  if (!senderDevice) return { ok: false, reason: 'not-found', message: `unknown sender ${sender}` };
  if (isDisabled(senderDevice)) return { ok: false, reason: 'not-authorized', message: `sender ${sender} is disabled` };
  if (target === sender) return { ok: true, device: senderDevice };

  const device = await registry.findDevice(appName, target);
  if (!device) return { ok: false, reason: 'not-found', message: `unknown device ${target}` };
  if (device.metadata.name === sender) return { ok: true, device: senderDevice };
  if (isDisabled(device)) return { ok: false, reason: 'not-authorized', message: `device ${device.metadata.name} is disabled` };
  if (!gatewaysOf(device).includes(sender)) {
    return { ok: false, reason: 'not-authorized', message: `${sender} is not a gateway of ${device.metadata.name}` };
  }
  return { ok: true, device };
}
