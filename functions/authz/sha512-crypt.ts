// SHA-512 based crypt(3), `$6$[rounds=N$]salt$hash`: "Unix crypt using SHA-256 and SHA-512" by
// Ulrich Drepper (https://www.akkadia.org/drepper/SHA-crypt.txt), the algorithm glibc's crypt()
// implements and Drogue's `sha512` password credential uses. Step numbers refer to that text.

import { createHash, hash, type Hash } from 'node:crypto';

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const SALT_MAX = 16;
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Step 22: which digest bytes feed each group of four output characters. */
const PERMUTATION: ReadonlyArray<readonly [number, number, number]> = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

export interface Sha512CryptSetting {
  salt: Buffer;
  rounds: number;
  /** Whether `rounds=` appears in the output (it does whenever it was given). */
  customRounds: boolean;
}

/** Reads `$6$[rounds=N$]salt[$hash]`; undefined when it is not a sha512-crypt string. */
export function parseSha512Setting(setting: string): Sha512CryptSetting | undefined {
  if (!setting.startsWith('$6$')) return undefined;
  let rest = setting.slice(3);
  let rounds = ROUNDS_DEFAULT;
  let customRounds = false;
  const m = /^rounds=(\d{1,10})\$/.exec(rest);
  if (m) {
    // Spec: a rounds value outside [1000, 999999999] is clamped to the nearest limit.
    rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[1])));
    customRounds = true;
    rest = rest.slice(m[0].length);
  }
  const end = rest.indexOf('$');
  const saltText = (end < 0 ? rest : rest.slice(0, end)).slice(0, SALT_MAX);
  return { salt: Buffer.from(saltText, 'utf8'), rounds, customRounds };
}

/**
 * One-shot SHA-512 of a buffer (node ≥ 20.12: `crypto.hash`), as a latin1 ('binary') string: one
 * byte per character, written back into the next round's buffer as it is. Node returns a string
 * far faster than a Buffer from the one-shot hash (measured 2-3× per call).
 */
function hashOnce(algorithm: 'sha512', data: Buffer): string {
  return hash(algorithm, data, 'binary');
}

interface RoundLayout {
  readonly buffer: Buffer;
  /** Where the previous round's digest goes. */
  readonly accAt: number;
}

/** Round i hashes (i odd ? P : A) · (i%3 ? S) · (i%7 ? P) · (i odd ? A : P); the layout of each i mod 42. */
function roundLayouts(p: Buffer, s: Buffer): RoundLayout[] {
  const out: RoundLayout[] = [];
  for (let i = 0; i < 42; i++) {
    const odd = (i & 1) !== 0;
    const parts: Buffer[] = [];
    const digestSlot = Buffer.alloc(64);
    parts.push(odd ? p : digestSlot);
    if (i % 3 !== 0) parts.push(s);
    if (i % 7 !== 0) parts.push(p);
    parts.push(odd ? digestSlot : p);
    let accAt = 0;
    let at = 0;
    for (const part of parts) {
      if (part === digestSlot) accAt = at;
      at += part.length;
    }
    out.push({ buffer: Buffer.concat(parts), accAt });
  }
  return out;
}

function sha512(): Hash {
  return createHash('sha512');
}

/** Repeats `digest` to `length` bytes (steps 16 and 20: the P and S sequences). */
function stretch(digest: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let off = 0; off < length; off += digest.length) digest.copy(out, off, 0, Math.min(digest.length, length - off));
  return out;
}

/** The full crypt string for `key` under `setting` (which may be a complete stored hash). */
export function sha512Crypt(key: Uint8Array | string, setting: string): string | undefined {
  const parsed = parseSha512Setting(setting);
  if (!parsed) return undefined;
  const k = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  const { salt, rounds, customRounds } = parsed;

  // Steps 4-8: digest B = H(key || salt || key).
  const b = sha512().update(k).update(salt).update(k).digest();

  // Steps 1-3, 9-12: digest A.
  const a = sha512().update(k).update(salt);
  let cnt = k.length;
  for (; cnt > 64; cnt -= 64) a.update(b);
  a.update(b.subarray(0, cnt));
  for (cnt = k.length; cnt > 0; cnt >>= 1) a.update((cnt & 1) !== 0 ? b : k);
  let acc: Buffer = a.digest();

  // Steps 13-16: P, from key repeated key-length times.
  const dp = sha512();
  for (let i = 0; i < k.length; i++) dp.update(k);
  const p = stretch(dp.digest(), k.length);

  // Steps 17-20: S, from salt repeated 16 + A[0] times.
  const ds = sha512();
  for (let i = 0; i < 16 + acc[0]!; i++) ds.update(salt);
  const s = stretch(ds.digest(), salt.length);

  // Step 21: the rounds. The input of round i depends on i mod 42 only in its layout (i odd,
  // i mod 3, i mod 7): each of the 42 layouts is one buffer with P and S already in place, and a
  // round copies the previous digest into its slot and hashes the buffer in one call. Profiling
  // showed the per-round Hash object (create, four updates, digest) costing more than SHA-512.
  const layouts = roundLayouts(p, s);
  let digest = acc.toString('binary');
  for (let i = 0; i < rounds; i++) {
    const layout = layouts[i % 42]!;
    layout.buffer.write(digest, layout.accAt, 'binary');
    digest = hashOnce('sha512', layout.buffer);
  }
  acc = Buffer.from(digest, 'binary');

  // Step 22: the output, with the spec's byte permutation and its base-64 alphabet.
  let out = '$6$' + (customRounds ? `rounds=${rounds}$` : '') + salt.toString('utf8') + '$';
  const put = (w: number, n: number): void => {
    for (let j = 0; j < n; j++) {
      out += ITOA64[w & 0x3f];
      w >>>= 6;
    }
  };
  for (const [b2, b1, b0] of PERMUTATION) put((acc[b2]! << 16) | (acc[b1]! << 8) | acc[b0]!, 4);
  put(acc[63]!, 2);
  return out;
}
