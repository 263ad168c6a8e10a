// The stored form of the bench's device passwords: sha512-crypt (5000 rounds, what `drg` writes and
// what Mooring's registry stores), as a JSON array indexed by device. Hashing is slow on purpose
// (~6 ms each), so the list is computed once per size and cached outside the clone.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { sha512Crypt } from '../functions/authz/sha512-crypt.ts';

/** The bench's cache outside the clone (password hashes, bench/connect-gen's binary). */
export const BENCH_CACHE = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mooring', 'bench');

/** The password of bench device i, as every target and the load generator use it. */
export const benchPassword = (i: number): string => `pw-${i}`;

/** A file holding `["$6$...", ...]` for devices 0..n-1 (created on first use). */
export function benchPasswordHashes(n: number): string {
  const file = join(BENCH_CACHE, `sha512-crypt-${n}.json`);
  if (existsSync(file)) return file;
  mkdirSync(BENCH_CACHE, { recursive: true });
  const hashes: string[] = [];
  for (let i = 0; i < n; i++) hashes.push(sha512Crypt(benchPassword(i), `$6$bench${i.toString(36)}$`)!);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(hashes));
  renameSync(tmp, file);
  return file;
}

export function readBenchHashes(file: string): string[] {
  return JSON.parse(readFileSync(file, 'utf8')) as string[];
}
