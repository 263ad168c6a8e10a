// What the registry routes read and write: request bodies checked as Drogue's serde types would
// (metadata with deny_unknown_fields, spec and status free-form objects) and resources written in
// Drogue's JSON (no `kind`; empty uid, resourceVersion, labels, annotations, finalizers, spec and
// status omitted; generation always present).

import type { Application, ApplicationInput, Device, DeviceInput, Metadata, Preconditions } from '../../functions/ports/registry.ts';
import { apiError } from '../errors.ts';

const APP_METADATA = new Set(['name', 'uid', 'creationTimestamp', 'generation', 'resourceVersion', 'deletionTimestamp', 'finalizers', 'labels', 'annotations']);
const DEVICE_METADATA = new Set([...APP_METADATA, 'application']);

function invalid(message: string): never {
  throw apiError('MOORING_INVALID_REQUEST', `Json deserialize error: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) invalid(`metadata.${field} must map strings to strings`);
  return v as Record<string, string>;
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') invalid(`metadata.${field} must be a string`);
  return v;
}

function metadataOf(body: Record<string, unknown>, allowed: Set<string>): Metadata {
  const m = body.metadata;
  if (!isObject(m)) invalid('missing field `metadata`');
  for (const key of Object.keys(m)) if (!allowed.has(key)) invalid(`unknown field \`${key}\` in metadata`);
  if (typeof m.name !== 'string') invalid('missing field `name` in metadata');
  if (m.generation !== undefined && m.generation !== null && !Number.isSafeInteger(m.generation)) invalid('metadata.generation must be an integer');
  if (m.finalizers !== undefined && m.finalizers !== null
    && (!Array.isArray(m.finalizers) || m.finalizers.some((f) => typeof f !== 'string'))) invalid('metadata.finalizers must be a list of strings');
  const out: Metadata = { name: m.name };
  const application = optionalString(m.application, 'application');
  if (application !== undefined) out.application = application;
  for (const key of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'] as const) {
    const v = optionalString(m[key], key);
    if (v !== undefined) out[key] = v;
  }
  const labels = stringMap(m.labels, 'labels');
  if (labels) out.labels = labels;
  const annotations = stringMap(m.annotations, 'annotations');
  if (annotations) out.annotations = annotations;
  if (Array.isArray(m.finalizers)) out.finalizers = m.finalizers as string[];
  if (typeof m.generation === 'number') out.generation = m.generation;
  return out;
}

function objectField(body: Record<string, unknown>, key: 'spec' | 'status'): Record<string, unknown> | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) invalid(`\`${key}\` must be a JSON object`);
  return v;
}

export function applicationInput(body: Record<string, unknown>): ApplicationInput {
  const input: ApplicationInput = { metadata: metadataOf(body, APP_METADATA) };
  const spec = objectField(body, 'spec');
  if (spec) input.spec = spec;
  const status = objectField(body, 'status');
  if (status) input.status = status;
  return input;
}

export function deviceInput(body: Record<string, unknown>): DeviceInput {
  const metadata = metadataOf(body, DEVICE_METADATA);
  const input: DeviceInput = { metadata: { ...metadata, application: metadata.application ?? '' } };
  const spec = objectField(body, 'spec');
  if (spec) input.spec = spec;
  const status = objectField(body, 'status');
  if (status) input.status = status;
  return input;
}

/** DELETE's `{"preconditions": {"uid", "resourceVersion"}}`; anything else means none. */
export function preconditionsOf(body: unknown): Preconditions | undefined {
  if (!isObject(body) || !isObject(body.preconditions)) return undefined;
  const p: Preconditions = {};
  if (typeof body.preconditions.uid === 'string' && body.preconditions.uid !== '') p.uid = body.preconditions.uid;
  if (typeof body.preconditions.resourceVersion === 'string' && body.preconditions.resourceVersion !== '') p.resourceVersion = body.preconditions.resourceVersion;
  return p;
}

/** RFC 1123 host name of lower-case labels: Drogue's rule for application names. */
export function isValidApplicationName(name: string): boolean {
  if (name === '' || name.length > 253) return false;
  return name.split('.').every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l));
}

function empty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return isObject(v) && Object.keys(v).length === 0;
}

function wireMetadata(m: Metadata): Record<string, unknown> {
  const out: Record<string, unknown> = { name: m.name };
  if (m.application !== undefined) out.application = m.application;
  if (!empty(m.uid)) out.uid = m.uid;
  if (m.creationTimestamp !== undefined) out.creationTimestamp = m.creationTimestamp;
  out.generation = m.generation ?? 0;
  if (!empty(m.resourceVersion)) out.resourceVersion = m.resourceVersion;
  if (!empty(m.deletionTimestamp)) out.deletionTimestamp = m.deletionTimestamp;
  if (!empty(m.finalizers)) out.finalizers = m.finalizers;
  if (!empty(m.labels)) out.labels = m.labels;
  if (!empty(m.annotations)) out.annotations = m.annotations;
  return out;
}

/** The resource as Drogue's API writes it. */
export function toWire(r: Application | Device): Record<string, unknown> {
  const out: Record<string, unknown> = { metadata: wireMetadata(r.metadata) };
  if (!empty(r.spec)) out.spec = r.spec;
  if (!empty(r.status)) out.status = r.status;
  return out;
}
