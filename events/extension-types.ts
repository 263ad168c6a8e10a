// Which extension attributes Mooring types as integer or boolean. Binary-mode bindings (HTTP
// headers, Kafka headers) carry every attribute as a string, so decoders restore these types;
// without it an event would not survive a hop through HTTP or Kafka unchanged (its schema says
// `qos` is an integer).

import type { ExtensionValue } from './cloudevent.ts';

export type ExtensionType = 'integer' | 'boolean';

/** The MQTT metadata of io.mooring.publish.v1 and the dead letter's `knativeerrorcode` (an HTTP status). */
export const MOORING_TYPED_EXTENSIONS: Readonly<Record<string, ExtensionType>> = {
  qos: 'integer',
  retain: 'boolean',
  payloadformat: 'integer',
  knativeerrorcode: 'integer',
};

const CANONICAL_INT = /^-?(0|[1-9][0-9]{0,9})$/;

/** The typed value of a string-carried extension, when its text is the canonical form; else the text. */
export function restoreExtension(
  name: string,
  value: string,
  types: Readonly<Record<string, ExtensionType>> = MOORING_TYPED_EXTENSIONS,
): ExtensionValue {
  const type = types[name];
  if (type === 'boolean') {
    if (value === 'true') return true;
    if (value === 'false') return false;
  } else if (type === 'integer' && CANONICAL_INT.test(value)) {
    const n = Number(value);
    // CloudEvents integers are 32-bit signed.
    if (n >= -2147483648 && n <= 2147483647) return n;
  }
  return value;
}
