// The one shape of a CloudEvents protocol binding in Mooring: a pair of pure functions between
// the in-memory CloudEvent and a message of headers + body bytes. Every binding (HTTP binary,
// structured and batch; Kafka binary and structured) has it, so callers and the conformance
// tests treat them alike. Decoders accept what their transport hands over (node's header
// object, kafkajs' Buffer headers); encoders produce plain string headers.

import type { CloudEvent } from '../cloudevent.ts';
import { MooringError } from '../errors.ts';
import { isTimestamp, type ExtensionTypes } from './extensions.ts';

/** What an encoder produces: header name → value (lower-case names), and the body bytes. */
export interface Message {
  headers: Record<string, string>;
  body: Buffer;
}

/** `encode(event) → message`, `decode(message) → event`; decode throws MOORING_INVALID_EVENT. */
export interface Binding<Out = Message, In = Out, E = CloudEvent> {
  encode(event: E): Out;
  decode(message: In): E;
}

export interface BindingOptions {
  /** Which extensions are typed (default: Mooring's, events/bindings/extensions.ts). */
  extensionTypes?: ExtensionTypes;
}

/** The in-memory event while a decoder fills it. */
export type MutableEvent = { -readonly [K in keyof CloudEvent]: CloudEvent[K] };

const EMPTY = Buffer.alloc(0);

/** The event's data as a Buffer, without a copy (empty when it has none). */
export function dataBuffer(event: CloudEvent): Buffer {
  const data = event.data;
  return data === undefined ? EMPTY : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function invalid(message: string): MooringError {
  return new MooringError('MOORING_INVALID_EVENT', message);
}

/**
 * The rules every decoder applies to the context attributes it read (CloudEvents 1.0 §3.1):
 * specversion 1.0, non-empty id, source and type, `time` an RFC 3339 timestamp.
 */
export function checkContext(specversion: unknown, id: unknown, source: unknown, type: unknown, time: unknown): void {
  if (specversion === undefined) throw invalid('not a CloudEvent: specversion is missing');
  if (specversion !== '1.0') throw invalid(`unsupported specversion ${JSON.stringify(specversion)} (only 1.0)`);
  if (typeof id !== 'string' || id === '') throw invalid('required attribute id is missing or empty');
  if (typeof source !== 'string' || source === '') throw invalid('required attribute source is missing or empty');
  if (typeof type !== 'string' || type === '') throw invalid('required attribute type is missing or empty');
  if (time !== undefined && (typeof time !== 'string' || !isTimestamp(time))) throw invalid('attribute time is not an RFC 3339 timestamp');
}
