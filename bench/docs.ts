// Writes docs/benchmarks.md from a run: machine, versions, the exact command, the table, notes
// and the method. The "Profile findings" section between `<!-- profile:start -->` and
// `<!-- profile:end -->` is human-written: a run keeps it exactly as it was.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memory: string;
  kernel: string;
  loadAverage: string;
}

export function machine(): Machine {
  const model = /^model name\s*:\s*(.+)$/m.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1];
  return {
    cpus: os.availableParallelism(),
    cpuModel: model ?? os.cpus()[0]?.model ?? 'unknown',
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

const START = '<!-- profile:start -->';
const END = '<!-- profile:end -->';
const DEFAULT_PROFILE = `${START}
No profile recorded yet. Profile Mooring's hot path with \`node --cpu-prof\` on the server process
(\`npm run bench -- --targets=mooring --only=qos0 --repeat=1 --cpu-prof\` writes
\`.cache/bench-profiles/*.cpuprofile\`; open them in Chrome DevTools) and write down here
what dominates and what was changed because of it. A benchmark run never rewrites this section.
${END}`;

export interface DocInput {
  when: Date;
  machine: Machine;
  versions: Record<string, string>;
  command: string;
  table: string;
  notes: string[];
  remark: string | undefined;
  sizes: string[];
  quick: boolean;
}

export function writeBenchmarksDoc(path: string, d: DocInput): void {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const s = old.indexOf(START);
  const e = old.indexOf(END);
  const profile = s >= 0 && e > s ? old.slice(s, e + END.length) : DEFAULT_PROFILE;
  const text = `# Benchmarks: Mooring, Mosquitto and Aedes on the same load

Written by \`npm run bench\` (bench/run.ts) — do not edit by hand except the "Profile findings"
section, which a run keeps as it is. Re-run to refresh; \`npm run bench -- --help\` lists the options.

## Run

- **when**: ${d.when.toISOString()}${d.quick ? ' (**--quick**: a smoke run with small sizes, not for comparison)' : ''}
- **command**: \`${d.command}\`
- **machine**: ${d.machine.cpus} CPUs (${d.machine.cpuModel}), ${d.machine.memory} memory, ${d.machine.kernel}; load average at start ${d.machine.loadAverage}
- **versions**: ${Object.entries(d.versions).map(([k, v]) => `${k} ${v}`).join(', ')}
- **sizes**: ${d.sizes.join('; ')}
${d.remark ? `- **remark**: ${d.remark}\n` : ''}
## Results

Median over the repeats, with (min–max). ↓ marks metrics where lower is better; a ratio is
Mooring's median divided by the broker's, so above 1× is better for throughput and worse for ↓ rows.

${d.table}
${d.notes.length ? `\nNotes from the run:\n\n${d.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}
## Method

- The system under test runs pinned to one core (\`taskset -c 0\`), the load generator
  (bench/loadgen.ts, its own node process) to another (\`taskset -c 1\`). Every scenario run starts
  a fresh server process. Traffic stays on 127.0.0.1.
- The load generator uses raw sockets: every packet is generated once by \`mqtt-packet\` and reused
  as bytes; incoming frames are split by a minimal fixed-header scanner (a full parse per message
  would make the generator the bottleneck). MQTT 3.1.1, clean session, payload a 100-byte JSON document.
- **QoS 0 ingest**: C publishers each write N messages as fast as their sockets drain. The brokers
  are counted at a subscriber on \`#\` (QoS 0, in the load generator process); Mooring at the
  application sink (an HTTP server in the load generator process counting \`io.drogue.event.v1\`
  POSTs), i.e. end to end. Rate = messages delivered / (last delivery − first send).
- **QoS 1 ingest**: C connections, each keeping W messages unacknowledged; throughput = PUBACKs/s,
  latency = PUBLISH written → PUBACK read. The brokers have the \`#\` subscriber attached, Mooring
  delivers to the sink, so both do their full work.
- **QoS 1 at a fixed rate**: open loop, message j is due at t0 + j/rate, spread over C connections;
  latency is measured from the due time (no coordinated omission).
- **Connections**: K connections, 100 connecting at once, each authenticated with its own
  username/password, stored hashed (Mosquitto: \`password_file\` hashed by \`mosquitto_passwd\`,
  PBKDF2-SHA512; Mooring: registry devices whose \`pass\` credential is sha512-crypt with 5000
  rounds, what \`drg\` writes and the registry API stores; Aedes: an \`authenticate\` hook over a
  plain map). The first pass is each identity's first connect (a cold hash check); then all K
  disconnect and connect again (the reconnect pass, as a fleet after a network blip: Mooring's
  cache of verified secrets skips the hash, Mosquitto computes it again). Mooring builds each
  connection's connected/disconnected events and puts them on the bus (through normalize and
  content-type), but the bench application has no push endpoint in this scenario (nothing listens
  there; pushing is the push sink row).
  The connections are opened by bench/connect-gen, a small Go client (built once with the
  machine's Go into ~/.cache/mooring/bench; \`--connect-client=node\` uses node sockets instead):
  the node load generator spent its whole core on 10,000 connects, 90–150 µs of CPU each and
  varying from run to run, so the reconnect row measured the generator, not the broker (the Go
  client: about 80 µs, 17 µs of it in user space, the rest the kernel's TCP work).
  Server CPU per reconnect = the server's user + system CPU time during the reconnect pass / K.
  Memory = (VmRSS of the server after the first K connections settle − VmRSS before) / K.
- **Push sink**: Mooring only: N device events put straight into the bus, counted at the local
  HTTP application; rate from the first to the last delivery.
- Mosquitto runs with \`max_inflight_messages 0\`, \`max_queued_messages 0\` (so QoS 1 is never
  dropped), persistence off, \`set_tcp_nodelay true\`; Aedes with its in-memory defaults behind a
  TCP server with TCP_NODELAY.
- Benchmarks never run as tests and never assert on time.

## Profile findings

${profile}
`;
  writeFileSync(path, text);
}
