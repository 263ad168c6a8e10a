// Child processes of a benchmark run: spawned pinned to a core (taskset), with the open-file
// limit raised to the hard limit, each in its own process group so that it and anything it
// started can be killed together. Every child is killed when the run ends, fails or is
// interrupted. Also: free loopback ports, waiting for a port, and a process's resident memory.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, signal); } catch { /* already gone */ }
}

const cleanups = new Set<() => void>();

/** Registers synchronous clean-up that runs when the bench exits, however it exits. */
export function onCleanup(fn: () => void): () => void {
  hookExit();
  cleanups.add(fn);
  return () => { cleanups.delete(fn); };
}

export function killAll(): void {
  for (const child of live) killGroup(child, 'SIGKILL');
  live.clear();
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    try { fn(); } catch { /* best effort */ }
  }
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => { killAll(); process.exit(130); });
  }
  process.on('uncaughtException', (e) => { console.error(e); killAll(); process.exit(1); });
  process.on('unhandledRejection', (e) => { console.error(e); killAll(); process.exit(1); });
}

export interface Pinned {
  child: ChildProcess;
  /** The pinned program's pid (taskset and the shell exec into it, so it is the child's pid). */
  pid: number;
  /** Everything it wrote to stderr so far (the last 8 KiB), for error messages. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it exited. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** Runs `command args…` pinned to `cpu`, with `ulimit -n` raised to the hard limit. */
export function spawnPinned(cpu: number, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Pinned {
  hookExit();
  const child = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec taskset -c "$0" "$@"', String(cpu), command, ...args], {
    cwd: options.cwd, env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'], detached: true,
  });
  live.add(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-8192); });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => { live.delete(child); resolve(code); });
    child.once('error', () => { live.delete(child); resolve(null); });
  });
  return {
    child, pid: child.pid!, stderr: () => err, exited,
    async stop(graceMs = 3000) {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on 127.0.0.1:port; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('process exited before listening');
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Waits until the RSS of `pid` changes by less than 1 % over 500 ms (at most `maxMs`), returns it. */
export async function settledRss(pid: number, minMs: number, maxMs: number): Promise<number> {
  const start = Date.now();
  await new Promise((r) => setTimeout(r, minMs));
  let last = rssBytes(pid);
  while (Date.now() - start < maxMs) {
    await new Promise((r) => setTimeout(r, 500));
    const cur = rssBytes(pid);
    if (Math.abs(cur - last) < last * 0.01) return cur;
    last = cur;
  }
  return last;
}

/** Parsed JSON lines a child writes on stdout, delivered to `onMessage` (other lines ignored). */
export function jsonLines(child: ChildProcess, onMessage: (message: Record<string, unknown>) => void): void {
  let buffer = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      try { onMessage(JSON.parse(line) as Record<string, unknown>); } catch { /* not ours */ }
    }
  });
}

/** Resolves with the first JSON line whose `event` is one of `events`; rejects on exit or timeout. */
export function nextMessage(p: Pinned, events: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${events.join('/')} within ${timeoutMs} ms\n${p.stderr()}`)), timeoutMs);
    let settled = false;
    jsonLines(p.child, (m) => {
      if (settled || typeof m.event !== 'string' || !events.includes(m.event)) return;
      settled = true;
      clearTimeout(timer);
      resolve(m);
    });
    void p.exited.then((code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${events.join('/')}\n${p.stderr()}`));
    });
  });
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (clock ticks).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
