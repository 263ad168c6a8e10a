// The entry points refuse a bad configuration before they start anything: exit code 1 and a
// message with MOORING_INVALID_CONFIG naming the variable.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;

test.before(() => { dir = mkdtempSync(join(tmpdir(), 'mooring-config-')); });
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs an entry point as `npm start` / `npm run function` do (tsx), with `env` on top of a safe base. */
function run(entry: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env: {
        ...process.env,
        MOORING_DATA_DIR: dir, MOORING_MQTT_PORT: '0', MOORING_MQTT_WS_PORT: '0', MOORING_HTTP_PORT: '0', MOORING_INGRESS_PORT: '0', MOORING_API_PORT: '0',
        MOORING_DEMO_SINK_PORT: '0', MOORING_KAFKA_BROKERS: '', MOORING_LOG_LEVEL: 'warn', ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    proc.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    // A configuration that is accepted would start a server: that is a failure, so stop it.
    proc.stdout.once('data', () => proc.kill('SIGKILL'));
    proc.once('error', reject);
    proc.once('exit', (code) => resolve({ code, output }));
  });
}

test('npm start with a bad port exits non-zero naming the variable', async () => {
  const { code, output } = await run('cli/main.ts', { MOORING_MQTT_PORT: 'eighteen83' });
  assert.is(code, 1, output);
  assert.match(output, 'mooring: MOORING_INVALID_CONFIG: MOORING_MQTT_PORT must be a port number (0-65535), got "eighteen83"');
});

test('npm start with an unknown log level exits non-zero naming the variable', async () => {
  const { code, output } = await run('cli/main.ts', { MOORING_LOG_LEVEL: 'chatty' });
  assert.is(code, 1, output);
  assert.match(output, /MOORING_INVALID_CONFIG: MOORING_LOG_LEVEL must be one of/);
});

test('npm run function with a bad PORT exits non-zero naming the variable', async () => {
  const { code, output } = await run('cli/function.ts', { MOORING_FUNCTION: 'normalize', PORT: 'http' });
  assert.is(code, 1, output);
  assert.match(output, 'mooring function: MOORING_INVALID_CONFIG: PORT must be a port number');
});

test.run();
