// The one JSON event format codec (cloudevents/spec json-format.md, v1.0.2), shared by HTTP
// structured and batched mode, Kafka structured mode and the schema validators
// (events/validate.ts validates the structured form). Context attributes sit flat in one object;
// data whose content type is JSON goes in `data` as JSON, any other data in `data_base64`.

import { CORE_ATTRIBUTES, isValidExtensionName, type CloudEvent, type ExtensionValue } from '../cloudevent.ts';
import { isJsonContentType } from '../media.ts';
import { checkContext, dataBuffer, invalid, type MutableEvent } from './binding.ts';
import { extensionFromJson, extensionText, MOORING_TYPED_EXTENSIONS, type ExtensionTypes } from './extensions.ts';

export type StructuredEvent = Record<string, unknown>;

/** The media types of the two JSON modes (json-format §4, §5). */
export const STRUCTURED_JSON = 'application/cloudevents+json';
export const BATCH_JSON = 'application/cloudevents-batch+json';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** How data is written: `json` (the default) puts JSON data in `data`; `base64` puts all data in `data_base64`. */
export type StructuredData = 'json' | 'base64';

/**
 * The JSON object of an event (§3). Data under a JSON content type that parses goes in `data`;
 * any other data in `data_base64`. With `data: 'base64'` every data goes in `data_base64` (§3.1
 * allows it for binary data): its bytes come back exactly, where JSON data is re-serialized
 * (whitespace, number forms), and nothing is parsed. Typed extensions are checked
 * (extensionText) so what is written is what every decoder accepts.
 */
export function toStructured(event: CloudEvent, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS, data: StructuredData = 'json'): StructuredEvent {
  const out: StructuredEvent = {};
  for (const name of CORE_ATTRIBUTES) {
    const v = event[name];
    if (v !== undefined) out[name] = v;
  }
  for (const [k, v] of Object.entries(event.extensions)) {
    extensionText(k, v, types);
    out[k] = v;
  }
  if (event.data !== undefined) {
    let json: { value: unknown } | undefined;
    if (data === 'json' && event.datacontenttype !== undefined && isJsonContentType(event.datacontenttype)) {
      try {
        json = { value: JSON.parse(utf8.decode(event.data)) };
      } catch {
        json = undefined;
      }
    }
    if (json) out.data = json.value;
    else out.data_base64 = dataBuffer(event).toString('base64');
  }
  return out;
}

const STRING_ATTRIBUTES = ['id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema'] as const;

/**
 * Reads the JSON object of an event (already parsed). Checks the envelope: required attributes,
 * string attributes, extension names and values (extensions.ts); the type's own schema is
 * events/validate.ts' job. `null` is the same as absent (§2.2). `data` that is a string under a
 * non-JSON content type is UTF-8 text; other `data` is serialized as JSON, and without
 * datacontenttype it is `application/json` (§3.1). Throws MOORING_INVALID_EVENT.
 */
export function fromStructured(json: unknown, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS): CloudEvent {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalid('a structured CloudEvent must be a JSON object');
  const src = json as Record<string, unknown>;
  const core: Record<string, string> = {};
  for (const name of STRING_ATTRIBUTES) {
    const v = src[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw invalid(`attribute ${name} must be a string`);
    core[name] = v;
  }
  checkContext(src.specversion ?? undefined, core.id, core.source, core.type, core.time);
  const extensions: Record<string, ExtensionValue> = {};
  for (const k in src) {
    if ((CORE_ATTRIBUTES as readonly string[]).includes(k) || k === 'data' || k === 'data_base64') continue;
    const v = src[k];
    if (v === null || v === undefined) continue;
    if (!isValidExtensionName(k)) throw invalid(`invalid extension attribute name ${JSON.stringify(k)} (must match [a-z0-9]{1,20})`);
    extensions[k] = extensionFromJson(k, v, types);
  }
  const event: MutableEvent = { specversion: '1.0', id: core.id!, source: core.source!, type: core.type!, extensions };
  if (core.subject !== undefined) event.subject = core.subject;
  if (core.time !== undefined) event.time = core.time;
  if (core.dataschema !== undefined) event.dataschema = core.dataschema;
  if (core.datacontenttype !== undefined) event.datacontenttype = core.datacontenttype;
  const data = src.data ?? undefined;
  const base64 = src.data_base64 ?? undefined;
  if (data !== undefined && base64 !== undefined) throw invalid('data and data_base64 are mutually exclusive');
  if (base64 !== undefined) {
    if (typeof base64 !== 'string' || !BASE64.test(base64)) throw invalid('data_base64 must be base64');
    event.data = Buffer.from(base64, 'base64');
  } else if (data !== undefined) {
    const ct = event.datacontenttype;
    if (ct === undefined) event.datacontenttype = 'application/json';
    event.data = Buffer.from(typeof data === 'string' && ct !== undefined && !isJsonContentType(ct) ? data : JSON.stringify(data), 'utf8');
  }
  return event;
}

function parse(body: Buffer | string, what: string): unknown {
  try {
    return JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    throw invalid(`${what} is not valid JSON`);
  }
}

/** One event in the JSON event format, as bytes. */
export function encodeStructured(event: CloudEvent, types?: ExtensionTypes, data?: StructuredData): Buffer {
  return Buffer.from(JSON.stringify(toStructured(event, types, data)), 'utf8');
}

/** One event from JSON event format bytes. Throws MOORING_INVALID_EVENT. */
export function decodeStructured(body: Buffer | string, types?: ExtensionTypes): CloudEvent {
  return fromStructured(parse(body, 'structured CloudEvent'), types);
}

/** A batch (§5: a JSON array of events in the JSON event format), as bytes. */
export function encodeBatch(events: readonly CloudEvent[], types?: ExtensionTypes): Buffer {
  return Buffer.from(JSON.stringify(events.map((e) => toStructured(e, types))), 'utf8');
}

/** The events of a batch; an empty array is an empty batch. Throws MOORING_INVALID_EVENT. */
export function decodeBatch(body: Buffer | string, types?: ExtensionTypes): CloudEvent[] {
  const json = parse(body, 'CloudEvents batch');
  if (!Array.isArray(json)) throw invalid('a CloudEvents batch must be a JSON array');
  return json.map((e) => fromStructured(e, types));
}
