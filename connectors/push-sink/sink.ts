// A push sink: a bus Subscriber that POSTs each event to an application's endpoint
// (`spec.knative.endpoint`) as a binary-mode CloudEvent. It holds at most `maxInFlight` requests;
// further calls wait their turn in arrival order. Retry, backoff and dead-lettering are the bus's
// (Knative delivery spec, isRetriableStatus); per-device order holds because the bus delivers
// each partitionkey serially and this queue is FIFO.

import { traceIdOf } from '../../events/trace.ts';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { type Subscriber } from '../../functions/ports/bus.ts';
import type { Application, ApplicationSpec, RegistryReader } from '../../functions/ports/registry.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { deliveryFailed, MooringError } from '../../events/errors.ts';
import { parseDuration } from './duration.ts';
import { HttpTransport, redactUrl } from './transport.ts';

export type PushEndpoint = NonNullable<NonNullable<ApplicationSpec['knative']>['endpoint']>;

export interface PushSinkOptions {
  endpoint: PushEndpoint;
  /** Requests at once (default 16). */
  maxInFlight?: number;
  logger?: Logger;
  /** Share one transport (connection pool) between sinks; default: the sink's own, closed with it. */
  transport?: HttpTransport;
  /** Used when the endpoint sets no timeout (default 30 s). */
  defaultTimeoutMs?: number;
}

export type PushSink = Subscriber & {
  readonly inFlight: number;
  readonly queued: number;
  /** Refuses new deliveries, waits for those in flight, closes its own transport. */
  close(): Promise<void>;
};

export function createPushSink(opts: PushSinkOptions): PushSink {
  let url: URL;
  try {
    url = new URL(opts.endpoint.url);
  } catch {
    throw new MooringError('MOORING_INVALID_CONFIG', `push endpoint URL is invalid: ${JSON.stringify(opts.endpoint.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MooringError('MOORING_INVALID_CONFIG', `push endpoint must be http or https: ${redactUrl(url)}`);
  }
  const timeoutMs = opts.endpoint.timeout === undefined ? opts.defaultTimeoutMs ?? 30_000 : parseDuration(opts.endpoint.timeout);
  if (timeoutMs === undefined) throw new MooringError('MOORING_INVALID_CONFIG', `push endpoint timeout is not a duration: ${JSON.stringify(opts.endpoint.timeout)}`);
  const maxInFlight = Math.max(1, opts.maxInFlight ?? 16);
  const ownTransport = opts.transport === undefined;
  const transport = opts.transport ?? new HttpTransport({ maxSockets: maxInFlight, logger: opts.logger });
  const logger = (opts.logger ?? silentLogger).child({ endpoint: redactUrl(url) });
  const sendOpts = { headers: { ...opts.endpoint.headers }, timeoutMs };

  let inFlight = 0;
  let closed = false;
  const waiting: Array<() => void> = [];
  const idle: Array<() => void> = [];

  const release = () => {
    const next = waiting.shift();
    if (next) { next(); return; } // the slot passes straight to the next caller
    inFlight--;
    if (inFlight === 0) for (const done of idle.splice(0)) done();
  };

  const deliver = async (event: CloudEvent): Promise<CloudEvent | undefined> => {
    if (closed) throw deliveryFailed('push sink is closed');
    if (inFlight < maxInFlight) inFlight++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await transport.send(url, event, sendOpts);
    } catch (err) {
      logger.debug({ id: event.id, trace: traceIdOf(event), status: (err as MooringError).upstreamStatus, err: (err as Error).message }, 'push delivery failed');
      throw err;
    } finally {
      release();
    }
  };

  return Object.defineProperties(deliver, {
    inFlight: { get: () => inFlight },
    queued: { get: () => waiting.length },
    close: {
      value: async () => {
        closed = true;
        if (inFlight > 0) await new Promise<void>((resolve) => idle.push(resolve));
        if (ownTransport) transport.close();
      },
    },
  }) as PushSink;
}

/** The endpoint an application wants its stream pushed to: enabled, not being deleted, with `spec.knative.endpoint.url`. */
export function pushEndpointOf(app: Application): PushEndpoint | undefined {
  const endpoint = app.spec.knative?.endpoint;
  if (!endpoint?.url || app.spec.core?.disabled || app.metadata.deletionTimestamp) return undefined;
  return endpoint;
}

/**
 * The endpoint's timeout as the ISO 8601 duration of its push Trigger's `delivery.timeout`
 * (AppTriggerValues.timeout); undefined when it sets none or an invalid one (the sink refuses that).
 */
export function triggerTimeoutOf(endpoint: PushEndpoint): string | undefined {
  if (endpoint.timeout === undefined) return undefined;
  const ms = parseDuration(endpoint.timeout);
  return ms === undefined || ms <= 0 ? undefined : `PT${ms / 1000}S`;
}

/** The applications that want push delivery (pushEndpointOf). */
export async function pushTargetsFromRegistry(registry: RegistryReader): Promise<Array<{ application: string; endpoint: PushEndpoint }>> {
  const targets: Array<{ application: string; endpoint: PushEndpoint }> = [];
  for (const app of await registry.listApplications()) {
    const endpoint = pushEndpointOf(app);
    if (endpoint) targets.push({ application: app.metadata.name, endpoint });
  }
  return targets;
}
