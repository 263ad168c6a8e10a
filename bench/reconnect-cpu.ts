// CPU probe for the reconnect path: server CPU (process.cpuUsage, user + system) per MQTT
// reconnect with sha512-crypt passwords and a warm verified-secrets cache, independent of how
// loaded the machine is. Starts Mooring in this process (cli/mooring.ts startMooring, as the
// bench's mooring-server.ts composes it), connects N devices once from a client in another process
// (warming the cache), then measures P passes of connect → CONNACK → DISCONNECT of all N.
// Usage: npx tsx [--cpu-prof] bench/reconnect-cpu.ts [--devices=N] [--passes=P] [--concurrency=C]
// (the client is this file with --client=PORT).

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configFromEnv } from '../cli/config.ts';
import { startMooring } from '../cli/mooring.ts';
import { silentLogger } from '../functions/ports/index.ts';
import { benchPasswordHashes, readBenchHashes } from './hashes.ts';
import { mqttConnect } from './loadgen/wire.ts';
import { credentialsFor } from './protocol.ts';
import { benchRegistryYaml } from './targets/mooring-server.ts';

const arg = (name: string, fallback: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? fallback : Number(a.slice(name.length + 3));
};
const DISCONNECT = Buffer.from([0xe0, 0x00]);
const PATTERN = { clientId: 'dev{i}', username: 'dev{i}@bench', password: 'pw-{i}' };

/** The client: on `pass`, connects every device (C at a time), sends DISCONNECT, waits for the close. */
async function client(port: number, devices: number, concurrency: number): Promise<void> {
  const pass = async (): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < devices) {
        const i = next++;
        const conn = await mqttConnect(port, credentialsFor(PATTERN, i), 30_000);
        await new Promise<void>((resolve) => { conn.socket.once('close', () => resolve()); conn.socket.end(DISCONNECT); });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  process.on('message', (m) => {
    if (m === 'pass') void pass().then(() => process.send!('done'), (e: unknown) => { process.send!(`error ${(e as Error).message}`); });
    if (m === 'exit') process.exit(0);
  });
  process.send!('ready');
}

async function server(): Promise<void> {
  const devices = arg('devices', 200);
  const passes = arg('passes', 10);
  const concurrency = arg('concurrency', 20);
  const dir = mkdtempSync(join(tmpdir(), 'mooring-reconnect-'));
  const registryPath = join(dir, 'registry.yaml');
  writeFileSync(registryPath, benchRegistryYaml(devices, '', readBenchHashes(benchPasswordHashes(devices))));
  const config = configFromEnv({}, {
    registryPath, dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, ingressPort: 0, apiPort: 0, httpPort: 0,
    logLevel: 'silent', stopDrainMs: 200,
  } as never);
  const mooring = await startMooring(config, { logger: silentLogger });
  const port = mooring.mqtt.mqtt!.port;
  const child = fork(fileURLToPath(import.meta.url), [`--client=${port}`, `--devices=${devices}`, `--concurrency=${concurrency}`],
    { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const next = (): Promise<string> => new Promise((r) => child.once('message', (m) => r(String(m))));
  const run = async (): Promise<void> => {
    child.send('pass');
    const m = await next();
    if (m !== 'done') throw new Error(m);
    await new Promise((r) => setTimeout(r, 200)); // the server finishes the last disconnects
  };
  await next();
  await run(); // warm: each password verified once, the cache holds them
  await run(); // JIT warm-up
  const before = process.cpuUsage();
  const t0 = performance.now();
  for (let p = 0; p < passes; p++) await run();
  const cpu = process.cpuUsage(before);
  const wall = performance.now() - t0 - passes * 200;
  const n = devices * passes;
  const us = (cpu.user + cpu.system) / n;
  process.stdout.write(JSON.stringify({
    reconnects: n, cpuUsPerReconnect: Math.round(us * 10) / 10,
    userUs: Math.round(cpu.user / n * 10) / 10, systemUs: Math.round(cpu.system / n * 10) / 10,
    wallMs: Math.round(wall),
  }) + '\n');
  child.send('exit');
  await mooring.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const clientPort = arg('client', 0);
if (clientPort > 0) await client(clientPort, arg('devices', 200), arg('concurrency', 20));
else await server();
