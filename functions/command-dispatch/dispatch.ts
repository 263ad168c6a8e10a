// The command-dispatch function: an io.mooring.command.v1 from an application (no holder yet)
// becomes one routed io.mooring.command.v1 per target connection that some instance holds, with
// `mooringholder` naming that instance: only that instance's delivery Trigger selects it
// (knative/templates/command-triggers.yaml), so no command is broadcast. A target nobody holds
// gets the command queued when it carries `mooringexpires` (the opt-in offline queue), else it is
// dropped, as Drogue Cloud did. A gateway with an external endpoint gets an HTTP request instead.
// The directory, the queue and the external endpoint are ports given to the function.

import { withAttributes, type CloudEvent } from '../../events/cloudevent.ts';
import { STAGE_EXTENSION, Stage } from '../../events/stage.ts';
import { commandEvent } from '../../events/constructors.ts';
import { MooringError } from '../../events/errors.ts';
import { rfc3339 } from '../../events/time.ts';
import { CommandExt, EventTypes } from '../../events/types.ts';
import type { CommandQueue } from '../ports/command-queue.ts';
import type { ConnectionDirectory } from '../ports/directory.ts';
import type { FunctionContext, MooringFunction } from '../ports/runtime.ts';
import { externalRequest, type ExternalEndpoint } from './external.ts';
import { resolveTargets } from './targets.ts';

export interface CommandPorts {
  directory: Pick<ConnectionDirectory, 'lookup'>;
  /** The offline queue; without one, commands with a TTL for offline targets are dropped too. */
  queue?: CommandQueue | undefined;
  external: ExternalEndpoint;
}

/**
 * What happened to a command, for the application:
 * `delivered` handed to the instance holding a live connection of at least one target;
 * `queued` no target connected, kept for at least one until its TTL;
 * `offline` no target connected and nothing kept (no TTL, or the queue refused it): dropped;
 * `external` posted to a gateway's external endpoint, which answered 2xx.
 */
export type CommandOutcome = 'delivered' | 'queued' | 'offline' | 'external';

export interface TargetResult {
  /** The connection: the device itself, a gateway, or the external endpoint's gateway. */
  readonly target: string;
  readonly via: 'device' | 'gateway' | 'external';
  readonly outcome: 'delivered' | 'queued' | 'offline' | 'external';
  /** The instance holding the connection (delivered). */
  readonly instance?: string;
  /** What the external endpoint answered. */
  readonly status?: number;
}

export interface Dispatch {
  readonly outcome: CommandOutcome;
  readonly targets: readonly TargetResult[];
  /** The routed commands, one per held target, to publish into the bus. */
  readonly events: readonly CloudEvent[];
}

function ext(event: CloudEvent, name: string): string | undefined {
  const v = event.extensions[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function required(event: CloudEvent, name: string): string {
  const v = ext(event, name);
  if (v === undefined) throw new MooringError('MOORING_INVALID_EVENT', `${event.type} event ${event.id} lacks the ${name} extension`);
  return v;
}

export async function dispatchCommand(event: CloudEvent, ctx: FunctionContext, ports: CommandPorts): Promise<Dispatch> {
  if (event.type !== EventTypes.command) throw new MooringError('MOORING_INVALID_EVENT', `command-dispatch takes ${EventTypes.command}, not ${event.type}`);
  if (ext(event, CommandExt.holder) !== undefined || ext(event, STAGE_EXTENSION) !== undefined) throw new MooringError('MOORING_INVALID_EVENT', `command ${event.id} is already routed`);
  const application = required(event, CommandExt.application);
  const device = required(event, CommandExt.device);
  const command = event.subject ?? required(event, CommandExt.command);
  const payload = event.data ?? new Uint8Array(0);
  const expires = ext(event, CommandExt.expires);
  const request = ext(event, CommandExt.request);
  const replyTo = ext(event, CommandExt.replyTo);
  const expiresAt = expires === undefined ? undefined : Date.parse(expires);

  const { targets, external } = await resolveTargets(ctx.registry, application, device);
  if (external !== undefined) {
    const httpRequest = externalRequest(external.spec, { application, device, command, payload });
    let status: number;
    try {
      ({ status } = await ports.external(httpRequest));
    } catch (err) {
      throw new MooringError('MOORING_REJECTED', `external command endpoint of ${external.gateway} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (status < 200 || status > 299) throw new MooringError('MOORING_REJECTED', `external command endpoint of ${external.gateway} answered ${status}`);
    return { outcome: 'external', targets: [{ target: external.gateway, via: 'external', outcome: 'external', status }], events: [] };
  }

  const results: TargetResult[] = [];
  const events: CloudEvent[] = [];
  const now = ctx.clock.now();
  for (const target of targets) {
    const via = target === device ? 'device' : 'gateway';
    const holder = await ports.directory.lookup(application, target);
    const routed = (h: string | undefined): CloudEvent => withAttributes(commandEvent({
      id: ctx.newId(), time: rfc3339(now), application, device, command, target, holder: h, expires, request, replyTo,
      payload: event.data, contentType: event.datacontenttype,
    }), { extensions: { [STAGE_EXTENSION]: Stage.routed } });
    if (holder !== undefined) {
      events.push(routed(holder.instance));
      results.push({ target, via, outcome: 'delivered', instance: holder.instance });
    } else if (expiresAt !== undefined && expiresAt > now && ports.queue !== undefined
      && await ports.queue.put(application, target, routed(undefined), expiresAt)) {
      results.push({ target, via, outcome: 'queued' });
    } else {
      results.push({ target, via, outcome: 'offline' });
    }
  }
  const outcome: CommandOutcome = results.some((r) => r.outcome === 'delivered') ? 'delivered'
    : results.some((r) => r.outcome === 'queued') ? 'queued' : 'offline';
  if (outcome === 'offline') ctx.logger.debug({ application, device, command }, 'command dropped: no target connected');
  return { outcome, targets: results, events };
}

/** The Trigger subscriber: its reply is the routed commands (they re-enter the broker). */
export function createCommandDispatch(ports: CommandPorts): MooringFunction {
  return {
    name: 'command-dispatch',
    handle: async (event, ctx) => {
      const { events } = await dispatchCommand(event, ctx, ports);
      return events.length === 0 ? undefined : [...events];
    },
  };
}
