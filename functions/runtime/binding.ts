// The CloudEvents HTTP protocol binding (cloudevents/spec http-protocol-binding.md, v1.0.2), as
// pure functions: an HTTP request or response (headers + body bytes) ⇄ a CloudEvent. Binary mode
// (`ce-*` headers, body = data) both ways; structured JSON mode on input. Used by the Knative
// runtime (serve.ts) and the push sink's transport. Hot path: no regex per header, no copies of
// the body beyond the one Buffer the caller already holds.

import { isJsonContentType as isJsonMediaType } from '../../events/media.ts';
import { restoreExtension } from '../../events/extension-types.ts';
import { isValidExtensionName, type CloudEvent, type ExtensionValue } from '../../events/cloudevent.ts';
import { MooringError } from '../../events/errors.ts';

export type HttpHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface HttpMessage {
  headers: Record<string, string>;
  body: Buffer;
}

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch';
const CE_PREFIX = 'ce-';
const STRING_ATTRIBUTES = ['id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema'] as const;

function invalid(message: string): MooringError {
  return new MooringError('MOORING_INVALID_EVENT', message);
}

function headerValue(v: string | readonly string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(',');
}

// §3.1.3.2: "Space (U+0020), double-quote (U+0022), percent (U+0025), and any characters outside
// the printable ASCII range of U+0021-U+007E inclusive" are percent-encoded as UTF-8 bytes.
function needsEncoding(code: number): boolean {
  return code <= 0x20 || code >= 0x7f || code === 0x22 || code === 0x25;
}

const HEX = '0123456789ABCDEF';

/** Percent-encodes a header value as §3.1.3.2 requires; returns the input when nothing needs it. */
export function percentEncode(value: string): string {
  let i = 0;
  while (i < value.length && !needsEncoding(value.charCodeAt(i))) i++;
  if (i === value.length) return value;
  let out = value.slice(0, i);
  for (const byte of Buffer.from(value.slice(i), 'utf8')) {
    out += needsEncoding(byte) ? `%${HEX[byte >> 4]}${HEX[byte & 15]}` : String.fromCharCode(byte);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Decodes a header value (§3.1.3.2): `%XX` sequences are UTF-8 bytes. Node hands raw header bytes
 * over as latin1, so unencoded UTF-8 from a lenient sender is decoded too. Throws on invalid UTF-8.
 */
export function percentDecode(value: string, name = 'header'): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 || c > 0x7f) { plain = false; break; }
  }
  if (plain) return value;
  const bytes = new Uint8Array(value.length);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length && hexDigit(value.charCodeAt(i + 1)) >= 0 && hexDigit(value.charCodeAt(i + 2)) >= 0) {
      bytes[n++] = (hexDigit(value.charCodeAt(i + 1)) << 4) | hexDigit(value.charCodeAt(i + 2));
      i += 2;
    } else if (c > 0xff) {
      throw invalid(`${name}: not a valid header value`);
    } else {
      bytes[n++] = c;
    }
  }
  try {
    return utf8.decode(bytes.subarray(0, n));
  } catch {
    throw invalid(`${name}: percent-decoded value is not valid UTF-8`);
  }
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

function checkRequired(attrs: { specversion?: unknown; id?: unknown; source?: unknown; type?: unknown; time?: unknown }): void {
  if (attrs.specversion === undefined) throw invalid('not a CloudEvent: specversion is missing');
  if (attrs.specversion !== '1.0') throw invalid(`unsupported specversion ${JSON.stringify(attrs.specversion)} (only 1.0)`);
  for (const name of ['id', 'source', 'type'] as const) {
    const v = attrs[name];
    if (typeof v !== 'string' || v === '') throw invalid(`required attribute ${name} is missing or empty`);
  }
  if (attrs.time !== undefined && (typeof attrs.time !== 'string' || Number.isNaN(Date.parse(attrs.time)))) {
    throw invalid('attribute time is not an RFC 3339 timestamp');
  }
}

/**
 * Reads a CloudEvent from an HTTP message: structured mode when the content type is
 * `application/cloudevents+json`, else binary mode (`ce-*` headers). Header names must be lower
 * case (as node delivers them). Throws MooringError MOORING_INVALID_EVENT.
 */
export function fromHttp(headers: HttpHeaders, body: Buffer): CloudEvent {
  const contentType = headerValue(headers['content-type']);
  if (contentType !== undefined) {
    const t = mediaType(contentType);
    if (t === STRUCTURED) return fromStructured(body);
    if (t.startsWith(BATCH)) throw invalid('batched CloudEvents are not supported');
  }
  return fromBinary(headers, body, contentType);
}

