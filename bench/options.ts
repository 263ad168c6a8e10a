// Command-line options of `npm run bench` and the sizes of each scenario (full or --quick).

import { resolve } from 'node:path';
import { SCENARIOS, type ScenarioName } from './protocol.ts';
import { TARGETS, type TargetName } from './targets/types.ts';

export interface BenchOptions {
  quick: boolean;
  repeat: number;
  scenarios: ScenarioName[];
  targets: TargetName[];
  /** Publishers (connections) in the ingest scenarios. */
  publishers: number;
  /** QoS 0 messages per publisher. */
  qos0Messages: number;
  /** QoS 1 messages per publisher. */
  qos1Messages: number;
  /** QoS 1 unacknowledged messages per connection. */
  window: number;
  payloadBytes: number;
  /** Fixed offered rate (msg/s) and how long it is offered. */
  rate: number;
  rateDurationMs: number;
  /** Idle connections opened in the connections scenario, and how many connect at once. */
  connections: number;
  connectConcurrency: number;
  /** Who opens the connections scenario's connections: bench/connect-gen (Go) or node sockets. */
  connectClient: 'go' | 'node';
  /** Events put into the bus for the push sink scenario. */
  pushEvents: number;
  /** Request/response commands sent one after another in the command round trip scenario. */
  commands: number;
  /** Time limit of one scenario run. */
  timeLimitMs: number;
  /** Core of the system under test and of the load generator. */
  serverCpu: number;
  loadCpu: number;
  install: boolean;
  writeDocs: boolean;
  /** Where node servers write V8 CPU profiles (--cpu-prof), if asked. */
  cpuProfDir: string | undefined;
  /** Free text recorded in docs/benchmarks.md (e.g. "machine shared with running tests"). */
  note: string | undefined;
  /** The command line as typed, for the docs. */
  command: string;
}

const USAGE = `usage: npm run bench -- [options]
  --quick                 small sizes (K=1000), one repeat: a smoke run
  --repeat=R              runs per scenario (default 3; --quick: 1)
  --only=a,b              scenarios: ${SCENARIOS.join(', ')}
  --targets=a,b           targets: ${TARGETS.join(', ')}
  --connections=K         idle connections (default 10000; --quick: 1000)
  --connect-client=go|node  who opens the connections scenario's connections (default go:
                          bench/connect-gen, built once with the machine's Go; node: node sockets)
  --publishers=C          ingest connections (default 10)
  --messages=N            QoS 0 messages per publisher (default 50000; QoS 1 uses N/5)
  --window=W              QoS 1 unacknowledged messages per connection (default 16)
  --rate=R                fixed offered QoS 1 rate in msg/s (default 10000)
  --duration=S            seconds the fixed rate is offered (default 10; --quick: 3)
  --push-events=N         events for the push sink scenario (default 100000)
  --commands=N            request/response commands, one at a time (default 2000; --quick: 300)
  --time-limit=S          time limit of one scenario run in seconds (default 90; --quick: 30)
  --server-cpu=N --load-cpu=N   cores for taskset (default 0 and 1)
  --cpu-prof[=DIR]        node servers (Mooring, Aedes) write V8 CPU profiles to DIR
                          (default .cache/bench-profiles)
  --no-install            do not install missing tools
  --no-docs               do not rewrite docs/benchmarks.md
  --note=TEXT             a remark recorded with the run in docs/benchmarks.md`;

function list<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new Error(`unknown ${what} "${item}" (one of ${allowed.join(', ')})`);
  }
  return items as T[];
}

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} wants a positive number, got "${value}"`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') { console.log(USAGE); process.exit(0); }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument "${arg}"\n${USAGE}`);
    flags.set(m[1]!, m[2] ?? 'true');
  }
  const known = ['quick', 'repeat', 'only', 'targets', 'connections', 'publishers', 'messages', 'window', 'rate',
    'duration', 'push-events', 'commands', 'time-limit', 'server-cpu', 'load-cpu', 'no-install', 'no-docs', 'note', 'cpu-prof', 'connect-client'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k}\n${USAGE}`);

  const quick = flags.has('quick');
  const get = (name: string, full: number, q: number): number =>
    flags.has(name) ? positive(flags.get(name)!, name) : quick ? q : full;
  const messages = get('messages', 50_000, 5_000);
  return {
    quick,
    repeat: Math.floor(get('repeat', 3, 1)),
    scenarios: flags.has('only') ? list(flags.get('only')!, SCENARIOS, 'scenario') : [...SCENARIOS],
    targets: flags.has('targets') ? list(flags.get('targets')!, TARGETS, 'target') : [...TARGETS],
    publishers: Math.floor(get('publishers', 10, 10)),
    qos0Messages: Math.floor(messages),
    qos1Messages: Math.max(1, Math.floor(messages / 5)),
    window: Math.floor(get('window', 16, 16)),
    payloadBytes: 100,
    rate: get('rate', 10_000, 10_000),
    rateDurationMs: get('duration', 10, 3) * 1000,
    connections: Math.floor(get('connections', 10_000, 1_000)),
    connectConcurrency: 100,
    connectClient: flags.has('connect-client') ? list(String(flags.get('connect-client')), ['go', 'node'] as const, 'connect client')[0]! : 'go',
    pushEvents: Math.floor(get('push-events', 100_000, 10_000)),
    commands: Math.floor(get('commands', 2000, 300)),
    timeLimitMs: get('time-limit', 90, 30) * 1000,
    serverCpu: Math.floor(flags.has('server-cpu') ? Number(flags.get('server-cpu')) : 0),
    loadCpu: Math.floor(flags.has('load-cpu') ? Number(flags.get('load-cpu')) : 1),
    install: !flags.has('no-install'),
    writeDocs: !flags.has('no-docs'),
    cpuProfDir: !flags.has('cpu-prof') ? undefined
      : flags.get('cpu-prof') === 'true' ? resolve('.cache/bench-profiles') : resolve(flags.get('cpu-prof')!),
    note: flags.get('note'),
    command: ['npm run bench', ...(argv.length ? ['--', ...argv.map((a) => (/[\s"'$]/.test(a) ? `'${a}'` : a))] : [])].join(' '),
  };
}
