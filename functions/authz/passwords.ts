// Checks a presented password against a stored `pass`/`user` credential: plain text, bcrypt or
// sha512-crypt, as Drogue's registry stores them. Every comparison runs in constant time over
// equal-length SHA-256 digests, so neither content nor length leaks through timing. The hashes are
// computed by worker threads (hash-pool.ts), off the event loop.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { PasswordCredential } from '../ports/registry.ts';
import { hashPool } from './hash-pool.ts';
import { parseSha512Setting } from './sha512-crypt.ts';

function digest(value: Uint8Array | string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time equality of two byte strings of any length. */
export function constantTimeEqual(a: Uint8Array | string, b: Uint8Array | string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function toBytes(password: Uint8Array | string): Uint8Array {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
}

/** The stored hash of a bcrypt or sha512-crypt credential (worth caching); undefined for plain text. */
export function storedHash(stored: PasswordCredential): string | undefined {
  if (stored === null || typeof stored !== 'object') return undefined;
  if ('sha512' in stored && typeof stored.sha512 === 'string') return stored.sha512;
  if ('bcrypt' in stored && typeof stored.bcrypt === 'string') return stored.bcrypt;
  return undefined;
}

/** True when `provided` matches the stored credential; an unknown or malformed hash never matches. */
export async function verifyPassword(stored: PasswordCredential, provided: Uint8Array | string): Promise<boolean> {
  const bytes = toBytes(provided);
  if (typeof stored === 'string') return constantTimeEqual(Buffer.from(stored, 'utf8'), bytes);
  if (stored === null || typeof stored !== 'object') return false;
  if ('plain' in stored && typeof stored.plain === 'string') {
    return constantTimeEqual(Buffer.from(stored.plain, 'utf8'), bytes);
  }
  if ('sha512' in stored && typeof stored.sha512 === 'string') {
    const computed = parseSha512Setting(stored.sha512) === undefined
      ? undefined
      : await hashPool.hash({ kind: 'sha512', key: bytes, setting: stored.sha512 });
    // Hash the stored value regardless, so a malformed hash costs the same as a mismatch.
    const ok = constantTimeEqual(computed ?? '', stored.sha512);
    return computed !== undefined && ok;
  }
  if ('bcrypt' in stored && typeof stored.bcrypt === 'string') {
    const hash = stored.bcrypt;
    if (!/^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/.test(hash)) return false;
    // bcrypt reads at most 72 bytes of the password; bcryptjs takes a string.
    const computed = await hashPool.hash({ kind: 'bcrypt', key: bytes, setting: hash.slice(0, 29) });
    return computed !== undefined && constantTimeEqual(computed, hash);
  }
  return false;
}
