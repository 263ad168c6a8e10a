// OpenTofu for the tests of infra/terraform, with the providers of its filesystem mirror
// (scripts/tofu/tofu.sh). The suite's runner provisions it before the run; a test file run alone
// provisions here (the first time on a machine this builds OpenTofu and the providers from the Go
// module proxy: minutes, cached outside the clone). Nothing is skipped when the build is missing.

import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runServerScript } from './local-server.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const TERRAFORM_DIR = join(ROOT, 'infra/terraform');
const SCRIPT = join(ROOT, 'scripts/tofu/tofu.sh');

let provisioned: Promise<void> | undefined;

/** Resolves once tofu and the providers are built (at once when cached). */
export function ensureTofu(): Promise<void> {
  provisioned ??= runServerScript(SCRIPT, ROOT, ['provision'], 3_600_000).then(() => undefined);
  return provisioned;
}

export interface TofuResult { code: number; stdout: string; stderr: string }

/** Runs `tofu <args>` in `cwd` with the mirror's CLI configuration (`input` on stdin); never rejects on a non-zero exit. */
export async function tofu(cwd: string, args: string[], timeoutMs = 600_000, input = ''): Promise<TofuResult> {
  await ensureTofu();
  return new Promise((resolvePromise) => {
    const child = execFile('bash', [SCRIPT, 'run', ...args], {
      cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20,
      // Plugins and state stay in cwd's .terraform; no prompt, no colour, no checkpoint calls.
      env: { ...process.env, TF_INPUT: '0', NO_COLOR: '1', CHECKPOINT_DISABLE: '1', TF_DATA_DIR: join(cwd, '.terraform') },
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

/** `tofu <args>` that must succeed: resolves with stdout, rejects with both streams. */
export async function tofuOk(cwd: string, args: string[], timeoutMs?: number, input?: string): Promise<string> {
  const r = await tofu(cwd, args, timeoutMs, input);
  if (r.code !== 0) throw new Error(`tofu ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * `tofu destroy` that must succeed. The Kafka provider's admin client (sarama) sometimes loses its
 * broker connection while it deletes topics in parallel and fails the destroy with "kafka: broker
 * not connected" (seen once in a CI run, the other topic deleted meanwhile); the state still holds
 * what is left, so that one error gets one more destroy, and says so.
 */
export async function tofuDestroyOk(cwd: string, timeoutMs?: number): Promise<string> {
  const args = ['destroy', '-auto-approve', '-input=false'];
  const first = await tofu(cwd, args, timeoutMs);
  if (first.code === 0) return first.stdout;
  if (!/kafka: broker not connected/.test(first.stdout + first.stderr)) {
    throw new Error(`tofu ${args.join(' ')} exited ${first.code}\n${first.stdout}\n${first.stderr}`);
  }
  console.log('tofu destroy: the Kafka provider lost its broker connection; destroying the rest again');
  return tofuOk(cwd, args, timeoutMs);
}

/**
 * A copy of the root configuration `dir` (its *.tf files) in a fresh temporary directory, module
 * sources pointing at the checkout's modules, so init and state never touch the clone.
 */
export async function copyRoot(dir: string, extra: Record<string, string> = {}): Promise<string> {
  const out = await mkdtemp(join(os.tmpdir(), 'mooring-tofu-'));
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.tf'))) {
    const text = await readFile(join(dir, f), 'utf8');
    await writeFile(join(out, f), text.replace(/^(\s*source\s*=\s*")\.\.\/\.\.\/modules\/([a-z]+)"/gm, (_, head: string, name: string) => `${head}${moduleSource(out, name)}"`));
  }
  for (const [name, text] of Object.entries(extra)) await writeFile(join(out, name), text);
  return out;
}

/**
 * The `source` of module `name` for a root configuration in `root`: a relative path, since tofu
 * copies a module given by an absolute path (and the knative module finds the manifests relative
 * to its own directory).
 */
export function moduleSource(root: string, name: string): string {
  return relative(root, join(TERRAFORM_DIR, 'modules', name));
}

/** Every directory of infra/terraform with .tf files (the modules and the examples). */
export async function terraformDirs(): Promise<string[]> {
  const out: string[] = [];
  for (const group of ['modules', 'examples']) {
    for (const e of await readdir(join(TERRAFORM_DIR, group), { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const files = await readdir(join(TERRAFORM_DIR, group, e.name));
      if (files.some((f) => f.endsWith('.tf'))) out.push(join(TERRAFORM_DIR, group, e.name));
    }
  }
  return out.sort();
}
