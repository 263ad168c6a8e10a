// The conformance oracle: the CloudEvents JavaScript SDK (v10, a devDependency; product code
// never imports it). Helpers turn an SDK event and a Mooring event into one comparable form,
// and carry messages between the two the way a transport would (header values as text, kafkajs
// Buffers). Known SDK v10 behaviours the tests work around, each named where it is used:
// - the SDK constructor sets `time` to now when an event has none, and normalizes it to UTC ms;
// - HTTP binary: it neither percent-encodes nor decodes header values (§3.1.3.2 says MUST);
// - structured `data_base64` comes back as a Uint32Array of the byte values;
// - Kafka.toEvent refuses a record without a value, and a structured record without `time`;
// - Kafka.binary leaves JSON data as an object in the record value.

import { CloudEvent as SdkEvent } from 'cloudevents';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { isJsonContentType } from '../../../events/media.ts';
import { MOORING_TYPED_EXTENSIONS, type ExtensionTypes } from '../../../events/bindings/extensions.ts';

export { SdkEvent };

/** One event in a form both sides map to: attributes, extensions, data (JSON text or hex). */
export interface Comparable {
  attributes: Record<string, string>;
  extensions: Record<string, string | number | boolean>;
  data?: string;
}

const CORE = ['id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema'] as const;

/** `time` compared as an instant: the SDK rewrites every time as UTC with milliseconds. */
function instant(time: string): string {
  return new Date(time).toISOString();
}

function dataForm(contentType: string | undefined, bytes: Uint8Array): string {
  const buf = Buffer.from(bytes);
  if (contentType === undefined || isJsonContentType(contentType)) return `json:${JSON.stringify(JSON.parse(buf.toString('utf8')))}`;
  return `hex:${buf.toString('hex')}`;
}

/** The comparable form of a Mooring event. */
export function fromMooring(e: CloudEvent): Comparable {
  const attributes: Record<string, string> = {};
  for (const k of CORE) if (e[k] !== undefined) attributes[k] = k === 'time' ? instant(e[k]) : e[k];
  const out: Comparable = { attributes, extensions: { ...e.extensions } };
  if (e.data !== undefined) out.data = dataForm(e.datacontenttype, e.data);
  return out;
}

/** The comparable form of an SDK event (its data may be parsed JSON, text, or a typed array). */
export function fromSdk(e: SdkEvent<unknown>): Comparable {
  const attributes: Record<string, string> = {};
  const extensions: Record<string, string | number | boolean> = {};
  const o = e as unknown as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined || k === 'specversion' || k === 'data' || k === 'data_base64') continue;
    if ((CORE as readonly string[]).includes(k)) attributes[k] = k === 'time' ? instant(String(v)) : String(v);
    else extensions[k] = v as string | number | boolean;
  }
  const out: Comparable = { attributes, extensions };
  const data = e.data;
  if (data !== undefined && data !== null) {
    const ct = e.datacontenttype;
    if (data instanceof Uint32Array) out.data = dataForm(ct, Uint8Array.from(data)); // SDK: data_base64 → Uint32Array of bytes
    else if (ArrayBuffer.isView(data)) out.data = dataForm(ct, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    else if (ct === undefined || isJsonContentType(ct)) out.data = `json:${JSON.stringify(data)}`;
    else out.data = dataForm(ct, Buffer.from(String(data), 'utf8'));
  }
  return out;
}

/** What binary mode can carry: typed extensions keep their type, every other one becomes text. */
export function asBinary(c: Comparable, types: ExtensionTypes): Comparable {
  const extensions: Comparable['extensions'] = {};
  for (const [k, v] of Object.entries(c.extensions)) extensions[k] = types[k] === undefined ? String(v) : v;
  return { ...c, extensions };
}

/** Every extension as text: what an SDK without typed extensions reads from binary mode. */
export function allText(c: Comparable): Comparable {
  return asBinary(c, {});
}

/** Without `time`, when the SDK added one of its own. */
export function withoutTime(c: Comparable): Comparable {
  const { time: _time, ...attributes } = c.attributes;
  void _time;
  return { ...c, attributes };
}

/** HTTP header values as a sender writing UTF-8 puts them on the wire and node reads them (latin1). */
export function httpWire(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) out[k.toLowerCase()] = Buffer.from(String(v), 'utf8').toString('latin1');
  }
  return out;
}

