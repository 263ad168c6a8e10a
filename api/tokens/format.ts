// Drogue's access-token format (access-token-service/src/rng.rs): `drg_` + 6 alphanumerics (the
// prefix, 10 characters), `_`, 30 alphanumerics, then base62 (0-9A-Za-z) of the CRC32 (IEEE) of
// everything before it. The quick check rejects a token of the wrong length, without the prefix
// or with a bad CRC before any lookup. Stored as hex SHA3-512, like Drogue's `hashed_token`.

import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ALNUM = /^[0-9A-Za-z]+$/;
/** `drg_` + 6 + `_` + 30. */
const BODY_LENGTH = 41;

export function base62(n: number): string {
  let s = '';
  do {
    s = ALPHABET[n % 62] + s;
    n = Math.floor(n / 62);
  } while (n > 0);
  return s;
}

function alphanumerics(count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) s += ALPHABET[randomInt(62)];
  return s;
}

/** A token body (prefix, `_`, 30 characters) with its CRC appended. */
export function withCrc(body: string): string {
  return body + base62(crc32(body));
}

export function generateToken(): { prefix: string; token: string } {
  const prefix = `drg_${alphanumerics(6)}`;
  return { prefix, token: withCrc(`${prefix}_${alphanumerics(30)}`) };
}

/** The prefix of a well-formed token (length, `drg_`, alphabet, CRC), else undefined. */
export function quickCheck(token: string): string | undefined {
  if (token.length < BODY_LENGTH + 1 || token.length > BODY_LENGTH + 6) return undefined;
  if (!token.startsWith('drg_') || token[10] !== '_') return undefined;
  const body = token.slice(0, BODY_LENGTH);
  if (!ALNUM.test(body.slice(4, 10)) || !ALNUM.test(body.slice(11)) || !ALNUM.test(token.slice(BODY_LENGTH))) return undefined;
  if (token.slice(BODY_LENGTH) !== base62(crc32(body))) return undefined;
  return body.slice(0, 10);
}

export function hashToken(token: string): string {
  return createHash('sha3-512').update(token).digest('hex');
}

/** Constant-time comparison of a presented token with a stored hash. */
export function tokenMatches(token: string, hashedToken: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(hashedToken, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
