// The CloudEvents Kafka protocol binding (cloudevents/spec kafka-protocol-binding.md, v1.0.2).
// Binary mode (§3.2): context attributes as `ce_<name>` headers (UTF-8 text, not percent-encoded),
// `datacontenttype` as `content-type`, data as the record value. Structured mode (§3.3):
// `content-type: application/cloudevents+json`, the JSON event format (./structured.ts) as the
// value. Both: the record key is `partitionkey` (§3.1). Typed extensions follow the same rule
// as over HTTP (./extensions.ts): a value of the wrong type is refused, never dropped.
// Pure functions, no copies of the payload; decoding takes kafkajs' Buffer headers (and strings).

import type { CloudEvent, ExtensionValue } from '../cloudevent.ts';
import { isValidExtensionName } from '../cloudevent.ts';
import { checkContext, dataBuffer, invalid, type Binding, type BindingOptions, type Message, type MutableEvent } from './binding.ts';
import { extensionFromText, extensionText, MOORING_TYPED_EXTENSIONS, type ExtensionTypes } from './extensions.ts';
import { decodeStructured, encodeStructured, STRUCTURED_JSON, type StructuredData } from './structured.ts';

/** What kafkajs hands a consumer for one record. */
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
/** The binding's message: headers + body (empty body = no data) and the record key. */
export interface KafkaMessage extends Message {
  key: string | null;
}

const PREFIX = 'ce_';
const CONTENT_TYPE = 'content-type';
const STRUCTURED_PREFIX = 'application/cloudevents';

function partitionKeyOf(event: CloudEvent): string | null {
  const pk = event.extensions.partitionkey;
  return pk === undefined ? null : String(pk);
}

/**
 * Binary mode as a kafkajs record: `ce_<attr>` headers, `content-type`, key = partitionkey, value
 * = data (null without data). partitionkey is also written as `ce_partitionkey`, so header-only
 * readers see it (as Drogue did).
 */
export function encodeKafkaBinary(event: CloudEvent, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS): EncodedRecord {
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
  const ext = event.extensions;
  for (const name in ext) headers[PREFIX + name] = extensionText(name, ext[name]!, types);
  const data = event.data;
  return { key: partitionKeyOf(event), value: data === undefined ? null : dataBuffer(event), headers };
}

/**
 * Structured mode as a kafkajs record: the JSON event format as the value, key = partitionkey.
 * `data` as in toStructured (./structured.ts): `base64` keeps the data's bytes exact.
 */
export function encodeKafkaStructured(event: CloudEvent, types?: ExtensionTypes, data?: StructuredData): EncodedRecord {
  return { key: partitionKeyOf(event), value: encodeStructured(event, types, data), headers: { [CONTENT_TYPE]: `${STRUCTURED_JSON}; charset=utf-8` } };
}

/** A record mode of the Kafka binding: how a bus writes the events of its topic. */
export type KafkaRecordMode = 'binary' | 'structured';

/**
 * The encoder of a record mode. Structured here writes data as `data_base64`, so an event read
 * back carries the very bytes written (binary mode does too).
 */
export function kafkaEncoder(mode: KafkaRecordMode, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS): (event: CloudEvent) => EncodedRecord {
  return mode === 'structured' ? (e) => encodeKafkaStructured(e, types, 'base64') : (e) => encodeKafkaBinary(e, types);
}

function headerString(v: HeaderValue): string | undefined {
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.toString('utf8');
}

function keyString(key: Buffer | string | null | undefined): string | undefined {
  return key === undefined || key === null ? undefined : typeof key === 'string' ? key : key.toString('utf8');
}

/**
 * The CloudEvent in a record, binary or structured mode (told apart by content-type, §3.3).
 * Header names are matched case-insensitively. The record key becomes partitionkey when no
 * attribute carries one. Throws MOORING_INVALID_EVENT.
 */
export function decodeKafka(record: KafkaRecord, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS): CloudEvent {
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
  if (contentType !== undefined && contentType.toLowerCase().startsWith(STRUCTURED_PREFIX)) {
    const value = record.value;
    if (value === null) throw invalid('structured CloudEvent is not valid JSON');
    const event = decodeStructured(value, types);
    const key = event.extensions.partitionkey === undefined ? keyString(record.key) : undefined;
    return key === undefined ? event : { ...event, extensions: { ...event.extensions, partitionkey: key } };
  }

  const extensions: Record<string, ExtensionValue> = {};
  let specversion: string | undefined;
  for (const name in attrs) {
    switch (name) {
      case 'specversion': specversion = attrs[name]; break;
      case 'id': case 'source': case 'type': case 'subject': case 'time': case 'dataschema': break;
      case 'datacontenttype':
        // §3.2.1: content-type carries datacontenttype; a stray ce_ header only fills a gap.
        if (contentType === undefined) contentType = attrs[name];
        break;
      default:
        if (!isValidExtensionName(name)) throw invalid(`invalid extension attribute name ${JSON.stringify(name)} (ce_${name})`);
        extensions[name] = extensionFromText(name, attrs[name]!, types);
    }
  }
  checkContext(specversion, attrs.id, attrs.source, attrs.type, attrs.time);
  if (extensions.partitionkey === undefined) {
    const key = keyString(record.key);
    if (key !== undefined) extensions.partitionkey = key;
  }
  const event: MutableEvent = { specversion: '1.0', id: attrs.id!, source: attrs.source!, type: attrs.type!, extensions };
  if (attrs.subject !== undefined) event.subject = attrs.subject;
  if (attrs.time !== undefined) event.time = attrs.time;
  if (attrs.dataschema !== undefined) event.dataschema = attrs.dataschema;
  if (contentType !== undefined) event.datacontenttype = contentType;
  const value = record.value;
  if (value !== null && value !== undefined && value.length > 0) {
    event.data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  }
  return event;
}

function toMessage(r: EncodedRecord): KafkaMessage {
  return { key: r.key, headers: r.headers, body: r.value ?? Buffer.alloc(0) };
}

function toRecord(m: KafkaMessage | KafkaRecord): KafkaRecord {
  return 'body' in m ? { key: m.key, value: m.body, headers: m.headers } : m;
}

export interface KafkaBindings {
  binary: Binding<KafkaMessage, KafkaMessage | KafkaRecord>;
  structured: Binding<KafkaMessage, KafkaMessage | KafkaRecord>;
}

/** The Kafka bindings in the common Binding shape, with one extension-type table. */
export function kafkaBindings(options: BindingOptions = {}): KafkaBindings {
  const types = options.extensionTypes ?? MOORING_TYPED_EXTENSIONS;
  const decode = (m: KafkaMessage | KafkaRecord): CloudEvent => decodeKafka(toRecord(m), types);
  return {
    binary: { encode: (e) => toMessage(encodeKafkaBinary(e, types)), decode },
    structured: { encode: (e) => toMessage(encodeKafkaStructured(e, types)), decode },
  };
}

/** The Kafka bindings with Mooring's typed extensions. */
export const kafka: KafkaBindings = kafkaBindings();
