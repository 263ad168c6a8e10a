// The connections scenario's client (bench/connect-gen/main.go): built once with the machine's Go
// into the bench cache, named by a hash of its source so an edit rebuilds it. The node load
// generator spent its whole core opening 10,000 connections (90-150 µs of CPU per connect, varying
// run to run), so the reconnect row measured the generator rather than the broker; this client
// costs about 80 µs (17 µs of it its own, the rest the kernel's TCP work every client pays).
// Without Go the scenario falls back to the node client and says so.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_CACHE } from './hashes.ts';

const SOURCE = fileURLToPath(new URL('./connect-gen/', import.meta.url));

/** The built client's path, or why there is none (`go` missing or the build failed). */
export function connectGen(): { path: string } | { unavailable: string } {
  const digest = createHash('sha256');
  for (const f of ['go.mod', 'main.go']) digest.update(readFileSync(join(SOURCE, f)));
  const path = join(BENCH_CACHE, `connect-gen-${digest.digest('hex').slice(0, 12)}`);
  if (existsSync(path)) return { path };
  mkdirSync(BENCH_CACHE, { recursive: true });
  try {
    execFileSync('go', ['build', '-trimpath', '-o', path, '.'], {
      cwd: SOURCE, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
    });
    return { path };
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer; message: string };
    return { unavailable: err.code === 'ENOENT' ? 'go is not installed' : `go build failed: ${err.stderr?.toString().trim() || err.message}` };
  }
}
