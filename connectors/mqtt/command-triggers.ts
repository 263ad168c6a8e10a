// The command Triggers of one gateway instance, from knative/templates/command-triggers.yaml:
// command-dispatch (commands entering through the bus) and `commands-<instance>`, which selects
// only the commands routed to this instance. The composition root adds them to its bus, the
// second one with the gateway's in-process subscriber instead of the template's endpoint.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { EventTypes } from '../../events/types.ts';
import type { DeliverySpec, SubscriberRef, TriggerSpec } from '../../functions/ports/bus.ts';
import { KNATIVE_DIR, renderTemplate, toTriggerSpec, withBrokerDelivery } from '../knative/triggers.ts';
import type { MqttGateway } from './gateway.ts';

export const COMMAND_TRIGGERS_TEMPLATE = path.join(KNATIVE_DIR, 'templates', 'command-triggers.yaml');

export interface CommandTriggers {
  /** Subscriber: the in-process command-dispatch function (resolved like any Service ref). */
  dispatch: TriggerSpec;
  /** Subscriber: `gatewaySubscriber(gateway)`. */
  delivery: TriggerSpec;
}

export async function commandTriggers(
  instance: string,
  options: { template?: string; brokers?: Map<string, DeliverySpec>; endpoint?: string } = {},
): Promise<CommandTriggers> {
  const template = options.template ?? COMMAND_TRIGGERS_TEMPLATE;
  const docs = renderTemplate(await readFile(template, 'utf8'), { instance, endpoint: options.endpoint ?? `http://in-process.invalid/commands/${instance}` }, template);
  const specs = docs.filter((d) => d.kind === 'Trigger').map((d) => {
    const spec = toTriggerSpec(d, template);
    return options.brokers ? withBrokerDelivery(spec, options.brokers) : spec;
  });
  const dispatch = specs.find((t) => t.subscriber.ref !== undefined);
  const delivery = specs.find((t) => t.subscriber.uri !== undefined);
  if (!dispatch || !delivery) throw new Error(`${template}: needs the command-dispatch Trigger and the per-instance Trigger`);
  return { dispatch, delivery };
}

/**
 * The instance's in-process subscriber of its per-instance Trigger: routed commands go to the
 * gateway, routed replies (io.mooring.command.reply.v1) to `replies` (the command service).
 */
export function gatewaySubscriber(gateway: MqttGateway, replies?: (event: CloudEvent) => boolean): SubscriberRef {
  return {
    call: async (event) => {
      if (event.type === EventTypes.commandReply) {
        replies?.(event);
        return undefined;
      }
      return gateway.commandSubscriber(event);
    },
    inProcess: true, perInstance: true, name: `mqtt-commands-${gateway.instanceId}`,
  };
}
