// CPU probe for the reconnect path: server CPU (process.cpuUsage, user + system) per MQTT
// reconnect with sha512-crypt passwords and a warm verified-secrets cache, independent of how
// loaded the machine is. Starts Mooring in this process (cli/mooring.ts startMooring, as the
// bench's mooring-server.ts composes it), connects N devices once from a client in another process
// (warming the cache), then measures P passes of connect → CONNACK → DISCONNECT of all N.
// Usage: npx tsx bench/reconnect-cpu.ts [--devices=N] [--passes=P] [--concurrency=C] [options]
//   --hold        as the bench's connections scenario: a pass connects all N and keeps them open,
//                 then all are closed at once; only the connects are measured (closes: apart)
//   --pin         server on core 0, client on core 1 (taskset), as the bench pins them
//   --cold        no JIT warm-up pass: the first reconnect pass is measured, as in the bench
//   --heap        (node --expose-gc) JS heap held per open connection; PROBE_SNAPSHOT=FILE also
//                 writes a heap snapshot with the N connections open
//   --profile=F   a V8 CPU profile of the measured passes only (PROBE_SAMPLING_US, default 1000),
//                 for bench/profile-summary.ts
// The client is this file with --client=PORT; PROBE_USERNAME overrides its username pattern.

import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector';
import { writeHeapSnapshot } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { configFromEnv } from '../cli/config.ts';
import { startMooring } from '../cli/mooring.ts';
import { silentLogger } from '../functions/ports/index.ts';
import { cpuSeconds } from './children.ts';
import { benchPasswordHashes, readBenchHashes } from './hashes.ts';
import { mqttConnect } from './loadgen/wire.ts';
import { credentialsFor } from './protocol.ts';
import { benchRegistryYaml } from './targets/mooring-server.ts';

const arg = (name: string, fallback: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? fallback : Number(a.slice(name.length + 3));
};
const DISCONNECT = Buffer.from([0xe0, 0x00]);
const PATTERN = { clientId: 'dev{i}', username: process.env.PROBE_USERNAME ?? 'dev{i}@bench', password: 'pw-{i}' };

/**
 * The client: on `pass`, connects every device (C at a time), sends DISCONNECT, waits for the close.
 * With --hold (the bench's connections scenario): `pass` connects every device and keeps it open,
 * `close` then destroys every socket at once (no DISCONNECT), as the bench's load generator does.
 */
async function client(port: number, devices: number, concurrency: number, hold: boolean): Promise<void> {
  let held: Array<{ socket: { destroy(): void } }> = [];
  const pass = async (): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < devices) {
        const i = next++;
        const conn = await mqttConnect(port, credentialsFor(PATTERN, i), 30_000);
        if (hold) { held.push(conn); continue; }
        await new Promise<void>((resolve) => { conn.socket.once('close', () => resolve()); conn.socket.end(DISCONNECT); });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  process.on('message', (m) => {
    if (m === 'pass') void pass().then(() => process.send!('done'), (e: unknown) => { process.send!(`error ${(e as Error).message}`); });
    if (m === 'close') { for (const c of held) c.socket.destroy(); held = []; process.send!('done'); }
    if (m === 'exit') process.exit(0);
  });
  process.send!('ready');
}

