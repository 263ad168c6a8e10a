// The Tracer of functions/ports/tracing.ts on the OpenTelemetry SDK: spans batched and exported
// over OTLP/HTTP (JSON or protobuf, per `protocol`) to the configured endpoint. Created only when
// an endpoint is configured (MOORING_OTLP_ENDPOINT); without one there is no Tracer at all.

import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Tracer as OtelTracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { formatTraceparent, parseTraceparent } from '../../events/trace.ts';
import type { Span, SpanAttributes, Tracer } from '../../functions/ports/tracing.ts';

export interface OtlpOptions {
  /** The OTLP/HTTP traces URL, e.g. `http://collector:4318/v1/traces`. */
  endpoint: string;
  /** `service.name` of the spans. */
  serviceName: string;
  /** Delay between two exports in ms (default 5000). */
  exportIntervalMs?: number;
}

export interface OtlpTracer extends Tracer {
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
  /** Exports what is buffered now. */
  flush(): Promise<void>;
}

const KINDS = { server: SpanKind.SERVER, consumer: SpanKind.CONSUMER, client: SpanKind.CLIENT } as const;

function clean(attributes: SpanAttributes | undefined): Record<string, string | number | boolean> | undefined {
  if (attributes === undefined) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const k in attributes) { const v = attributes[k]; if (v !== undefined) out[k] = v; }
  return out;
}

export function createOtlpTracer(o: OtlpOptions): OtlpTracer {
  const exporter = new OTLPTraceExporter({ url: o.endpoint });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': o.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: o.exportIntervalMs ?? 5000 })],
  });
  const tracer: OtelTracer = provider.getTracer('mooring');
  return {
    start(name, parent, kind, attributes): Span {
      let ctx = ROOT_CONTEXT;
      const p = parent === undefined ? undefined : parseTraceparent(parent);
      if (p !== undefined) {
        ctx = trace.setSpanContext(context.active(), {
          traceId: p.traceId, spanId: p.spanId, isRemote: true,
          // The device's "not sampled" is not followed: Mooring records its own hops.
          traceFlags: TraceFlags.SAMPLED,
        });
      }
      const span = tracer.startSpan(name, { kind: KINDS[kind], attributes: clean(attributes) }, ctx);
      const sc = span.spanContext();
      return {
        traceparent: formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, flags: '01' }),
        end(error) {
          if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
          span.end();
        },
      };
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
