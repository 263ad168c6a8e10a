// The OTLP tracer of a process, when MOORING_OTLP_ENDPOINT is configured (connectors/tracing,
// docs/metrics.md#tracing). Without an endpoint the OpenTelemetry SDK is not even loaded.

import type { Config } from './config.ts';
import type { Tracer } from '../functions/ports/tracing.ts';

/** The process's tracer, or undefined without an endpoint; its shutdown (exporting what is buffered) joins `closers`. */
export async function openTracer(config: Readonly<Config>, serviceName: string, closers: Array<() => Promise<void>>): Promise<Tracer | undefined> {
  if (config.otlpEndpoint === undefined) return undefined;
  const { createOtlpTracer } = await import('../connectors/tracing/index.ts');
  const tracer = createOtlpTracer({ endpoint: config.otlpEndpoint, serviceName });
  closers.push(() => tracer.shutdown());
  return tracer;
}
