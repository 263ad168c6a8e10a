// The CloudEvents HTTP protocol binding (cloudevents/spec http-protocol-binding.md, v1.0.2), as
// pure functions: an HTTP request or response (headers + body bytes) ⇄ a CloudEvent. Binary mode
// (§3.1: `ce-*` headers, percent-encoded, body = data), structured mode (§3.2: the JSON event
// format, ./structured.ts) and batched mode (§3.3: a JSON array), both ways. Used by the Knative
// runtime, the push sink's transport and the broker ingress. Hot path: no regex per header, no
// copies of the body beyond the one Buffer the caller already holds.

import type { CloudEvent, ExtensionValue } from '../cloudevent.ts';
import { isValidExtensionName } from '../cloudevent.ts';
import { isJsonContentType as isJsonMediaType } from '../media.ts';
import { checkContext, dataBuffer, invalid, type Binding, type BindingOptions, type Message, type MutableEvent } from './binding.ts';
import { extensionFromText, extensionText, MOORING_TYPED_EXTENSIONS, type ExtensionTypes } from './extensions.ts';
import { percentDecode, percentEncode } from './percent.ts';
import { isTraceparent, TRACEPARENT } from '../trace.ts';
import { BATCH_JSON, decodeBatch, decodeStructured, encodeBatch, encodeStructured, STRUCTURED_JSON } from './structured.ts';

/** Request or response headers as node delivers them (lower-case names). */
export type HttpHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;
export type HttpMessage = Message;
/** What the decoders take: node's header object and the body bytes. */
export interface HttpInput {
  headers: HttpHeaders;
  body: Buffer;
}

const CE_PREFIX = 'ce-';
const BATCH_PREFIX = 'application/cloudevents-batch';

function headerValue(v: string | readonly string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(',');
}

