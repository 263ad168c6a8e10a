// The test side of scripts/lib/local-server.sh: run a server script (kafka.sh, dynamodb.sh) and
// make sure a server a test process started dies with it.

import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Runs `bash <script> …args` from `cwd`; resolves with its trimmed stdout. */
export function runServerScript(script: string, cwd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('bash', [script, ...args], { cwd, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${basename(script)} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolvePromise(stdout.trim());
    });
  });
}

/**
 * At this process's exit, SIGKILLs server `id` of `runDir` (every process it has a `*pid` file of:
 * kube.sh runs etcd beside the apiserver) and removes its directory (synchronously: the server must
 * not outlive the test process). Returns the undo.
 */
export function killAtExit(runDir: string, id: string): () => void {
  const onExit = (): void => {
    let files: string[] = [];
    try { files = readdirSync(join(runDir, id)).filter((f) => f.endsWith('pid')); } catch { /* already gone */ }
    for (const file of files) {
      try {
        const pid = Number(readFileSync(join(runDir, id, file), 'utf8'));
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch { /* already gone */ }
    }
    rmSync(join(runDir, id), { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return () => { process.removeListener('exit', onExit); };
}