async function server(): Promise<void> {
  const devices = arg('devices', 200);
  const passes = arg('passes', 10);
  const concurrency = arg('concurrency', 20);
  const hold = process.argv.includes('--hold');
  const dir = mkdtempSync(join(tmpdir(), 'mooring-reconnect-'));
  const registryPath = join(dir, 'registry.yaml');
  writeFileSync(registryPath, benchRegistryYaml(devices, '', readBenchHashes(benchPasswordHashes(devices))));
  // PROBE_KAFKA=host:port: the bus is Kafka (start one with scripts/kafka/kafka.sh start probe).
  const config = configFromEnv(process.env.PROBE_KAFKA ? { MOORING_KAFKA_BROKERS: process.env.PROBE_KAFKA } : {}, {
    registryPath, dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, ingressPort: 0, apiPort: 0, httpPort: 0,
    logLevel: 'silent', stopDrainMs: 200,
  } as never);
  const mooring = await startMooring(config, { logger: silentLogger });
  const port = mooring.mqtt.mqtt!.port;
  const child = fork(fileURLToPath(import.meta.url), [`--client=${port}`, `--devices=${devices}`, `--concurrency=${concurrency}`, ...(hold ? ['--hold'] : [])],
    { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  if (process.argv.includes('--pin')) {
    // As the bench: the server on core 0 (every thread), the client on core 1.
    execFileSync('taskset', ['-a', '-pc', '0', String(process.pid)], { stdio: 'ignore' });
    execFileSync('taskset', ['-a', '-pc', '1', String(child.pid)], { stdio: 'ignore' });
  }
  const next = (): Promise<string> => new Promise((r) => child.once('message', (m) => r(String(m))));
  let closing = { user: 0, system: 0 };
  const ask = async (what: string): Promise<void> => {
    child.send(what);
    const m = await next();
    if (m !== 'done') throw new Error(m);
  };
  let passWall = 0;
  const heapProbe = process.argv.includes('--heap');
  if (heapProbe && !global.gc) throw new Error('--heap needs node --expose-gc (node --expose-gc --import tsx bench/reconnect-cpu.ts …)');
  let heapPerConnection = 0;
  let clientCpu = 0;
  const run = async (): Promise<void> => {
    const w0 = performance.now();
    const k0 = cpuSeconds(child.pid!);
    await ask('pass');
    clientCpu += (cpuSeconds(child.pid!) - k0) * 1e6;
    passWall += performance.now() - w0;
    if (hold && heapProbe) {
      // --heap: the JS heap an open connection holds (the CPU figures then include the closes
      // and the collections).
      global.gc!();
      const held = process.memoryUsage().heapUsed;
      if (process.env.PROBE_SNAPSHOT) writeHeapSnapshot(process.env.PROBE_SNAPSHOT);
      await ask('close');
      await new Promise((r) => setTimeout(r, 1000));
      global.gc!();
      if (process.env.PROBE_SNAPSHOT) writeHeapSnapshot(`${process.env.PROBE_SNAPSHOT}.closed`);
      heapPerConnection = (held - process.memoryUsage().heapUsed) / devices;
      return;
    }
    if (hold) {
      // Only the connects are measured, as in the bench; the closes are counted apart.
      const c0 = process.cpuUsage();
      await ask('close');
      await new Promise((r) => setTimeout(r, 500));
      const c = process.cpuUsage(c0);
      closing = { user: closing.user + c.user, system: closing.system + c.system };
      return;
    }
    await new Promise((r) => setTimeout(r, 200)); // the server finishes the last disconnects
  };
  await next();
  await run(); // warm: each password verified once, the cache holds them
  // JIT warm-up; --cold measures the first reconnect pass, as the bench's one reconnect pass is.
  if (!process.argv.includes('--cold')) await run();
  closing = { user: 0, system: 0 };
  passWall = 0;
  clientCpu = 0;
  const profileTo = process.argv.find((x) => x.startsWith('--profile='))?.slice(10);
  const inspector = profileTo === undefined ? undefined : new Session();
  if (inspector) {
    inspector.connect();
    await new Promise<void>((r) => inspector.post('Profiler.enable', () => inspector.post('Profiler.setSamplingInterval', { interval: Number(process.env.PROBE_SAMPLING_US ?? 1000) }, () => inspector.post('Profiler.start', () => r()))));
  }
  const before = process.cpuUsage();
  const t0 = performance.now();
  for (let p = 0; p < passes; p++) await run();
  const all = process.cpuUsage(before);
  const cpu = { user: all.user - closing.user, system: all.system - closing.system };
  if (inspector) {
    await new Promise<void>((r, j) => inspector.post('Profiler.stop', (e, res) => {
      if (e) j(e); else { writeFileSync(profileTo!, JSON.stringify(res.profile)); r(); }
    }));
  }
  const wall = hold ? passWall : performance.now() - t0 - passes * 200;
  const n = devices * passes;
  const us = (cpu.user + cpu.system) / n;
  process.stdout.write(JSON.stringify({
    reconnects: n, cpuUsPerReconnect: Math.round(us * 10) / 10,
    userUs: Math.round(cpu.user / n * 10) / 10, systemUs: Math.round(cpu.system / n * 10) / 10,
    wallMs: Math.round(wall), perSecond: Math.round(n / (wall / 1000)), clientUs: Math.round(clientCpu / n),
    ...(heapProbe ? { heapBytesPerConnection: Math.round(heapPerConnection) } : {}),
    ...(hold ? { closeUsPerConnection: Math.round((closing.user + closing.system) / n * 10) / 10 } : {}),
  }) + '\n');
  child.send('exit');
  await mooring.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const clientPort = arg('client', 0);
if (clientPort > 0) await client(clientPort, arg('devices', 200), arg('concurrency', 20), process.argv.includes('--hold'));
else await server();
