// The secrets a device proved recently, so that a reconnect with the same correct password does
// not pay sha512-crypt (5000 rounds) or bcrypt again. An entry is the HMAC-SHA-256, under a key
// drawn at random when the process starts, of (application, device, credential identity,
// presented secret, stored hash): no secret is kept, the map's keys are useless outside the
// process, and a changed stored hash or another device never finds an old entry. Only successful
// verifications are added; a wrong password always costs the full hash. Bounded (least recently
// used out first) and emptied whenever the registry changes. One cache per RegistryReader.

import { hash, randomBytes } from 'node:crypto';
import type { RegistryReader } from '../ports/registry.ts';

/** Entries kept by default: a verified secret costs ~100 bytes. */
export const VERIFIED_SECRETS_DEFAULT_CAPACITY = 65_536;

export interface VerifiedSecretStats {
  /** Verifications answered from the cache. */
  hits: number;
  /** Hashed verifications that had to run (and then may have been added). */
  misses: number;
  /** Times the cache was emptied by a registry change. */
  cleared: number;
  size: number;
}

/** What identifies one verification: every part is length-prefixed into the HMAC. */
export interface SecretClaim {
  application: string;
  device: string;
  /** `pass`, or `user:` + the credential's username. */
  credential: string;
  presented: Uint8Array | string;
  /** The stored hash as written in the registry (`$6$…`, `$2b$…`). */
  stored: string;
}

/** SHA-256's block: an HMAC key this long or shorter is padded to it (RFC 2104). */
const BLOCK = 64;

export class VerifiedSecrets {
  /**
   * HMAC's inner message buffer, the padded inner key (key XOR ipad) in its first block, reused by
   * every `idOf` (hashing is synchronous); grown when a claim does not fit.
   */
  private inner: Buffer;
  /** The padded outer key (key XOR opad), then room for the inner digest. */
  private readonly outer: Buffer;
  private readonly ipad: Buffer;
  private readonly map = new Set<string>();
  private readonly counts = { hits: 0, misses: 0, cleared: 0 };

  /** `key` (at most 64 bytes) is for tests; by default one is drawn at random. */
  constructor(readonly capacity = VERIFIED_SECRETS_DEFAULT_CAPACITY, key: Buffer = randomBytes(32)) {
    if (key.length > BLOCK) throw new RangeError('an HMAC key longer than the block is not supported');
    this.ipad = Buffer.alloc(BLOCK, 0x36);
    this.outer = Buffer.alloc(BLOCK + 32, 0x5c);
    for (let i = 0; i < key.length; i++) {
      this.ipad[i] = 0x36 ^ key[i]!;
      this.outer[i] = 0x5c ^ key[i]!;
    }
    this.inner = this.innerBuffer(BLOCK + 512);
  }

  private innerBuffer(size: number): Buffer {
    const b = Buffer.alloc(size);
    this.ipad.copy(b, 0);
    return b;
  }

  /**
   * The keyed hash naming a claim; the same claim gives the same id within this process. The
   * parts are length-prefixed into one buffer and MACed in one call: a connect pays one HMAC
   * object, not one update per part (profiling showed the parts' small updates costing more than
   * SHA-256 itself). HMAC-SHA-256 is computed from its definition (RFC 2104) with two one-shot
   * hashes over the precomputed padded keys, in buffers kept for the purpose (the presented secret
   * is wiped from them at once): the same MAC, without a Hmac object or a buffer per connect.
   */
  idOf(claim: SecretClaim): string {
    const { application, device, credential, presented, stored } = claim;
    // UTF-8 takes at most three bytes per UTF-16 unit.
    const bound = BLOCK + 20 + 3 * (application.length + device.length + credential.length + stored.length)
      + (typeof presented === 'string' ? 3 * presented.length : presented.length);
    if (bound > this.inner.length) this.inner = this.innerBuffer(bound * 2);
    const m = this.inner;
    let at = put(m, BLOCK, application);
    at = put(m, at, device);
    at = put(m, at, credential);
    at = put(m, at, presented);
    at = put(m, at, stored);
    // The inner digest as a latin1 ('binary') string written back byte for byte: node's one-shot hash
    // returns a string far faster than a Buffer (measured 2-3× for the whole MAC).
    this.outer.write(hash('sha256', m.subarray(0, at), 'binary'), BLOCK, 'binary');
    m.fill(0, BLOCK, at);
    return hash('sha256', this.outer, 'base64');
  }

  /** Whether the claim was verified since the last registry change (counts a hit or a miss). */
  has(id: string): boolean {
    if (!this.map.delete(id)) {
      this.counts.misses++;
      return false;
    }
    this.map.add(id); // most recently used last
    this.counts.hits++;
    return true;
  }

  /** Records a successful verification. Never call it for a failed one. */
  add(id: string): void {
    this.map.delete(id);
    if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.add(id);
  }

  clear(): void {
    this.map.clear();
    this.counts.cleared++;
  }

  stats(): VerifiedSecretStats {
    return { ...this.counts, size: this.map.size };
  }
}

/** Writes `part` length-prefixed at `at`; returns the offset after it. */
function put(m: Buffer, at: number, part: string | Uint8Array): number {
  let length: number;
  if (typeof part === 'string') {
    length = m.write(part, at + 4, 'utf8');
  } else {
    m.set(part, at + 4);
    length = part.length;
  }
  m.writeUInt32BE(length, at);
  return at + 4 + length;
}

const caches = new WeakMap<RegistryReader, VerifiedSecrets>();

/** The cache of `registry`, created on first use and emptied on each of its changes. */
export function verifiedSecretsOf(registry: RegistryReader): VerifiedSecrets {
  let cache = caches.get(registry);
  if (cache === undefined) {
    const created = new VerifiedSecrets();
    registry.onChange(() => created.clear());
    caches.set(registry, created);
    cache = created;
  }
  return cache;
}
