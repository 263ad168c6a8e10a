// Validators for Mooring's event types (events/schemas/, JSON Schema 2020-12, compiled once with
// ajv on first use) and the structured-mode JSON converters (CloudEvents JSON format §3): context
// attributes flat, `data` as JSON when the content type is JSON, else `data_base64`.
// Validate at the boundary (ingress, tests); hot paths build events with events/constructors.ts.

import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import * as formatsModule from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';
import { CORE_ATTRIBUTES, isValidExtensionName, type CloudEvent, type ExtensionValue } from './cloudevent.ts';
import { isJsonContentType } from './media.ts';
import { AuthzEventTypes, EventTypes } from './types.ts';
import { MooringError } from './errors.ts';

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
  return validateStructured(toStructured(event));
}

/** Throws MOORING_INVALID_EVENT naming every problem when `event` does not match its schema. */
export function assertValidEvent(event: CloudEvent): void {
  const r = validateEvent(event);
  if (!r.ok) throw new MooringError('MOORING_INVALID_EVENT', `invalid ${event.type} event ${event.id}: ${r.errors.join('; ')}`);
}

export type StructuredEvent = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The structured-mode JSON object of an event. Data whose content type is JSON and which parses
 * goes in `data` as JSON; any other data goes in `data_base64`.
 */
export function toStructured(event: CloudEvent): StructuredEvent {
  const out: StructuredEvent = {};
  for (const name of CORE_ATTRIBUTES) {
    const v = event[name];
    if (v !== undefined) out[name] = v;
  }
  for (const [k, v] of Object.entries(event.extensions)) out[k] = v;
  if (event.data !== undefined) {
    let json: { value: unknown } | undefined;
    if (event.datacontenttype !== undefined && isJsonContentType(event.datacontenttype)) {
      try {
        json = { value: JSON.parse(utf8.decode(event.data)) };
      } catch {
        json = undefined;
      }
    }
    if (json) out.data = json.value;
    else out.data_base64 = Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength).toString('base64');
  }
  return out;
}

function invalid(message: string): MooringError {
  return new MooringError('MOORING_INVALID_EVENT', message);
}

/**
 * Reads a structured-mode JSON object (already parsed) into an event. Checks the CloudEvents
 * envelope (required attributes, extension names and value types); the type's own schema is
 * `validateStructured`'s job. `data` that is a string under a non-JSON content type is taken as
 * UTF-8 text; other `data` is serialized as JSON. Throws MOORING_INVALID_EVENT.
 */
export function fromStructured(json: unknown): CloudEvent {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalid('a structured CloudEvent must be a JSON object');
  const src = json as Record<string, unknown>;
  if (src.specversion !== '1.0') throw invalid(`unsupported specversion ${JSON.stringify(src.specversion)}`);
  const core: Record<string, string> = {};
  for (const name of CORE_ATTRIBUTES) {
    if (name === 'specversion') continue;
    const v = src[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw invalid(`attribute ${name} must be a string`);
    core[name] = v;
  }
  for (const name of ['id', 'source', 'type'] as const) {
    if (!core[name]) throw invalid(`required attribute ${name} is missing or empty`);
  }
  const extensions: Record<string, ExtensionValue> = {};
  for (const [k, v] of Object.entries(src)) {
    if ((CORE_ATTRIBUTES as readonly string[]).includes(k) || k === 'data' || k === 'data_base64') continue;
    if (!isValidExtensionName(k)) throw invalid(`invalid extension name ${JSON.stringify(k)} (must match [a-z0-9]{1,20})`);
    if (v === null || v === undefined) continue;
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v))) extensions[k] = v;
    else throw invalid(`extension ${k} must be a string, an integer or a boolean`);
  }
  let data: Uint8Array | undefined;
  if (src.data_base64 !== undefined && src.data_base64 !== null) {
    if (src.data !== undefined) throw invalid('data and data_base64 are mutually exclusive');
    if (typeof src.data_base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(src.data_base64)) throw invalid('data_base64 must be base64');
    data = Buffer.from(src.data_base64, 'base64');
  } else if (src.data !== undefined) {
    const ct = core.datacontenttype;
    if (typeof src.data === 'string' && ct !== undefined && !isJsonContentType(ct)) data = Buffer.from(src.data, 'utf8');
    else data = Buffer.from(JSON.stringify(src.data), 'utf8');
  }
  const event: { -readonly [K in keyof CloudEvent]: CloudEvent[K] } = {
    specversion: '1.0',
    id: core.id!,
    source: core.source!,
    type: core.type!,
    extensions,
  };
  if (core.subject !== undefined) event.subject = core.subject;
  if (core.time !== undefined) event.time = core.time;
  if (core.dataschema !== undefined) event.dataschema = core.dataschema;
  if (core.datacontenttype !== undefined) event.datacontenttype = core.datacontenttype;
  else if (src.data !== undefined && src.data_base64 === undefined) event.datacontenttype = 'application/json';
  if (data !== undefined) event.data = data;
  return event;
}
