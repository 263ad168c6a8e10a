// The CloudEvents Kafka protocol binding (cloudevents/spec kafka-protocol-binding.md), binary
// content mode: context attributes as `ce_<name>` headers, `datacontenttype` as `content-type`,
// the data bytes as the record value, `partitionkey` as the record key. Pure functions, no copies
// of the payload. Decoding takes kafkajs' Buffer headers (and strings), and structured-mode
// records (`content-type: application/cloudevents+json`) for interoperability.
//
// Type mapping (§3.1 of the binding: every attribute is a UTF-8 string on the wire): integer
// and boolean extensions are written in their canonical string form and come back as strings,
// except the extensions named in `typedExtensions` (default: Mooring's own integer/boolean
// extensions), which are restored when the string is canonical ("1", "true"). A consumer that
// needs other types back must know them, as with the HTTP binding.

import { MOORING_TYPED_EXTENSIONS, restoreExtension, type ExtensionType } from '../../events/extension-types.ts';
import type { CloudEvent, ExtensionValue } from '../../events/cloudevent.ts';
import { isValidExtensionName } from '../../events/cloudevent.ts';
import { MooringError } from '../../events/errors.ts';

/** What kafkajs hands a consumer (and takes from a producer) for one record. */
export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export interface KafkaRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, HeaderValue>;
}
/** An encoded record, ready for kafkajs `producer.send({ messages })`. */
export interface EncodedRecord {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export { MOORING_TYPED_EXTENSIONS, type ExtensionType } from '../../events/extension-types.ts';

const PREFIX = 'ce_';
const CONTENT_TYPE = 'content-type';
const STRUCTURED = 'application/cloudevents';
/** Header names of the core attributes carried as `ce_*` (datacontenttype rides in content-type). */
const CORE_HEADERS = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'dataschema'] as const;

/**
 * Binary mode (§3.2.2): `ce_<attr>` headers, `content-type`, key = partitionkey. The
 * partitionkey is also written as `ce_partitionkey`, so header-only readers see it (as Drogue did).
 */
export function encodeBinary(event: CloudEvent): EncodedRecord {
  const headers: Record<string, string> = {
    ce_specversion: event.specversion,
    ce_id: event.id,
    ce_source: event.source,
    ce_type: event.type,
  };
  if (event.subject !== undefined) headers.ce_subject = event.subject;
  if (event.time !== undefined) headers.ce_time = event.time;
  if (event.dataschema !== undefined) headers.ce_dataschema = event.dataschema;
  if (event.datacontenttype !== undefined) headers[CONTENT_TYPE] = event.datacontenttype;
  for (const name in event.extensions) {
    headers[PREFIX + name] = String(event.extensions[name]);
  }
  const pk = event.extensions.partitionkey;
  const data = event.data;
  return {
    key: pk === undefined ? null : String(pk),
    value: data === undefined ? null : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    headers,
  };
}

function headerString(v: HeaderValue): string | undefined {
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.toString('utf8');
}

function invalid(message: string): MooringError {
  return new MooringError('MOORING_INVALID_EVENT', `Kafka record: ${message}`);
}

/**
 * The CloudEvent in a record (binary or structured mode). Throws MOORING_INVALID_EVENT when a
 * required attribute is missing or the spec version is not 1.0. Header names are matched
 * case-insensitively; `ce_` headers that are not valid extension names are ignored.
 */
export function decodeRecord(
  record: KafkaRecord,
  typedExtensions: Readonly<Record<string, ExtensionType>> = MOORING_TYPED_EXTENSIONS,
): CloudEvent {
  const headers = record.headers ?? {};
  let contentType: string | undefined;
  const attrs: Record<string, string> = {};
  for (const rawName in headers) {
    const name = rawName.toLowerCase();
    if (name === CONTENT_TYPE) contentType = headerString(headers[rawName]);
    else if (name.startsWith(PREFIX)) {
      const v = headerString(headers[rawName]);
      if (v !== undefined) attrs[name.slice(PREFIX.length)] = v;
    }
  }
  if (contentType !== undefined && contentType.toLowerCase().startsWith(STRUCTURED)) {
    return decodeStructured(record, typedExtensions);
  }

  const { specversion, id, source, type } = attrs;
  if (specversion === undefined) throw invalid('no ce_specversion header');
  if (specversion !== '1.0') throw invalid(`unsupported specversion ${specversion}`);
  if (!id || !source || !type) throw invalid('ce_id, ce_source and ce_type are required');

  const extensions: Record<string, ExtensionValue> = {};
  for (const name in attrs) {
    if ((CORE_HEADERS as readonly string[]).includes(name) || !isValidExtensionName(name)) continue;
    extensions[name] = restoreExtension(name, attrs[name]!, typedExtensions);
  }
  if (extensions.partitionkey === undefined && record.key !== undefined && record.key !== null) {
    extensions.partitionkey = typeof record.key === 'string' ? record.key : record.key.toString('utf8');
  }
  const value = record.value;
  const event: Mutable<CloudEvent> = { specversion: '1.0', id, source, type, extensions };
  if (attrs.subject !== undefined) event.subject = attrs.subject;
  if (attrs.time !== undefined) event.time = attrs.time;
  if (attrs.dataschema !== undefined) event.dataschema = attrs.dataschema;
  if (contentType !== undefined) event.datacontenttype = contentType;
  if (value !== null && value !== undefined) {
    event.data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  }
  return event;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Structured mode (§3.2.3): the value is the JSON event format; `data_base64` or `data`. */
function decodeStructured(record: KafkaRecord, typedExtensions: Readonly<Record<string, ExtensionType>>): CloudEvent {
  let json: unknown;
  try {
    const v = record.value;
    json = JSON.parse(v === null ? 'null' : typeof v === 'string' ? v : v.toString('utf8'));
  } catch (e) {
    throw invalid(`structured event does not parse: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('structured event is not an object');
  const o = json as Record<string, unknown>;
  if (o.specversion !== '1.0') throw invalid(`unsupported specversion ${String(o.specversion)}`);
  for (const k of ['id', 'source', 'type'] as const) {
    if (typeof o[k] !== 'string' || o[k] === '') throw invalid(`${k} is required`);
  }
  const event: Mutable<CloudEvent> = {
    specversion: '1.0', id: o.id as string, source: o.source as string, type: o.type as string, extensions: {},
  };
  const extensions: Record<string, ExtensionValue> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'subject' || k === 'time' || k === 'dataschema' || k === 'datacontenttype') {
      if (typeof v === 'string') event[k] = v;
    } else if (isValidExtensionName(k) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
      extensions[k] = typeof v === 'string' ? restoreExtension(k, v, typedExtensions) : v;
    }
  }
  if (typeof o.data_base64 === 'string') event.data = Buffer.from(o.data_base64, 'base64');
  else if (o.data !== undefined) {
    event.data = Buffer.from(typeof o.data === 'string' ? o.data : JSON.stringify(o.data), 'utf8');
  }
  if (extensions.partitionkey === undefined && record.key !== undefined && record.key !== null) {
    extensions.partitionkey = typeof record.key === 'string' ? record.key : record.key.toString('utf8');
  }
  event.extensions = extensions;
  return event;
}