/** A Kafka record as kafkajs hands it to a consumer: Buffers for key, value and headers. */
export function kafkaWire(m: { key?: unknown; value?: unknown; headers?: Record<string, unknown> }): { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> } {
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = Buffer.from(String(v), 'utf8');
  // SDK v10's Kafka.binary leaves JSON data as an object; a producer has to serialize it.
  const v = m.value;
  const value = v === undefined || v === null ? null : Buffer.isBuffer(v) ? v
    : Buffer.from(typeof v === 'object' ? JSON.stringify(v) : String(v), 'utf8');
  return { key: m.key === undefined || m.key === null ? null : Buffer.from(String(m.key), 'utf8'), value, headers };
}

/** A Kafka record as the SDK wants it (string headers, STYLE.md): kafkajs Buffers converted. */
export function kafkaForSdk(r: { key: string | null; value: Buffer | null; headers: Record<string, string> }): { key?: string; value?: Buffer; headers: Record<string, string> } {
  const out: { key?: string; value?: Buffer; headers: Record<string, string> } = { headers: { ...r.headers } };
  if (r.key !== null) out.key = r.key;
  if (r.value !== null) out.value = r.value;
  return out;
}

/** Mooring's typed extensions, plus a timestamp-typed one for the tests. */
export const TYPES: ExtensionTypes = { ...MOORING_TYPED_EXTENSIONS, seen: 'timestamp' };

const base = { specversion: '1.0' as const, id: 'id-1', source: 'drogue://app/dev1', type: 'io.drogue.event.v1' };

/** The events every binding is checked with, in Mooring's model. */
export const CASES: ReadonlyArray<{ name: string; event: CloudEvent }> = [
  {
    name: 'binary data',
    event: { ...base, time: '2026-01-02T03:04:05.678Z', datacontenttype: 'application/octet-stream', data: Buffer.from([0, 1, 2, 127, 128, 255]), extensions: { partitionkey: 'app/dev1' } },
  },
  {
    name: 'JSON data',
    event: { ...base, time: '2026-01-02T03:04:05.678Z', subject: 'temp', datacontenttype: 'application/json', data: Buffer.from('{"temp":21.5,"ok":true,"city":"Zürich","list":[1,2]}'), extensions: { application: 'app', device: 'dev1' } },
  },
  {
    name: 'text data',
    event: { ...base, time: '2026-01-02T03:04:05.678Z', datacontenttype: 'text/plain', data: Buffer.from('héllo wörld "100%"'), extensions: {} },
  },
  {
    name: 'typed extensions of each kind',
    event: {
      ...base, time: '2026-01-02T03:04:05.678Z', datacontenttype: 'text/plain', data: Buffer.from('x'),
      extensions: { qos: 1, retain: false, payloadformat: 0, knativeerrorcode: 503, seen: '2026-01-01T10:00:00.123Z', topic: 'a/b' },
    },
  },
  {
    name: 'non-ASCII and percent signs in attribute values',
    event: {
      ...base, source: 'drogue://app/dev%201', subject: 'température 100% "x"', dataschema: 'urn:example:schema', time: '2026-01-02T03:04:05.678Z',
      datacontenttype: 'text/plain', data: Buffer.from('ok'), extensions: { device: 'gerät 1', note: 'tab\there, €5' },
    },
  },
  {
    name: 'time attribute with an offset',
    event: { ...base, time: '2026-01-02T04:04:05.678+01:00', datacontenttype: 'text/plain', data: Buffer.from('t'), extensions: {} },
  },
  {
    name: 'missing optional attributes (no subject, time, dataschema, datacontenttype, data, extensions)',
    event: { ...base, extensions: {} },
  },
];

/** The SDK event with the same content: JSON data parsed, text as a string, other data as bytes. */
export function toSdk(e: CloudEvent): SdkEvent<unknown> {
  const props: Record<string, unknown> = { specversion: e.specversion, id: e.id, source: e.source, type: e.type };
  for (const k of CORE) if (e[k] !== undefined) props[k] = e[k];
  Object.assign(props, e.extensions);
  if (e.data !== undefined) {
    const ct = e.datacontenttype;
    const buf = Buffer.from(e.data);
    props.data = ct === undefined || isJsonContentType(ct) ? JSON.parse(buf.toString('utf8'))
      : ct.startsWith('text/') ? buf.toString('utf8') : buf;
  }
  return new SdkEvent(props);
}
