// Who receives a command (Drogue Cloud §3.3): the device itself, then each gateway named in its
// `gatewaySelector.matchNames`, in that order; names that do not exist, disabled gateways and
// repeats are skipped. A gateway with an external endpoint (`spec.commands`) ends the list: the
// command goes there and nowhere else, as in Drogue. A missing or disabled application or device
// is refused (406, Drogue's status); unlike Drogue the disabled check reads `disabled: true` as
// disabled (Drogue inverted it: `{"core":{}}` counted as disabled, `{"disabled":true}` as enabled).

import { MooringError } from '../../events/errors.ts';
import { gatewaysOf, isDisabled } from '../authz/device-view.ts';
import type { RegistryReader } from '../ports/registry.ts';
import { externalEndpointOf, type ExternalCommandSpec } from './external.ts';

export interface CommandTargets {
  /** Connections to route to: the device first, then its gateways. */
  readonly targets: readonly string[];
  /** A gateway's external endpoint, when one ends the list: the command goes only there. */
  readonly external?: { readonly gateway: string; readonly spec: ExternalCommandSpec };
}

export async function resolveTargets(registry: RegistryReader, application: string, device: string): Promise<CommandTargets> {
  const app = await registry.getApplication(application);
  if (app === undefined) throw new MooringError('MOORING_REJECTED', `application ${application} not found`);
  if (isDisabled(app)) throw new MooringError('MOORING_REJECTED', `application ${application} is disabled`);
  const dev = await registry.getDevice(application, device);
  if (dev === undefined) throw new MooringError('MOORING_REJECTED', `device ${device} of ${application} not found`);
  if (isDisabled(dev)) throw new MooringError('MOORING_REJECTED', `device ${device} of ${application} is disabled`);
  const targets = [device];
  for (const name of gatewaysOf(dev)) {
    if (targets.includes(name)) continue;
    const gw = await registry.getDevice(application, name);
    if (gw === undefined || isDisabled(gw)) continue;
    const spec = externalEndpointOf(gw);
    if (spec !== undefined) return { targets, external: { gateway: name, spec } };
    targets.push(name);
  }
  return { targets };
}
