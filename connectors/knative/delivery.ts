// Knative's delivery policy (duck DeliverySpec) as plain functions, shared by every EventBus
// adapter: ISO-8601 durations, the backoff of retry n, one event's delivery with retries and a
// per-attempt timeout, and the dead-letter form of an event that could not be delivered.
// Sleep and abort are injected so tests run without real waiting.

import type { CloudEvent } from '../../events/cloudevent.ts';
import { withAttributes } from '../../events/cloudevent.ts';
import { deliveryFailed, isMooringError } from '../../events/errors.ts';
import {
  isRetriableStatus,
  type DeliverySpec, type Destination, type Subscriber, type TriggerSpec,
} from '../../functions/ports/bus.ts';

// ISO-8601 durations live in events/duration.ts (the command TTL reads them too).
export { parseIsoDuration, tryParseIsoDuration } from '../../events/duration.ts';
import { parseIsoDuration } from '../../events/duration.ts';

/** A DeliverySpec resolved once per trigger. */
export interface DeliveryPolicy {
  /** Retries after the first attempt. */
  readonly retry: number;
  readonly backoffPolicy: 'linear' | 'exponential';
  readonly backoffDelayMs: number;
  /** Per-attempt timeout; undefined = none. */
  readonly timeoutMs: number | undefined;
}

/**
 * Knative defaults: no delivery spec means one attempt; a backoffPolicy left out is exponential
 * (eventing-kafka-broker: `Exponential, UNRECOGNIZED`); no backoffDelay means no wait.
 */
export function compileDelivery(spec: DeliverySpec | undefined): DeliveryPolicy {
  const retry = spec?.retry ?? 0;
  if (!Number.isInteger(retry) || retry < 0) throw new Error(`delivery.retry must be a non-negative integer, got ${retry}`);
  const policy = spec?.backoffPolicy ?? 'exponential';
  if (policy !== 'linear' && policy !== 'exponential') throw new Error(`delivery.backoffPolicy must be linear or exponential, got ${String(policy)}`);
  return {
    retry,
    backoffPolicy: policy,
    backoffDelayMs: spec?.backoffDelay === undefined ? 0 : parseIsoDuration(spec.backoffDelay),
    timeoutMs: spec?.timeout === undefined ? undefined : parseIsoDuration(spec.timeout),
  };
}

/**
 * The wait before retry `n` (1 = the first retry). Trigger CRD, delivery.backoffDelay: "For linear
 * policy, backoff delay is backoffDelay*<numberOfRetries>. For exponential policy, backoff delay
 * is backoffDelay*2^<numberOfRetries>."
 */
export function backoffDelay(policy: Pick<DeliveryPolicy, 'backoffPolicy' | 'backoffDelayMs'>, n: number): number {
  return policy.backoffPolicy === 'linear' ? policy.backoffDelayMs * n : policy.backoffDelayMs * 2 ** n;
}

export type DeliveryOutcome =
  | { readonly delivered: true; readonly reply: CloudEvent | CloudEvent[] | undefined; readonly attempts: number }
  | {
    readonly delivered: false;
    /** The status of the last attempt; undefined for a network error or timeout. */
    readonly status: number | undefined;
    readonly lastError: unknown;
    readonly attempts: number;
    /** True when the signal stopped the retries: the event is neither delivered nor dead. */
    readonly aborted: boolean;
  };

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** setTimeout as a promise; resolves early (not rejects) when the signal aborts. */
export const realSleep: Sleep = (ms, signal) => new Promise<void>((resolve) => {
  if (ms <= 0 || signal?.aborted) { resolve(); return; }
  const onAbort = (): void => { clearTimeout(timer); resolve(); };
  const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
  signal?.addEventListener('abort', onAbort, { once: true });
});

export interface DeliverOptions {
  sleep?: Sleep;
  /** Stops further retries (not the attempt in flight); the outcome is then `aborted`. */
  signal?: AbortSignal;
}

