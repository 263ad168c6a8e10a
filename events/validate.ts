// Validators for Mooring's event types (events/schemas/, JSON Schema 2020-12, compiled once with
// ajv on first use). The schemas describe the structured form of an event, so an in-memory event
// is validated through the one JSON event format codec (events/bindings/structured.ts).
// Validate at the boundary (ingress, tests); hot paths build events with events/constructors.ts.

import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import * as formatsModule from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';
import { isValidExtensionName, type CloudEvent } from './cloudevent.ts';
import { toStructured } from './bindings/structured.ts';
import { AuthzEventTypes, EventTypes } from './types.ts';
import { isMooringError, MooringError } from './errors.ts';

const SCHEMA_FILES = [
  'cloudevent', 'defs', 'io.mooring.publish.v1', 'io.drogue.event.v1', 'io.drogue.connection.v1', 'io.mooring.command.v1', 'io.mooring.authz',
] as const;
const BASE = 'https://mooring.dev/schemas/';

/** The schema `$id` each event type is checked against; other types get the CloudEvent schema. */
const SCHEMA_FOR_TYPE: Record<string, string> = {
  [EventTypes.publish]: `${BASE}io.mooring.publish.v1.json`,
  [EventTypes.deviceEvent]: `${BASE}io.drogue.event.v1.json`,
  [EventTypes.connection]: `${BASE}io.drogue.connection.v1.json`,
  [EventTypes.command]: `${BASE}io.mooring.command.v1.json`,
  [AuthzEventTypes.authnRequest]: `${BASE}io.mooring.authz.json#/$defs/authnRequest`,
  [AuthzEventTypes.authzRequest]: `${BASE}io.mooring.authz.json#/$defs/authzRequest`,
  [AuthzEventTypes.authnResponse]: `${BASE}io.mooring.authz.json#/$defs/outcome`,
  [AuthzEventTypes.authzResponse]: `${BASE}io.mooring.authz.json#/$defs/outcome`,
};
const BASE_SCHEMA = `${BASE}cloudevent.json`;

let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

/** The JSON Schemas, by file name (without `.json`). */
export function loadSchemas(): Record<string, object> {
  const out: Record<string, object> = {};
  for (const name of SCHEMA_FILES) {
    out[name] = JSON.parse(readFileSync(new URL(`./schemas/${name}.json`, import.meta.url), 'utf8')) as object;
  }
  return out;
}

function validatorFor(schemaId: string): ValidateFunction {
  let v = compiled.get(schemaId);
  if (v) return v;
  if (!ajv) {
    const fresh = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    (formatsModule as unknown as { default: FormatsPlugin }).default(fresh, ['date-time', 'uri', 'uri-reference']);
    for (const schema of Object.values(loadSchemas())) fresh.addSchema(schema);
    ajv = fresh;
  }
  v = ajv.getSchema(schemaId);
  if (!v) throw new MooringError('MOORING_INTERNAL', `no schema ${schemaId}`);
  compiled.set(schemaId, v);
  return v;
}

export type ValidationResult = { ok: true } | { ok: false; errors: string[] };

function describe(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'allowedValue' in e.params ? ` (${JSON.stringify(e.params.allowedValue)})` : ''}`);
}

/** Validates a structured-mode JSON object against the schema of its `type`. */
export function validateStructured(json: unknown): ValidationResult {
  const type = json !== null && typeof json === 'object' ? (json as { type?: unknown }).type : undefined;
  const v = validatorFor(typeof type === 'string' ? SCHEMA_FOR_TYPE[type] ?? BASE_SCHEMA : BASE_SCHEMA);
  return v(json) ? { ok: true } : { ok: false, errors: describe(v.errors) };
}

/** Validates an in-memory event against the schema of its type (via its structured form). */
export function validateEvent(event: CloudEvent): ValidationResult {
  for (const name of Object.keys(event.extensions)) {
    if (!isValidExtensionName(name)) return { ok: false, errors: [`/${name} is not a valid extension name ([a-z0-9]{1,20}, not a core attribute)`] };
  }
  let json: Record<string, unknown>;
  try {
    json = toStructured(event);
  } catch (e) {
    if (isMooringError(e, 'MOORING_INVALID_EVENT')) return { ok: false, errors: [e.message] };
    throw e;
  }
  return validateStructured(json);
}

/** Throws MOORING_INVALID_EVENT naming every problem when `event` does not match its schema. */
export function assertValidEvent(event: CloudEvent): void {
  const r = validateEvent(event);
  if (!r.ok) throw new MooringError('MOORING_INVALID_EVENT', `invalid ${event.type} event ${event.id}: ${r.errors.join('; ')}`);
}
