// The one rule every binding applies to extension attributes. CloudEvents 1.0 §3.1.1 (type
// system): an extension is a Boolean, an Integer (32-bit signed), a String, or a String-carried
// kind such as Timestamp. Binary modes (HTTP and Kafka headers) carry every value as text, the
// JSON event format carries booleans and integers natively; Mooring knows the types of its own
// extensions from one table, so an event survives any hop unchanged and a value of the wrong type
// is refused the same way (MOORING_INVALID_EVENT, same message) by every binding.

import type { ExtensionValue } from '../cloudevent.ts';
import { MooringError } from '../errors.ts';

export type ExtensionType = 'integer' | 'boolean' | 'timestamp';
export type ExtensionTypes = Readonly<Record<string, ExtensionType>>;

/** The MQTT metadata of io.mooring.publish.v1 and the dead letter's `knativeerrorcode` (an HTTP status). */
export const MOORING_TYPED_EXTENSIONS: ExtensionTypes = {
  qos: 'integer',
  retain: 'boolean',
  payloadformat: 'integer',
  knativeerrorcode: 'integer',
};

// §3.1.1 Integer: "A whole number in the range -2,147,483,648 to +2,147,483,647 inclusive",
// canonical string form: no leading zeros, no plus sign.
const CANONICAL_INT = /^-?(0|[1-9][0-9]{0,9})$/;
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
// §3.1.1 Timestamp: RFC 3339 date-time.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

let lastTimestamp = '';

/**
 * True for an RFC 3339 date-time (the Timestamp type, and the `time` attribute). The last valid
 * value is remembered: events of one millisecond share their `time` (events/time.ts).
 */
export function isTimestamp(value: string): boolean {
  if (value === lastTimestamp) return true;
  if (!RFC3339.test(value) || Number.isNaN(Date.parse(value))) return false;
  lastTimestamp = value;
  return true;
}

function isInteger(n: number): boolean {
  return Number.isInteger(n) && n >= INT_MIN && n <= INT_MAX;
}

function wrongType(name: string, type: string, value: unknown): MooringError {
  return new MooringError('MOORING_INVALID_EVENT', `extension ${name} must be ${type}, got ${JSON.stringify(value)}`);
}

/**
 * The value of an extension read as text (a binary-mode header). A typed extension must be in
 * its canonical string form (`1`, `true`, an RFC 3339 timestamp); any other extension stays text.
 * Throws MOORING_INVALID_EVENT for a typed extension whose text is not of its type.
 */
export function extensionFromText(name: string, text: string, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS): ExtensionValue {
  const type = types[name];
  if (type === undefined) return text;
  if (type === 'boolean') {
    if (text === 'true') return true;
    if (text === 'false') return false;
    throw wrongType(name, 'a boolean', text);
  }
  if (type === 'integer') {
    if (CANONICAL_INT.test(text)) {
      const n = Number(text);
      if (n >= INT_MIN && n <= INT_MAX) return n;
    }
    throw wrongType(name, 'an integer', text);
  }
  if (!isTimestamp(text)) throw wrongType(name, 'an RFC 3339 timestamp', text);
  return text;
}

/**
 * The value of an extension read from the JSON event format. Untyped extensions may be a string,
 * a boolean or a 32-bit integer; a typed one must be its JSON type or its canonical text (the
 * same rule as extensionFromText). Throws MOORING_INVALID_EVENT otherwise.
 */
export function extensionFromJson(name: string, value: unknown, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS): ExtensionValue {
  if (typeof value === 'string') return extensionFromText(name, value, types);
  const type = types[name];
  if (typeof value === 'boolean') {
    if (type === undefined || type === 'boolean') return value;
  } else if (typeof value === 'number') {
    if ((type === undefined || type === 'integer') && isInteger(value)) return value;
  }
  throw wrongType(name, type === undefined ? 'a string, a boolean or a 32-bit integer'
    : type === 'timestamp' ? 'an RFC 3339 timestamp' : `a${type === 'integer' ? 'n' : ''} ${type}`, value);
}

/**
 * Checks an in-memory extension value against the table before it is encoded, so an encoder
 * never writes what its decoder would refuse. Returns its canonical text.
 */
export function extensionText(name: string, value: ExtensionValue, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS): string {
  if (typeof value === 'string' && types[name] === undefined) return value;
  return String(extensionFromJson(name, value, types));
}
