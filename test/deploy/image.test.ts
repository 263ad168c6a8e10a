// The image, built for real: scripts/image/build.sh installs buildah and debootstrap when missing,
// makes the local base (Debian minbase + node from npm) once and builds the Dockerfile with
// cached layers. Then the image's own entry point runs under `buildah run` (chroot isolation, the
// host's network): as the gateway it answers an MQTT CONNECT with CONNACK 0 (4 for a wrong
// password) as uid 10001, and as a function it serves Knative's readiness probe.
// Prints the build's time and the image's size.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startChild, freePort, type Child } from '../helpers/process.ts';
import { connackCode } from '../helpers/connack.ts';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(ROOT, 'scripts/image/build.sh');
const IMAGE = 'localhost/mooring:test';
const NON_ROOT = 10001;

const buildah = async (...args: string[]): Promise<string> =>
  (await exec('bash', [BUILD, 'buildah', ...args], { maxBuffer: 1 << 24 })).stdout.trim();

interface ImageConfig { Entrypoint?: string[]; User?: string; WorkingDir?: string; Env?: string[] }
let config: ImageConfig;
const containers: string[] = [];
const children: Child[] = [];

test.before(async () => {
  const started = Date.now();
  // First build on a bare machine: apt, debootstrap, npm downloads; generous bound.
  const { stdout, stderr } = await exec('bash', [BUILD], {
    cwd: ROOT, env: { ...process.env, MOORING_IMAGE: IMAGE }, maxBuffer: 1 << 26, timeout: 3_600_000,
  });
  assert.is(stdout.trim(), IMAGE, stderr.slice(-2000));
  const size = await buildah('images', '--format', '{{.Size}}', IMAGE);
  console.log(`image: ${IMAGE} built in ${((Date.now() - started) / 1000).toFixed(1)} s, size ${size.split('\n')[0]}`);
  config = (JSON.parse(await buildah('inspect', '--type', 'image', IMAGE)) as { OCIv1: { config: ImageConfig } }).OCIv1.config;
});

test.after(async () => {
  for (const c of children) await c.stop('SIGKILL');
  for (const c of containers) await buildah('rm', c).catch(() => undefined);
});

/** Children of `pid`, recursively, read from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const walk = (p: number) => { for (const [c, pp] of parent) if (pp === p) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

/** The real, effective, saved and filesystem uids of the `node` processes under `pid`. */
function nodeUids(pid: number): number[][] {
  return descendants(pid)
    .filter((p) => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'node'; } catch { return false; } })
    .map((p) => readFileSync(`/proc/${p}/status`, 'utf8').match(/^Uid:\s+(.*)$/m)![1]!.split(/\s+/).map(Number));
}

/** `buildah run` of the image's entry point with `part`, in a fresh container. */
async function runImage(part: string, env: Record<string, string>): Promise<Child> {
  const ctr = await buildah('from', '--pull=false', '--name', `mooring-test-${process.pid}-${containers.length}`, IMAGE);
  containers.push(ctr);
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  const child = startChild('bash', [BUILD, 'buildah', 'run', '--isolation', 'chroot', ...envArgs, ctr, '--', ...config.Entrypoint!, part], {});
  children.push(child);
  return child;
}

async function stopImage(child: Child): Promise<void> {
  const nodes = descendants(child.proc.pid!);
  await child.stop('SIGTERM');
  for (const p of nodes) if (existsSync(`/proc/${p}`)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
}

test('the image runs its entry point as a non-root user', () => {
  console.log(`image: entrypoint ${JSON.stringify(config.Entrypoint)}, user ${config.User}, workdir ${config.WorkingDir}`);
  assert.equal(config.Entrypoint, ['node', 'dist/cli/serve.js']);
  assert.is(config.User, `${NON_ROOT}:${NON_ROOT}`);
  assert.ok(config.Env?.includes('MOORING_DATA_DIR=/var/lib/mooring'));
});

test('buildah run <image> gateway: CONNACK 0 for the demo device, 4 for a wrong password, as uid 10001', async () => {
  const port = await freePort();
  const child = await runImage('gateway', {
    MOORING_HOST: '127.0.0.1', MOORING_MQTT_PORT: String(port), MOORING_MQTT_WS_PORT: '0', MOORING_INGRESS_PORT: '0', MOORING_DEMO_SINK_PORT: '0',
  });
  await child.waitFor(new RegExp(`MQTT\\s+tcp://localhost:${port}`), 120_000);
  const ok = await connackCode(port, 'demo-device@demo-app', 'demo-secret');
  const refused = await connackCode(port, 'demo-device@demo-app', 'wrong');
  const uids = nodeUids(child.proc.pid!);
  console.log(`image gateway: CONNACK ${ok} (right password), ${refused} (wrong password); node processes' uids ${JSON.stringify(uids)}`);
  assert.is(ok, 0);
  assert.is(refused, 4);
  assert.is(uids.length, 1);
  assert.equal(uids[0], [NON_ROOT, NON_ROOT, NON_ROOT, NON_ROOT]);
  await stopImage(child);
});

test('buildah run <image> function: the normalize function answers /health/readiness 200', async () => {
  const port = await freePort();
  const child = await runImage('function', { MOORING_FUNCTION: 'normalize', PORT: String(port) });
  let status = 0;
  for (let i = 0; i < 1200 && status !== 200; i++) {
    status = await fetch(`http://127.0.0.1:${port}/health/readiness`).then((r) => r.status, () => 0);
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`image function normalize: readiness ${status}`);
  assert.is(status, 200, child.output().slice(-2000));
  await stopImage(child);
});

test.run();