/** The media type without parameters, lower case (`Application/JSON; charset=x` → `application/json`). */
function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** JSON data (Drogue's rule, events/media.ts); no datacontenttype means JSON in the JSON event format. */
export function isJsonContentType(contentType: string | undefined): boolean {
  return contentType === undefined || isJsonMediaType(contentType);
}

/**
 * Reads one CloudEvent from an HTTP message: structured mode when the content type is
 * `application/cloudevents+json`, else binary mode (`ce-*` headers); a batch is refused here
 * (decodeHttpBatch reads it). Header names must be lower case (as node delivers them). Throws
 * MooringError MOORING_INVALID_EVENT.
 */
export function decodeHttp(message: HttpInput, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS): CloudEvent {
  const contentType = headerValue(message.headers['content-type']);
  if (contentType !== undefined) {
    const t = mediaType(contentType);
    if (t === STRUCTURED_JSON) return decodeStructured(message.body, types);
    if (t.startsWith(BATCH_PREFIX)) throw invalid('a batch of CloudEvents where one event was expected');
  }
  return decodeBinary(message.headers, message.body, contentType, types);
}

function decodeBinary(headers: HttpHeaders, body: Buffer, contentType: string | undefined, types: ExtensionTypes): CloudEvent {
  const core: Record<string, string> = {};
  const extensions: Record<string, ExtensionValue> = {};
  let specversion: string | undefined;
  for (const key in headers) {
    // Header names are lower case; only `ce-` ones are attributes (§3.1.3.1).
    if (key.length <= 3 || key.charCodeAt(0) !== 99 || key.charCodeAt(1) !== 101 || key.charCodeAt(2) !== 45) continue;
    const raw = headerValue(headers[key]);
    if (raw === undefined) continue;
    const name = key.slice(CE_PREFIX.length);
    const value = percentDecode(raw, key);
    switch (name) {
      case 'specversion': specversion = value; break;
      case 'id': case 'source': case 'type': case 'subject': case 'time': case 'dataschema':
        core[name] = value; break;
      case 'datacontenttype':
        // §3.1.1: binary mode maps datacontenttype to Content-Type; a stray ce- header only fills a gap.
        if (contentType === undefined) contentType = value;
        break;
      default:
        if (!isValidExtensionName(name)) throw invalid(`invalid extension attribute name ${JSON.stringify(name)} (${key})`);
        extensions[name] = extensionFromText(name, value, types);
    }
  }
  checkContext(specversion, core.id, core.source, core.type, core.time);
  const event: MutableEvent = { specversion: '1.0', id: core.id!, source: core.source!, type: core.type!, extensions };
  if (core.subject !== undefined) event.subject = core.subject;
  if (core.time !== undefined) event.time = core.time;
  if (core.dataschema !== undefined) event.dataschema = core.dataschema;
  if (contentType !== undefined) event.datacontenttype = contentType;
  if (body.length > 0) event.data = body;
  return event;
}

/** Binary mode: `ce-*` headers (percent-encoded), Content-Type = datacontenttype, body = data. */
export function encodeHttpBinary(event: CloudEvent, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS): HttpMessage {
  const headers: Record<string, string> = {
    'ce-specversion': event.specversion,
    'ce-id': percentEncode(event.id),
    'ce-source': percentEncode(event.source),
    'ce-type': percentEncode(event.type),
  };
  if (event.subject !== undefined) headers['ce-subject'] = percentEncode(event.subject);
  if (event.time !== undefined) headers['ce-time'] = percentEncode(event.time);
  if (event.dataschema !== undefined) headers['ce-dataschema'] = percentEncode(event.dataschema);
  if (event.datacontenttype !== undefined) headers['content-type'] = event.datacontenttype;
  const ext = event.extensions;
  for (const name in ext) headers[`${CE_PREFIX}${name}`] = percentEncode(extensionText(name, ext[name]!, types));
  const trace = traceHeader(event);
  if (trace !== undefined) headers[TRACEPARENT] = trace;
  return { headers, body: dataBuffer(event) };
}

/**
 * The W3C `traceparent` header of the request carrying `event`: its `traceparent` extension
 * (CloudEvents distributed tracing extension) when that is valid, so that an HTTP receiver that
 * only knows Trace Context joins the same trace; the extension itself travels as `ce-traceparent`.
 */
function traceHeader(event: CloudEvent): string | undefined {
  const v = event.extensions[TRACEPARENT];
  return isTraceparent(v) ? v : undefined;
}

/**
 * The binary-mode header lines of `event` (`name: value\r\n` each, the same headers as
 * encodeHttpBinary, lower-case names) for a transport that writes HTTP/1.1 itself; saves building
 * the header object per event. Values are percent-encoded except Content-Type (the caller checks it).
 */
export function binaryHeaderLines(event: CloudEvent, types: ExtensionTypes = MOORING_TYPED_EXTENSIONS): string {
  let out = `ce-specversion: ${event.specversion}\r\nce-id: ${percentEncode(event.id)}\r\nce-source: ${percentEncode(event.source)}\r\nce-type: ${percentEncode(event.type)}\r\n`;
  if (event.subject !== undefined) out += `ce-subject: ${percentEncode(event.subject)}\r\n`;
  if (event.time !== undefined) out += `ce-time: ${percentEncode(event.time)}\r\n`;
  if (event.dataschema !== undefined) out += `ce-dataschema: ${percentEncode(event.dataschema)}\r\n`;
  if (event.datacontenttype !== undefined) out += `content-type: ${event.datacontenttype}\r\n`;
  const ext = event.extensions;
  for (const name in ext) out += `${CE_PREFIX}${name}: ${percentEncode(extensionText(name, ext[name]!, types))}\r\n`;
  const trace = traceHeader(event);
  if (trace !== undefined) out += `${TRACEPARENT}: ${trace}\r\n`;
  return out;
}

/** The event's data as the HTTP body (no copy). */
export const binaryBody = dataBuffer;

/** Structured mode (§3.2): Content-Type application/cloudevents+json, body = the JSON event format. */
export function encodeHttpStructured(event: CloudEvent, types?: ExtensionTypes): HttpMessage {
  return { headers: { 'content-type': `${STRUCTURED_JSON}; charset=utf-8` }, body: encodeStructured(event, types) };
}

/** Batched mode (§3.3): Content-Type application/cloudevents-batch+json, body = a JSON array. */
export function encodeHttpBatch(events: readonly CloudEvent[], types?: ExtensionTypes): HttpMessage {
  return { headers: { 'content-type': `${BATCH_JSON}; charset=utf-8` }, body: encodeBatch(events, types) };
}

/** The events of a batched-mode message. Throws MOORING_INVALID_EVENT when it is not one. */
export function decodeHttpBatch(message: HttpInput, types?: ExtensionTypes): CloudEvent[] {
  const contentType = headerValue(message.headers['content-type']);
  if (contentType === undefined || mediaType(contentType) !== BATCH_JSON) {
    throw invalid(`a CloudEvents batch must have Content-Type ${BATCH_JSON}`);
  }
  return decodeBatch(message.body, types);
}

/** True when an HTTP response carries a CloudEvent (binary or structured), i.e. a reply. */
export function hasCloudEvent(headers: HttpHeaders): boolean {
  if (headers['ce-specversion'] !== undefined) return true;
  const ct = headerValue(headers['content-type']);
  return ct !== undefined && mediaType(ct) === STRUCTURED_JSON;
}

export interface HttpBindings {
  /** Encodes binary mode; decodes either single-event mode (a receiver detects it, §3). */
  binary: Binding<HttpMessage, HttpInput>;
  /** Encodes structured mode; decodes either single-event mode. */
  structured: Binding<HttpMessage, HttpInput>;
  batch: Binding<HttpMessage, HttpInput, readonly CloudEvent[]>;
}

/** The HTTP bindings with one extension-type table. */
export function httpBindings(options: BindingOptions = {}): HttpBindings {
  const types = options.extensionTypes ?? MOORING_TYPED_EXTENSIONS;
  const decode = (m: HttpInput): CloudEvent => decodeHttp(m, types);
  return {
    binary: { encode: (e) => encodeHttpBinary(e, types), decode },
    structured: { encode: (e) => encodeHttpStructured(e, types), decode },
    batch: { encode: (es) => encodeHttpBatch(es, types), decode: (m) => decodeHttpBatch(m, types) },
  };
}

/** The HTTP bindings with Mooring's typed extensions. */
export const http: HttpBindings = httpBindings();
