// Debian's Mosquitto as a system under test: a configuration file written per run (loopback
// listener on a free port, no persistence, unlimited in-flight and queued messages so QoS 1 is
// never dropped, TCP_NODELAY), a password file made with mosquitto_passwd when authenticating,
// and /usr/sbin/mosquitto pinned with taskset.

import { execFile } from 'node:child_process';
import { existsSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnPinned, waitForPort } from '../children.ts';
import { brokerCredentials, type RunningTarget, type StartOptions, type Target } from './types.ts';

const run = promisify(execFile);
const MOSQUITTO = '/usr/sbin/mosquitto';

export const mosquittoTarget: Target = {
  name: 'mosquitto',
  async unavailable() {
    return existsSync(MOSQUITTO) ? undefined : `${MOSQUITTO} not installed (scripts/ensure-bench-tools.sh)`;
  },
  async version() {
    // `mosquitto -h` prints "mosquitto version X" and exits non-zero.
    const out = await run(MOSQUITTO, ['-h']).then((r) => r.stdout, (e: { stdout?: string }) => e.stdout ?? '');
    return /version\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
  },
  supports(scenario) {
    return scenario !== 'push-sink' && scenario !== 'http' && scenario !== 'command-rtt';
  },
  async start(o: StartOptions): Promise<RunningTarget> {
    const port = await freePort();
    const conf = join(o.workDir, 'mosquitto.conf');
    const lines = [
      `listener ${port} 127.0.0.1`,
      `allow_anonymous ${o.auth ? 'false' : 'true'}`,
      'max_inflight_messages 0',
      'max_queued_messages 0',
      'max_connections -1',
      'persistence false',
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
    ];
    if (o.auth) {
      // Plain `user:password` lines hashed in place by `mosquitto_passwd -U` (the bulk form of -b).
      const file = join(o.workDir, 'mosquitto.passwd');
      const users = Array.from({ length: o.users }, (_, i) => `dev${i}:pw-${i}`);
      writeFileSync(file, users.join('\n') + '\n');
      await run('mosquitto_passwd', ['-U', file]);
      chmodSync(file, 0o644);
      lines.push(`password_file ${file}`);
    }
    writeFileSync(conf, lines.join('\n') + '\n');
    chmodSync(conf, 0o644);
    const proc = spawnPinned(o.cpu, MOSQUITTO, ['-c', conf]);
    let alive = true;
    void proc.exited.then(() => { alive = false; });
    await waitForPort(port, 10_000, () => alive).catch((e: Error) => {
      throw new Error(`mosquitto did not start: ${e.message}\n${proc.stderr()}`);
    });
    return {
      port, pid: proc.pid, topic: 'telemetry',
      credentials: brokerCredentials(o.auth),
      countAt: { kind: 'subscriber', filter: '#' },
      stop: () => proc.stop(),
    };
  },
};