function fromBinary(headers: HttpHeaders, body: Buffer, contentType: string | undefined): CloudEvent {
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
        extensions[name] = restoreExtension(name, value);
    }
  }
  checkRequired({ specversion, id: core.id, source: core.source, type: core.type, time: core.time });
  const event: { -readonly [K in keyof CloudEvent]: CloudEvent[K] } = {
    specversion: '1.0', id: core.id as string, source: core.source as string, type: core.type as string, extensions,
  };
  if (core.subject !== undefined) event.subject = core.subject;
  if (core.time !== undefined) event.time = core.time;
  if (core.dataschema !== undefined) event.dataschema = core.dataschema;
  if (contentType !== undefined) event.datacontenttype = contentType;
  if (body.length > 0) event.data = body;
  return event;
}

/** Structured mode, JSON event format (json-format.md). */
function fromStructured(body: Buffer): CloudEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('structured CloudEvent body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('structured CloudEvent must be a JSON object');
  const o = parsed as Record<string, unknown>;
  checkRequired(o);
  const event: { -readonly [K in keyof CloudEvent]: CloudEvent[K] } = {
    specversion: '1.0', id: o.id as string, source: o.source as string, type: o.type as string, extensions: {},
  };
  const extensions: Record<string, ExtensionValue> = {};
  for (const [name, value] of Object.entries(o)) {
    if (value === null) continue; // json-format §2.2: null is the same as absent
    switch (name) {
      case 'specversion': case 'id': case 'source': case 'type': case 'data': case 'data_base64':
        break;
      default:
        if ((STRING_ATTRIBUTES as readonly string[]).includes(name)) {
          if (typeof value !== 'string') throw invalid(`attribute ${name} must be a string`);
          (event as Record<string, unknown>)[name] = value;
        } else {
          if (!isValidExtensionName(name)) throw invalid(`invalid extension attribute name ${JSON.stringify(name)}`);
          if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isInteger(value))) {
            extensions[name] = value;
          } else {
            throw invalid(`extension ${name} must be a string, integer or boolean`);
          }
        }
    }
  }
  event.extensions = extensions;
  const data = o.data ?? undefined;
  const base64 = o.data_base64 ?? undefined;
  if (data !== undefined && base64 !== undefined) throw invalid('data and data_base64 are mutually exclusive');
  if (base64 !== undefined) {
    if (typeof base64 !== 'string') throw invalid('data_base64 must be a string');
    event.data = Buffer.from(base64, 'base64');
  } else if (data !== undefined) {
    // json-format §3.1: without datacontenttype, data is JSON (application/json).
    if (event.datacontenttype === undefined) event.datacontenttype = 'application/json';
    event.data = Buffer.from(typeof data === 'string' && !isJsonContentType(event.datacontenttype) ? data : JSON.stringify(data), 'utf8');
  }
  return event;
}

/** Writes `event` as a binary-mode HTTP message: `ce-*` headers (percent-encoded), Content-Type, body = data. */
export function toBinaryHttp(event: CloudEvent): HttpMessage {
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
  for (const name in event.extensions) {
    headers[`${CE_PREFIX}${name}`] = percentEncode(String(event.extensions[name]));
  }
  const data = event.data;
  const body = data === undefined ? Buffer.alloc(0)
    : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { headers, body };
}

/**
 * The binary-mode header lines of `event` (`name: value\r\n` each, the same headers as
 * toBinaryHttp, lower-case names) for a transport that writes HTTP/1.1 itself; saves building the
 * header object per event. Values are percent-encoded except Content-Type (the caller checks it).
 */
export function binaryHeaderLines(event: CloudEvent): string {
  let out = `ce-specversion: ${event.specversion}\r\nce-id: ${percentEncode(event.id)}\r\nce-source: ${percentEncode(event.source)}\r\nce-type: ${percentEncode(event.type)}\r\n`;
  if (event.subject !== undefined) out += `ce-subject: ${percentEncode(event.subject)}\r\n`;
  if (event.time !== undefined) out += `ce-time: ${percentEncode(event.time)}\r\n`;
  if (event.dataschema !== undefined) out += `ce-dataschema: ${percentEncode(event.dataschema)}\r\n`;
  if (event.datacontenttype !== undefined) out += `content-type: ${event.datacontenttype}\r\n`;
  const ext = event.extensions;
  for (const name in ext) out += `${CE_PREFIX}${name}: ${percentEncode(String(ext[name]))}\r\n`;
  return out;
}

/** The event's data as the HTTP body (no copy). */
export function binaryBody(event: CloudEvent): Buffer {
  const data = event.data;
  return data === undefined ? EMPTY : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
const EMPTY = Buffer.alloc(0);

/** True when an HTTP response carries a CloudEvent (binary or structured), i.e. a reply. */
export function hasCloudEvent(headers: HttpHeaders): boolean {
  if (headers['ce-specversion'] !== undefined) return true;
  const ct = headerValue(headers['content-type']);
  return ct !== undefined && mediaType(ct) === STRUCTURED;
}
