// Percent-encoding of HTTP header values (cloudevents/spec http-protocol-binding.md §3.1.3.2):
// "Space (U+0020), double-quote (U+0022), percent (U+0025), and any characters outside the
// printable ASCII range of U+0021-U+007E inclusive" are encoded as `%XX` of their UTF-8 bytes;
// a receiver decodes `%XX` sequences as UTF-8. Hot path: values that need nothing are returned
// as they are, after one scan.

import { invalid } from './binding.ts';

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
 * over as latin1, so unencoded UTF-8 from a lenient sender is decoded too. Throws
 * MOORING_INVALID_EVENT on invalid UTF-8.
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
