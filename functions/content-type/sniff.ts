// Decides a device event's content type the way Drogue Cloud's endpoints did: an explicit content
// type (MQTT v5 property, HTTP Content-Type) wins, but a JSON one must carry a payload that parses;
// without one, a payload that parses as JSON (any JSON value, as serde_json) is application/json,
// anything else application/octet-stream. Hot path: the MQTT gateway calls it per PUBLISH.

import { isJsonContentType } from '../../events/media.ts';

export { isJsonContentType };

export type ContentTypeDecision =
  | { ok: true; contentType: string }
  | { ok: false; message: string };

export const JSON_CONTENT_TYPE = 'application/json';
export const OCTET_STREAM = 'application/octet-stream';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * True when the payload is one JSON value (RFC 8259), optionally surrounded by whitespace. The
 * first non-whitespace byte rules most binary payloads out without decoding anything.
 */
export function isJsonPayload(payload: Uint8Array): boolean {
  let i = 0;
  const n = payload.length;
  while (i < n && isJsonWhitespace(payload[i]!)) i++;
  if (i === n) return false; // empty or only whitespace: not a JSON value
  if (!canStartJsonValue(payload[i]!)) return false;
  let text: string;
  try {
    text = decoder.decode(payload);
  } catch {
    return false; // not UTF-8, so not JSON (RFC 8259 §8.1)
  }
  // JSON.parse also accepts a leading BOM-free text with surrounding JSON whitespace only.
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function isJsonWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** `{ [ " - 0-9 t f n`: the bytes a JSON value can start with. */
function canStartJsonValue(b: number): boolean {
  return b === 0x7b || b === 0x5b || b === 0x22 || b === 0x2d || (b >= 0x30 && b <= 0x39) ||
    b === 0x74 || b === 0x66 || b === 0x6e;
}

/**
 * The content type for a payload. An empty payload with no content type is
 * `application/octet-stream` (zero bytes are not a JSON value); an empty payload with a JSON
 * content type is rejected, as in Drogue (serde_json fails on empty input).
 */
export function resolveContentType(contentType: string | undefined, payload: Uint8Array): ContentTypeDecision {
  if (contentType !== undefined && contentType.length > 0) {
    if (isJsonContentType(contentType) && !isJsonPayload(payload)) {
      return { ok: false, message: `payload is not valid JSON for content type ${contentType}` };
    }
    return { ok: true, contentType };
  }
  return { ok: true, contentType: isJsonPayload(payload) ? JSON_CONTENT_TYPE : OCTET_STREAM };
}
