// Spans of the event path (issue 13): the port the connectors and the engine start spans through.
// Absent (undefined) unless an OTLP endpoint is configured, so that the event path then costs no
// more than the `traceparent` ids (events/trace.ts). The one implementation is
// connectors/tracing (OpenTelemetry SDK, OTLP/HTTP export).

import type { CloudEvent } from '../../events/cloudevent.ts';
import { ingressTraceparent, parseTraceparent, TRACEPARENT } from '../../events/trace.ts';

export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Span {
  /** The traceparent naming this span (its trace id, its own span id). */
  readonly traceparent: string;
  /** Ends the span; `error` marks it failed. */
  end(error?: string): void;
}

export interface Tracer {
  /**
   * Starts a span; a child of `parent` (a valid traceparent, as received) when given, else the
   * root of a new trace. `kind`: `server` (an ingress), `consumer` (a delivery), `client`.
   */
  start(name: string, parent: string | undefined, kind: 'server' | 'consumer' | 'client', attributes?: SpanAttributes): Span;
}

/**
 * The traceparent a device's event gets at the ingress, and its span when tracing is on: the
 * device's own trace (`given`, a user property's or header's value) when valid, else a new one.
 */
export function ingressTrace(tracer: Tracer | undefined, name: string, given: string | readonly string[] | undefined,
  attributes?: SpanAttributes): { traceparent: string; span?: Span } {
  if (tracer === undefined) return { traceparent: ingressTraceparent(given) };
  const one = Array.isArray(given) ? given[0] : given;
  const span = tracer.start(name, parseTraceparent(one) === undefined ? undefined : one as string, 'server', attributes);
  return { traceparent: span.traceparent, span };
}

/** A span for handling `event` (a child of its traceparent), or undefined without a tracer. */
export function eventSpan(tracer: Tracer | undefined, name: string, event: CloudEvent, attributes?: SpanAttributes): Span | undefined {
  if (tracer === undefined) return undefined;
  const parent = event.extensions[TRACEPARENT];
  return tracer.start(name, typeof parent === 'string' && parseTraceparent(parent) !== undefined ? parent : undefined, 'consumer',
    { 'cloudevents.event_id': event.id, 'cloudevents.event_type': event.type, ...attributes });
}
