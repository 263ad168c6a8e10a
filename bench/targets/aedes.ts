// Aedes (npm) as a system under test: bench/targets/aedes-server.ts in its own node process,
// pinned with taskset; authentication through its `authenticate` hook when asked for.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { freePort, spawnPinned, waitForPort } from '../children.ts';
import { brokerCredentials, nodeArgs, type RunningTarget, type StartOptions, type Target } from './types.ts';

const require = createRequire(import.meta.url);
const SERVER = fileURLToPath(new URL('./aedes-server.ts', import.meta.url));

export const aedesTarget: Target = {
  name: 'aedes',
  async unavailable() {
    try { require.resolve('aedes'); return undefined; } catch { return 'aedes is not installed (npm install)'; }
  },
  async version() {
    // aedes' exports map hides package.json: walk up from its entry point.
    let dir = dirname(require.resolve('aedes'));
    while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  },
  supports(scenario) {
    return scenario !== 'push-sink' && scenario !== 'http' && scenario !== 'command-rtt';
  },
  async start(o: StartOptions): Promise<RunningTarget> {
    const port = await freePort();
    const proc = spawnPinned(o.cpu, process.execPath, nodeArgs(SERVER, o.cpuProfDir), {
      env: { PORT: String(port), AUTH_USERS: o.auth ? String(o.users) : '0' },
    });
    let alive = true;
    void proc.exited.then(() => { alive = false; });
    await waitForPort(port, 20_000, () => alive).catch((e: Error) => {
      throw new Error(`aedes did not start: ${e.message}\n${proc.stderr()}`);
    });
    return {
      port, pid: proc.pid, topic: 'telemetry',
      credentials: brokerCredentials(o.auth),
      countAt: { kind: 'subscriber', filter: '#' },
      stop: () => proc.stop(),
    };
  },
};
