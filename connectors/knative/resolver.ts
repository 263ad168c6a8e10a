// Resolves the Destinations of knative/ Triggers to in-process callables for the embedded broker:
// a Knative Service ref is the Mooring function of that name (called like the runtime would call
// it over HTTP: a thrown MooringError is a failed attempt with its status), the KafkaSink
// `mooring-dead-letter` is the injected dead-letter subscriber, a URI goes to the injected factory
// (the push sink's HTTP transport). Unknown references fail at startup, naming the Trigger.

import { deliveryFailed, isMooringError } from '../../events/errors.ts';
import {
  subscriberRef,
  type Destination, type DestinationResolver, type EventBus, type Subscriber, type SubscriberRef, type TriggerSpec,
} from '../../functions/ports/bus.ts';
import type { FunctionContext, MooringFunction } from '../../functions/ports/runtime.ts';

export const DEAD_LETTER_SINK = 'mooring-dead-letter';

export interface ResolverOptions {
  functions: readonly MooringFunction[];
  ctx: FunctionContext;
  /** Builds the subscriber for a `uri` destination (an application's push endpoint). */
  uri: (uri: string, trigger: TriggerSpec) => Subscriber;
  /** Receives what reaches the KafkaSink `mooring-dead-letter`. */
  deadLetter: Subscriber;
}

/**
 * A function as a Trigger subscriber: its reply is the reply; its error a failed attempt. It is
 * declared in-process, so a bus may hand it events without a hop ("fusion", ARCHITECTURE.md).
 */
export function functionSubscriber(fn: MooringFunction, ctx: FunctionContext): SubscriberRef {
  const call: Subscriber = async (event) => {
    try {
      return (await fn.handle(event, ctx)) ?? undefined;
    } catch (e) {
      if (isMooringError(e)) throw deliveryFailed(`${fn.name}: ${e.message}`, e.status, { cause: e });
      // What functions/runtime answers for an unexpected exception.
      throw deliveryFailed(`${fn.name}: ${(e as Error)?.message ?? String(e)}`, 500, { cause: e });
    }
  };
  return { call, inProcess: true, name: fn.name };
}

export function createResolver(options: ResolverOptions): DestinationResolver {
  const functions = new Map<string, SubscriberRef>();
  for (const fn of options.functions) functions.set(fn.name, functionSubscriber(fn, options.ctx));
  const deadLetter = subscriberRef(options.deadLetter, DEAD_LETTER_SINK);
  return (destination: Destination, trigger: TriggerSpec): SubscriberRef => {
    const ref = destination.ref;
    if (ref) {
      if (ref.kind === 'Service' && (ref.apiVersion === undefined || ref.apiVersion.startsWith('serving.knative.dev/'))) {
        const fn = functions.get(ref.name);
        if (fn) return fn;
        throw new Error(`trigger ${trigger.name}: no in-process function ${ref.name} (have: ${[...functions.keys()].join(', ') || 'none'})`);
      }
      if (ref.kind === 'KafkaSink' && ref.name === DEAD_LETTER_SINK) return deadLetter;
      throw new Error(`trigger ${trigger.name}: cannot resolve ${ref.kind} ${ref.name} in embedded mode`);
    }
    if (destination.uri !== undefined && destination.uri !== '') {
      return { call: options.uri(destination.uri, trigger), inProcess: false, name: destination.uri };
    }
    throw new Error(`trigger ${trigger.name}: destination has neither ref nor uri`);
  };
}

/**
 * Adds every trigger to the bus with its resolved subscriber and dead-letter sink. Everything is
 * resolved before the first trigger is added, so a bad reference adds nothing.
 */
export async function startEmbeddedBroker(bus: EventBus, triggers: readonly TriggerSpec[], resolve: DestinationResolver): Promise<void> {
  const resolved = triggers.map((t) => ({
    trigger: t,
    subscriber: resolve(t.subscriber, t),
    deadLetter: t.delivery?.deadLetterSink ? resolve(t.delivery.deadLetterSink, t) : undefined,
  }));
  for (const r of resolved) await bus.addTrigger(r.trigger, r.subscriber, r.deadLetter);
}
