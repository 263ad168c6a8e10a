// Command waiting on the HTTP endpoint (`ct`) end to end in embedded mode as `npm start` wires it:
// while a request waits, its device is in the connection directory under this instance, so
// command-dispatch routes the command here and the request answers 200 with it (payload, `command`
// header, content type, and `device` for a gateway). A command sent by the application in
// reaction to the event itself arrives (the wait starts before the publish); too late is 202.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { configFromEnv } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';

let dir: string;
let mooring: Mooring;
let app: Server;
const reactions: string[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-http-cmd-'));
  // The application: for an event on channel `react` it sends a command back at once.
  app = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const device = String(req.headers['ce-device']);
      if (req.headers['ce-subject'] === 'react') {
        reactions.push(device);
        void mooring.commands.sendCommand({ application: 'app1', device, command: 'REACT', payload: Buffer.from('pong') });
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
  const registryPath = join(dir, 'registry.yaml');
  const device = (name: string, extra = '') =>
    `kind: Device\nmetadata:\n  name: ${name}\n  application: app1\nspec:\n  authentication:\n    credentials:\n      - pass: secret\n${extra}`;
  writeFileSync(registryPath, [
    `kind: Application\nmetadata:\n  name: app1\nspec:\n  knative:\n    endpoint:\n      url: http://127.0.0.1:${(app.address() as AddressInfo).port}/\n`,
    device('gw'),
    device('dev', '  gatewaySelector:\n    matchNames: [gw]\n'),
    device('lone'),
    device('late'),
    device('quitter'),
  ].join('---\n'));
  const config = configFromEnv({}, { registryPath, dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0, demoSinkPort: 0 });
  mooring = await startMooring(config, { logger: silentLogger });
});

test.after(async () => {
  await mooring?.close();
  await new Promise((r) => app.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const base = () => `http://127.0.0.1:${mooring.httpAddresses.http!.port}`;
const post = (path: string, user: string, signal?: AbortSignal) => fetch(base() + path, {
  method: 'POST', body: '{"t":1}', headers: { authorization: `Basic ${Buffer.from(user).toString('base64')}`, 'content-type': 'application/json' },
  ...(signal ? { signal } : {}),
});

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const inDirectory = async (device: string) => (await mooring.directory.lookup('app1', device)) !== undefined;

test('a command in time: 200 with the payload, the command header and its content type', async () => {
  const pending = post('/v1/t?ct=20', 'lone@app1:secret');
  await until('the waiting request in the directory', () => inDirectory('lone'));
  const sent = await mooring.commands.sendCommand({ application: 'app1', device: 'lone', command: 'SET', payload: Buffer.from('{"on":1}'), contentType: 'application/json' });
  assert.is(sent.outcome, 'delivered');
  const res = await pending;
  assert.is(res.status, 200);
  assert.is(res.headers.get('command'), 'SET');
  assert.is(res.headers.get('content-type'), 'application/json');
  assert.is(res.headers.get('device'), null);
  assert.is(await res.text(), '{"on":1}');
  await until('the directory entry released', async () => !(await inDirectory('lone')));
});

test('a command the application sends in reaction to the event is not missed', async () => {
  const res = await post('/v1/react?ct=20', 'lone@app1:secret');
  assert.is(res.status, 200);
  assert.is(res.headers.get('command'), 'REACT');
  assert.is(await res.text(), 'pong');
  assert.equal(reactions, ['lone']);
});

test('too late: 202 after ct seconds, and the command then finds nobody', async () => {
  const res = await post('/v1/t?commandTimeout=1', 'late@app1:secret');
  assert.is(res.status, 202);
  assert.is(await res.text(), '');
  await until('released', async () => !(await inDirectory('late')));
  const sent = await mooring.commands.sendCommand({ application: 'app1', device: 'late', command: 'SET', payload: Buffer.from('x') });
  assert.is(sent.outcome, 'offline');
});

test('a gateway waiting with ?as= gets the command for that device, with the device header', async () => {
  const pending = post('/v1/t?as=dev&ct=20', 'gw@app1:secret');
  await until('gw in the directory', () => inDirectory('gw'));
  const sent = await mooring.commands.sendCommand({ application: 'app1', device: 'dev', command: 'OPEN', payload: Buffer.from('1') });
  assert.is(sent.outcome, 'delivered');
  const res = await pending;
  assert.is(res.status, 200);
  assert.is(res.headers.get('command'), 'OPEN');
  assert.is(res.headers.get('device'), 'dev');
  assert.is(await res.text(), '1');
});

test('a gateway waiting without as gets its devices\' commands too (Drogue\'s wildcard)', async () => {
  const pending = post('/v1/t?ct=20', 'gw@app1:secret');
  await until('gw in the directory', () => inDirectory('gw'));
  await mooring.commands.sendCommand({ application: 'app1', device: 'dev', command: 'CLOSE', payload: Buffer.from('0') });
  const res = await pending;
  assert.is(res.status, 200);
  assert.is(res.headers.get('device'), 'dev');
  assert.is(res.headers.get('command'), 'CLOSE');
});

test('a client that goes away while waiting leaves the directory at once', async () => {
  const abort = new AbortController();
  const pending = post('/v1/t?ct=30', 'quitter@app1:secret', abort.signal).catch(() => 'aborted');
  await until('quitter in the directory', () => inDirectory('quitter'));
  abort.abort();
  assert.is(await pending, 'aborted');
  await until('released', async () => !(await inDirectory('quitter')));
  assert.is(mooring.http.waiting, 0);
});

test.run();
