// W3C Trace Context (https://www.w3.org/TR/trace-context/) as the CloudEvents distributed tracing
// extension: an event carries `traceparent` (`00-<trace id>-<parent id>-<flags>`) from the
// device's publish to the application. The ingress reads the device's value (an MQTT 5 user
// property or an HTTP header) when it is valid, else starts a new trace; every hop after that only
// carries the extension on. Hot path: ids come from a pooled random buffer, no regex per event.

import { randomFillSync } from 'node:crypto';
import type { CloudEvent } from './cloudevent.ts';

/** The extension (and the HTTP header, the MQTT 5 user property) carrying the trace context. */
export const TRACEPARENT = 'traceparent';

export interface TraceContext {
  /** 32 lower-case hex digits, not all zero. */
  traceId: string;
  /** 16 lower-case hex digits, not all zero: the span the event was produced in. */
  spanId: string;
  /** Two hex digits; bit 0 is "sampled". */
  flags: string;
}

const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let used = POOL_SIZE;

/** `bytes` random bytes as lower-case hex, from a pool refilled 8 KiB at a time. */
function randomHex(bytes: number): string {
  if (used + bytes > POOL_SIZE) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** A new span id (16 hex digits, never all zero). */
export function newSpanId(): string {
  let id = randomHex(8);
  while (id === ZERO_SPAN) id = randomHex(8);
  return id;
}

/** A new trace id (32 hex digits, never all zero). */
export function newTraceId(): string {
  let id = randomHex(16);
  while (id === ZERO_TRACE) id = randomHex(16);
  return id;
}

/** The traceparent of a new, sampled trace. */
export function newTraceparent(): string {
  const hex = randomHex(24);
  if (hex.startsWith(ZERO_TRACE) || hex.endsWith(ZERO_SPAN)) return `00-${newTraceId()}-${newSpanId()}-01`;
  return `00-${hex.slice(0, 32)}-${hex.slice(32)}-01`;
}

/** A traceparent from its parts (version 00). */
export function formatTraceparent(c: TraceContext): string {
  return `00-${c.traceId}-${c.spanId}-${c.flags}`;
}

// version-traceid-parentid-flags; a later version (not ff) may carry more after a `-`.
const TRACEPARENT_FORM = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The trace context of a `traceparent` value, or undefined when it is not valid (§3.2): version
 * two hex digits other than `ff`; version 00 is exactly 55 characters, a later version may carry
 * more after a `-`; trace id and parent id lower-case hex and not all zero.
 */
export function parseTraceparent(value: unknown): TraceContext | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT_FORM.exec(value);
  if (m === null || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return undefined;
  const traceId = m[2]!;
  const spanId = m[3]!;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags: m[4]! };
}

/** True for a valid version-00 traceparent (the form Mooring writes), without allocating. */
export function isTraceparent(value: unknown): value is string {
  return typeof value === 'string' && value.length === 55 && TRACEPARENT_FORM.test(value)
    && value.startsWith('00') && !value.startsWith(ZERO_TRACE, 3) && !value.startsWith(ZERO_SPAN, 36);
}

/**
 * The traceparent an ingress puts on a device's event: the device's own when valid (as version
 * 00), else a new trace. `given` may be an MQTT user property's value(s) or an HTTP header's.
 */
export function ingressTraceparent(given: string | readonly string[] | undefined): string {
  const one = Array.isArray(given) ? given[0] : given;
  if (one !== undefined) {
    if (isTraceparent(one)) return one;
    const c = parseTraceparent(one);
    if (c !== undefined) return formatTraceparent(c);
  }
  return newTraceparent();
}

/** The trace id of an event, when it carries a valid traceparent. */
export function traceIdOf(event: CloudEvent): string | undefined {
  const v = event.extensions[TRACEPARENT];
  // Cheap path: a well-formed value is taken by position; parseTraceparent only for odd ones.
  if (typeof v === 'string' && v.length === 55 && v[2] === '-') return v.slice(3, 35);
  return parseTraceparent(v)?.traceId;
}
