// `npm run bench`: installs what is missing (scripts/ensure-bench-tools.sh), then runs every
// scenario against every target, each run on a fresh server pinned to one core and a load
// generator process pinned to another, repeats it, prints the table and rewrites
// docs/benchmarks.md. Every child process is killed when the run ends, fails or is interrupted.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, freePort, killAll, nextMessage, jsonLines, onCleanup, settledRss, spawnPinned } from './children.ts';
import { connectGen } from './connect-gen.ts';
import { machine, writeBenchmarksDoc } from './docs.ts';
import { parseOptions, type BenchOptions } from './options.ts';
import type { Job, ScenarioName } from './protocol.ts';
import { metrics, renderTable, Results, type Observation } from './report.ts';
import { spread } from './stats.ts';
import { warmUp } from './warmup.ts';
import { aedesTarget } from './targets/aedes.ts';
import { mooringEmbeddedTarget, mooringKafkaTarget } from './targets/mooring.ts';
import { mosquittoTarget } from './targets/mosquitto.ts';
import type { RunningTarget, Target, TargetName } from './targets/types.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url));
const ALL: Record<TargetName, Target> = {
  mosquitto: mosquittoTarget, aedes: aedesTarget, mooring: mooringEmbeddedTarget, 'mooring-kafka': mooringKafkaTarget,
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** bench/connect-gen's binary for the connections scenario (undefined: the node client). */
let connectClient: string | undefined;

function buildJob(o: BenchOptions, scenario: ScenarioName, t: RunningTarget, sinkPort: number): Job {
  const base = { port: t.port, credentials: t.credentials, timeLimitMs: o.timeLimitMs };
  switch (scenario) {
    case 'qos0':
    case 'qos1':
      return {
        ...base, scenario, topic: t.topic, publishers: o.publishers, payloadBytes: o.payloadBytes, window: o.window,
        messagesPerPublisher: scenario === 'qos0' ? o.qos0Messages : o.qos1Messages, countAt: t.countAt,
      };
    case 'qos1-rate':
      return {
        ...base, scenario, topic: t.topic, publishers: o.publishers, payloadBytes: o.payloadBytes,
        ratePerSecond: o.rate, durationMs: o.rateDurationMs, countAt: t.countAt,
      };
    case 'http':
      if (t.httpPort === undefined) throw new Error('the target has no HTTP device endpoint');
      return {
        ...base, scenario, httpPort: t.httpPort, path: `/v1/${t.topic}`, clients: o.publishers * o.window, identities: o.publishers,
        messagesPerClient: Math.max(1, Math.floor(o.qos1Messages / o.window)), payloadBytes: o.payloadBytes, countAt: t.countAt,
      };
    case 'connections':
      return {
        ...base, scenario, connections: o.connections, concurrency: o.connectConcurrency,
        ...(connectClient !== undefined ? { connectGen: connectClient } : {}),
      };
    case 'push-sink':
      return { ...base, scenario, expected: o.pushEvents, sinkPort };
    case 'command-rtt':
      if (!t.api) throw new Error('the target has no command API');
      return { ...base, scenario, commands: o.commands, api: t.api };
    case 'integration':
      return { ...base, scenario, expected: o.pushEvents, sinkPort, integrationPort: t.integrationPort ?? 0, ...(t.api ? { user: { username: t.api.user, token: t.api.token } } : {}) };
  }
}

/** One scenario against one target: a fresh server, one load generator run. */
async function runOnce(o: BenchOptions, target: Target, scenario: ScenarioName, workDir: string): Promise<Observation> {
  const sinkPort = await freePort();
  const running = await target.start({
    cpu: o.serverCpu, auth: scenario === 'connections', cpuProfDir: o.cpuProfDir,
    users: scenario === 'connections' ? o.connections : o.publishers, sinkPort, workDir,
  });
  try {
    await sleep(300);
    let warmUpNote: string | undefined;
    if (running.countAt.kind === 'sink' && scenario !== 'connections') {
      // Measured anyway when it fails: PUBACK figures stand; delivered counts then tell the story.
      await warmUp(running, sinkPort, 30_000).catch((e: Error) => { warmUpNote = e.message; });
    }
    const baseline = scenario === 'connections' ? await settledRss(running.pid, 1000, 5000) : 0;
    const job = buildJob(o, scenario, running, sinkPort);
    let cpu0 = 0;
    let wall0 = 0;
    const gen = spawnPinned(o.loadCpu, process.execPath, ['--import', 'tsx', LOADGEN, JSON.stringify(job)]);
    const observation: Observation = {};
    if (warmUpNote) observation.note = warmUpNote;
    jsonLines(gen.child, (m) => {
      if (m.event === 'started') {
        cpu0 = cpuSeconds(running.pid);
        wall0 = Date.now();
      } else if (m.event === 'reconnected') {
        const connected = Number(m.connected);
        if (connected > 0) observation.serverUsPerReconnect = (cpuSeconds(running.pid) - cpu0) * 1e6 / connected;
      } else if (m.event === 'idle') {
        void settledRss(running.pid, 2000, 10_000).then((rss) => {
          const connected = Number(m.connected);
          if (connected > 0) observation.bytesPerConnection = (rss - baseline) / connected;
          gen.child.stdin!.write('release\n');
        });
      } else if (m.event === 'ready' && (scenario === 'push-sink' || scenario === 'integration')) {
        void running.inject?.(o.pushEvents).catch((e: Error) => { observation.note = `inject failed: ${e.message}`; });
      }
    });
    try {
      const m = await nextMessage(gen, ['result', 'error'], (scenario === 'connections' ? 2 : 1) * o.timeLimitMs + 90_000);
      if (m.event === 'error') throw new Error(String(m.message));
      if (wall0 > 0) observation.serverCpu = (cpuSeconds(running.pid) - cpu0) / ((Date.now() - wall0) / 1000);
      const measured = m.measurement as Observation;
      const note = [observation.note, measured.note].filter(Boolean).join('; ');
      return { ...measured, ...observation, ...(note ? { note } : {}) };
    } finally {
      await gen.stop(1000);
    }
  } finally {
    await running.stop();
  }
}

function versions(list: Array<[string, string]>): Record<string, string> {
  return Object.fromEntries(list);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.install) execFileSync('bash', [join(ROOT, 'scripts/ensure-bench-tools.sh')], { stdio: 'inherit' });
  const host = machine();
  const results = new Results();
  const targets = o.targets.map((n) => ALL[n]);
  const runnable: Target[] = [];
  const versionList: Array<[string, string]> = [['node', process.version]];
  for (const t of targets) {
    const why = await t.unavailable();
    versionList.push([t.name === 'mooring-kafka' ? 'mooring (kafka)' : t.name, await t.version().catch(() => 'unknown')]);
    if (why) {
      console.log(`bench: ${t.name}: ${why}`);
      for (const s of o.scenarios) results.skip(s, t.name, t.supports(s) ? why : 'n/a');
      results.notes.push(`${t.name}: ${why}`);
    } else {
      runnable.push(t);
      for (const s of o.scenarios) if (!t.supports(s)) results.skip(s, t.name, 'n/a');
    }
  }
  if (o.scenarios.includes('connections')) {
    const built = o.connectClient === 'go' ? connectGen() : { unavailable: 'the node client was asked for (--connect-client=node)' };
    if ('path' in built) connectClient = built.path;
    else console.log(`bench: connections use the node client: ${built.unavailable}`);
    results.notes.push(`connections: the client was ${'path' in built ? 'bench/connect-gen (Go)' : `node sockets (${built.unavailable})`}`);
  }
  const workDir = mkdtempSync(join(os.tmpdir(), 'mooring-bench-'));
  chmodSync(workDir, 0o755);
  onCleanup(() => rmSync(workDir, { recursive: true, force: true }));
  try {
    for (let r = 1; r <= o.repeat; r++) {
      for (const scenario of o.scenarios) {
        // Targets interleaved within a repeat, so background noise spreads over all of them.
        for (const t of runnable) {
          if (!t.supports(scenario)) continue;
          const started = Date.now();
          process.stdout.write(`bench: run ${r}/${o.repeat} ${scenario} on ${t.name} … `);
          try {
            const obs = await runOnce(o, t, scenario, workDir);
            results.add(scenario, t.name, obs);
            if (obs.note) results.notes.push(`${t.name}, ${scenario}, run ${r}: ${obs.note}`);
            console.log(`${summary(obs)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
          } catch (e) {
            const msg = (e as Error).message.split('\n')[0]!;
            console.log(`failed: ${msg}`);
            results.skip(scenario, t.name, `failed: ${msg}`);
            results.notes.push(`${t.name}, ${scenario}, run ${r} failed: ${msg}`);
          }
        }
      }
    }
  } finally {
    for (const t of targets) await t.dispose?.().catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
  }
  const cpuNotes: string[] = [];
  for (const scenario of o.scenarios) {
    if (scenario === 'connections') continue;
    const parts = o.targets.flatMap((t) => {
      const s = spread(results.observations(scenario, t).map((x) => x.serverCpu ?? Number.NaN));
      return s ? [`${t} ${Math.round(s.median * 100)} %`] : [];
    });
    if (parts.length) cpuNotes.push(`server CPU during ${scenario} (share of its core, median): ${parts.join(', ')}`);
  }
  results.notes.unshift(...cpuNotes);
  const table = renderTable(results, metrics(o), o.targets, o.scenarios);
  console.log('\n' + table + '\n');
  for (const n of results.notes) console.log(`note: ${n}`);
  if (o.writeDocs) {
    const path = join(ROOT, 'docs/benchmarks.md');
    writeBenchmarksDoc(path, {
      when: new Date(), machine: host, versions: versions(versionList), command: o.command, table,
      notes: results.notes, remark: o.note, quick: o.quick,
      sizes: [
        `C=${o.publishers} publishers`, `QoS 0 N=${o.qos0Messages}/publisher`, `QoS 1 N=${o.qos1Messages}/publisher, W=${o.window}`,
        `fixed rate ${o.rate} msg/s for ${o.rateDurationMs / 1000} s`, `K=${o.connections} connections`,
        `push sink ${o.pushEvents} events`, `${o.commands} request/response commands, one at a time`, `${o.repeat} repeat(s)`, `payload ${o.payloadBytes} B`,
      ],
    });
    console.log(`bench: wrote ${path}`);
  }
}

function summary(m: Observation): string {
  const parts: string[] = [];
  if (m.throughput !== undefined && m.connectsPerSecond === undefined) parts.push(`${Math.round(m.throughput)} msg/s`);
  if (m.latencyP50Ms !== undefined) parts.push(`p50 ${m.latencyP50Ms.toFixed(2)} ms, p99 ${m.latencyP99Ms?.toFixed(2)} ms`);
  if (m.connectsPerSecond !== undefined) parts.push(`${Math.round(m.connectsPerSecond)} connects/s first`);
  if (m.reconnectsPerSecond !== undefined) parts.push(`${Math.round(m.reconnectsPerSecond)} connects/s on reconnect`);
  if (m.bytesPerConnection !== undefined) parts.push(`${(m.bytesPerConnection / 1024).toFixed(1)} KB/connection`);
  if (m.serverUsPerReconnect !== undefined) parts.push(`server CPU ${Math.round(m.serverUsPerReconnect)} µs/reconnect`);
  else if (m.serverCpu !== undefined) parts.push(`server CPU ${Math.round(m.serverCpu * 100)} %`);
  if (m.note) parts.push(m.note);
  return parts.join(', ');
}

main().then(
  () => { killAll(); process.exit(0); },
  (e: unknown) => { console.error(`bench: ${e instanceof Error ? e.message : String(e)}`); killAll(); process.exit(1); },
);