/**
 * The status a subscriber's rejection stands for: what it answered (MOORING_DELIVERY_FAILED), the
 * registry's status for another MooringError, else none (a network error: retriable).
 */
export function failureStatus(error: unknown): number | undefined {
  if (isMooringError(error, 'MOORING_DELIVERY_FAILED')) return error.upstreamStatus;
  if (isMooringError(error)) return error.status;
  return undefined;
}

/** The response body a subscriber's rejection carries, if any. */
export function failureData(error: unknown): Uint8Array | undefined {
  return isMooringError(error) ? error.data : undefined;
}

/**
 * Delivers one event: up to 1 + retry attempts while failures are retriable (Knative data-plane
 * spec: 5xx, 404, 408, 409, 429 and network errors), sleeping the backoff between attempts.
 * A non-retriable failure ends at once. Never throws.
 */
export async function deliverWithRetry(
  event: CloudEvent,
  subscriber: Subscriber,
  policy: DeliveryPolicy,
  options: DeliverOptions = {},
): Promise<DeliveryOutcome> {
  const sleep = options.sleep ?? realSleep;
  const signal = options.signal;
  let attempts = 0;
  for (;;) {
    attempts++;
    let error: unknown;
    try {
      const reply = policy.timeoutMs === undefined
        ? await subscriber(event)
        : await withTimeout(subscriber(event), policy.timeoutMs);
      return { delivered: true, reply, attempts };
    } catch (e) {
      error = e;
    }
    const status = failureStatus(error);
    if (!isRetriableStatus(status) || attempts > policy.retry) {
      return { delivered: false, status, lastError: error, attempts, aborted: false };
    }
    if (signal?.aborted) return { delivered: false, status, lastError: error, attempts, aborted: true };
    await sleep(backoffDelay(policy, attempts), signal);
    if (signal?.aborted) return { delivered: false, status, lastError: error, attempts, aborted: true };
  }
}

/** The attempt's outcome, or a MOORING_DELIVERY_FAILED after `ms` (one promise, no race/finally chain per attempt). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(deliveryFailed(`no answer within ${ms} ms`)), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e); });
  });
}

/** Knative's limit on `knativeerrordata` (eventing pkg/channel/attributes). */
export const KNATIVE_ERROR_DATA_MAX = 1024;

export interface DeliveryFailure {
  /** The HTTP (or function) status of the last attempt; undefined for a network error. */
  status?: number | undefined;
  /** The response body of the last attempt, if any. */
  data?: Uint8Array | string | undefined;
}

/**
 * The event as the dead-letter sink receives it: Knative adds `knativeerrordest` (the subscriber's
 * address), `knativeerrorcode` (the response status, when there was a response) and
 * `knativeerrordata` (the response body, base64, at most 1024 characters, when there was one).
 */
export function deadLetterEvent(event: CloudEvent, failure: DeliveryFailure, destination: string): CloudEvent {
  const extensions: Record<string, string | number | undefined> = { knativeerrordest: destination };
  if (failure.status !== undefined) extensions.knativeerrorcode = failure.status;
  if (failure.data !== undefined && failure.data.length > 0) {
    const bytes = typeof failure.data === 'string' ? Buffer.from(failure.data, 'utf8') : Buffer.from(failure.data);
    extensions.knativeerrordata = bytes.toString('base64').slice(0, KNATIVE_ERROR_DATA_MAX);
  }
  return withAttributes(event, { extensions });
}

/**
 * The address Knative would resolve a Destination to, for `knativeerrordest` and logs: the URI,
 * or `http://{name}.{namespace}.svc.cluster.local` for a referenced addressable.
 */
export function destinationAddress(destination: Destination, trigger: Pick<TriggerSpec, 'namespace'>): string {
  if (destination.uri !== undefined && destination.ref === undefined) return destination.uri;
  if (destination.ref) {
    const base = `http://${destination.ref.name}.${destination.ref.namespace ?? trigger.namespace}.svc.cluster.local`;
    return destination.uri === undefined ? base : new URL(destination.uri, `${base}/`).toString();
  }
  return '';
}
