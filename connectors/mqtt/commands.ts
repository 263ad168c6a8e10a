// The command topics a device may subscribe to (Drogue Cloud's MQTT endpoint) and the topic a
// command is delivered on. It is not possible to subscribe to single commands:
//   command/inbox//#          own commands,                  delivered as command/inbox//<cmd>
//   command/inbox/<device>/#  that device's commands,        delivered as command/inbox/<device>/<cmd>
//   command/inbox/#, command/inbox/+/#
//                             own (command/inbox//<cmd>) and every device it is a gateway for
//                             (command/inbox/<device>/<cmd>)

export const COMMAND_PREFIX = 'command/inbox/';

export type CommandSubscription =
  | { readonly kind: 'own' }
  | { readonly kind: 'all' }
  | { readonly kind: 'device'; readonly device: string };

const OWN: CommandSubscription = Object.freeze({ kind: 'own' });
const ALL: CommandSubscription = Object.freeze({ kind: 'all' });

/** Reads a SUBSCRIBE topic filter; undefined when it is not one of the command filters. */
export function parseCommandFilter(filter: string): CommandSubscription | undefined {
  if (!filter.startsWith(COMMAND_PREFIX)) return undefined;
  const rest = filter.slice(COMMAND_PREFIX.length);
  if (rest === '#' || rest === '+/#') return ALL;
  if (rest === '/#') return OWN;
  if (!rest.endsWith('/#')) return undefined;
  const device = rest.slice(0, -2);
  // One topic level, no wildcard characters (§4.7.1: + and # occupy a whole level).
  if (device.length === 0 || device.includes('/') || device.includes('+') || device.includes('#')) return undefined;
  return { kind: 'device', device };
}

/** `command/inbox//<cmd>` for own commands, `command/inbox/<device>/<cmd>` otherwise. */
export function commandTopic(device: string | undefined, command: string): string {
  return device === undefined ? `${COMMAND_PREFIX}/${command}` : `${COMMAND_PREFIX}${device}/${command}`;
}

/**
 * The topic a connection of `self` with subscriptions `subs` receives a command for `device` on
 * (Drogue's rules above), or undefined when none of its filters takes it. One delivery per
 * connection even when several filters match (§3.3.4 allows it).
 */
export function topicFor(subs: ReadonlyMap<string, CommandSubscription> | undefined, self: string, device: string, command: string): string | undefined {
  if (subs === undefined) return undefined;
  for (const sub of subs.values()) {
    if (self === device && (sub.kind === 'own' || sub.kind === 'all')) return commandTopic(undefined, command);
    if (self !== device && sub.kind === 'all') return commandTopic(device, command);
    if (sub.kind === 'device' && sub.device === device) return commandTopic(device, command);
  }
  return undefined;
}
