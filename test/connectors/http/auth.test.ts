// Drogue's HTTP authentication forms (reference apps §1.3), each with curl or node's fetch, each
// failure answered 403 with the JSON error body; gateways publish for a device with `as`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventTypes, PublishExt } from '../../../events/types.ts';
import { request as requestFn } from 'node:http';
import { basic, curl, httpFixture, type HttpFixture } from './fixture.ts';

let f: HttpFixture;
test.before(async () => { f = await httpFixture(); });
test.after(async () => { await f.close(); });

const last = () => f.bus.events[f.bus.events.length - 1]!;

async function accepted(res: Response, sender: string, device = sender): Promise<void> {
  assert.is(res.status, 202, await res.clone().text());
  assert.is(await res.text(), '');
  const e = last();
  assert.is(e.type, EventTypes.publish);
  assert.is(e.extensions[PublishExt.sender], sender);
  assert.is(e.extensions[PublishExt.device], device);
  assert.is(e.extensions[PublishExt.endpoint], 'http');
}

async function refused(res: Response, status = 403, code = 'MOORING_FORBIDDEN'): Promise<void> {
  assert.is(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = await res.json() as { error: string; message: string };
  assert.is(body.error, code);
  assert.type(body.message, 'string');
}

test('form 1: Basic dev@app:pw (curl)', async () => {
  const r = await curl(['-u', 'device1@app1:hey', '-d', '{"t":1}', `${f.url}/v1/temp`]);
  assert.is(r.status, 202);
  assert.is(last().extensions[PublishExt.sender], 'device1');
});

test('form 1: the device part is percent-decoded, an alias works', async () => {
  // serial%2D42 decodes to serial-42, the device's alias.
  await accepted(await f.post('/v1/temp', { user: 'serial%2D42@app1:pw', body: 'x' }), 'aliased');
});

test('form 2: Basic dev:pw + ?application=', async () => {
  await accepted(await f.post('/v1/temp?application=app1', { user: 'device1:hey', body: 'x' }), 'device1');
  const r = await curl(['-u', 'device1:hey', '-d', 'x', `${f.url}/v1/temp?application=app1`]);
  assert.is(r.status, 202);
});

test('form 3: Basic user:pw + ?application=&device=', async () => {
  await accepted(await f.post('/v1/temp?application=app1&device=userdev', { user: 'alice:wonder', body: 'x' }), 'userdev');
});

test('form 4: Basic user@app:pw + ?device=', async () => {
  await accepted(await f.post('/v1/temp?device=userdev', { user: 'alice@app1:wonder', body: 'x' }), 'userdev');
  const r = await curl(['-u', 'alice@app1:wonder', '-d', 'x', `${f.url}/v1/temp?device=userdev`]);
  assert.is(r.status, 202);
});

test('each form with a wrong secret or an unknown name: 403 with the JSON error', async () => {
  const before = f.bus.events.length;
  await refused(await f.post('/v1/temp', { user: 'device1@app1:nope', body: 'x' }));
  await refused(await f.post('/v1/temp', { user: 'ghost@app1:hey', body: 'x' }));
  await refused(await f.post('/v1/temp', { user: 'device1@nowhere:hey', body: 'x' }), 403, 'MOORING_NOT_AUTHORIZED');
  await refused(await f.post('/v1/temp?application=app1', { user: 'device1:nope', body: 'x' }));
  await refused(await f.post('/v1/temp?application=app1&device=userdev', { user: 'alice:nope', body: 'x' }));
  await refused(await f.post('/v1/temp?device=userdev', { user: 'alice@app1:nope', body: 'x' }));
  const r = await curl(['-u', 'device1@app1:wrong', '-d', 'x', `${f.url}/v1/temp`]);
  assert.is(r.status, 403);
  assert.is(JSON.parse(r.body).error, 'MOORING_FORBIDDEN');
  assert.is(f.bus.events.length, before, 'nothing published');
});

test('combinations Drogue does not accept: 403', async () => {
  const before = f.bus.events.length;
  await refused(await f.post('/v1/temp', { body: 'x' })); // nothing
  await refused(await f.post('/v1/temp', { user: 'device1:hey', body: 'x' })); // no application anywhere
  await refused(await f.post('/v1/temp?device=device1', { user: 'device1:hey', body: 'x' })); // ?device= with an unscoped user
  await refused(await f.post('/v1/temp?application=app1', { body: 'x' })); // hints without a header
  await refused(await f.post('/v1/temp', { headers: { authorization: 'Bearer abc' }, body: 'x' }));
  await refused(await f.post('/v1/temp', { headers: { authorization: 'basic ' + Buffer.from('device1@app1:hey').toString('base64') }, body: 'x' }));
  await refused(await f.post('/v1/temp', { headers: { authorization: 'Basic !!notbase64' }, body: 'x' }));
  await refused(await f.post('/v1/temp', { headers: { authorization: basic('device1@app1') }, body: 'x' })); // no colon
  assert.is(f.bus.events.length, before);
});

test('a disabled device or application is refused (403)', async () => {
  await refused(await f.post('/v1/temp', { user: 'off@app1:hey', body: 'x' }), 403, 'MOORING_NOT_AUTHORIZED');
  await refused(await f.post('/v1/temp', { user: 'd@offapp:hey', body: 'x' }), 403, 'MOORING_NOT_AUTHORIZED');
});

test('gateway: ?as=<device> allowed by its gatewaySelector; device = target, sender = gateway', async () => {
  await accepted(await f.post('/v1/temp?as=sensor1', { user: 'gateway1@app1:gw', body: 'x' }), 'gateway1', 'sensor1');
  const r = await curl(['-u', 'gateway1@app1:gw', '-d', 'x', `${f.url}/v1/temp?as=sensor1`]);
  assert.is(r.status, 202);
  assert.is(last().extensions[PublishExt.device], 'sensor1');
});

test('gateway: ?as= of a device that does not list it, or does not exist: 403 MOORING_NOT_AUTHORIZED', async () => {
  const before = f.bus.events.length;
  await refused(await f.post('/v1/temp?as=sensor2', { user: 'gateway1@app1:gw', body: 'x' }), 403, 'MOORING_NOT_AUTHORIZED');
  await refused(await f.post('/v1/temp?as=ghost', { user: 'gateway1@app1:gw', body: 'x' }), 403, 'MOORING_NOT_AUTHORIZED');
  await refused(await f.post('/v1/temp?as=sensor1', { user: 'device1@app1:hey', body: 'x' }), 403, 'MOORING_NOT_AUTHORIZED');
  assert.is(f.bus.events.length, before);
});

test('gateway decisions are cached, and dropped when the registry changes', async () => {
  let calls = 0;
  const g = await httpFixture({
    authorizeAs: async (req, registry) => {
      calls++;
      const { authorizeAs } = await import('../../../functions/authz/authorize-as.ts');
      return authorizeAs(req, registry);
    },
  });
  try {
    for (let i = 0; i < 3; i++) assert.is((await g.post('/v1/t?as=sensor1', { user: 'gateway1@app1:gw', body: 'x' })).status, 202);
    for (let i = 0; i < 2; i++) assert.is((await g.post('/v1/t?as=sensor2', { user: 'gateway1@app1:gw', body: 'x' })).status, 403);
    assert.is(calls, 2, 'one decision per (gateway, device), positive and negative');
    // The registry changes: sensor1 no longer lists gateway1.
    const docs = (await import('./fixture.ts')).httpDocs().map((d) => d.metadata.name === 'sensor1' ? { ...d, spec: {} } : d);
    g.registry.set(docs);
    assert.is((await g.post('/v1/t?as=sensor1', { user: 'gateway1@app1:gw', body: 'x' })).status, 403);
    assert.is(calls, 3);
    console.log(`authorizeAs calls for 6 gateway requests: ${calls}`);
  } finally {
    await g.close();
  }
});

test('a keep-alive connection is authenticated once; a registry change (device disabled) is seen at once', async () => {
  let calls = 0;
  const { authenticate } = await import('../../../functions/authz/authenticate.ts');
  const g = await httpFixture({ authenticate: async (req, registry, clock) => { calls++; return authenticate(req, registry, clock); } });
  const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
  const post = (user: string) => new Promise<number>((resolve, reject) => {
    const req = agentRequest(g.port, user, agent);
    req.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
    req.on('error', reject);
    req.end('x');
  });
  try {
    for (let i = 0; i < 5; i++) assert.is(await post('device1@app1:hey'), 202);
    assert.is(calls, 1, 'one authentication for five requests on one connection');
    assert.is(await post('device1@app1:wrong'), 403, 'other credentials on the same connection are checked');
    const { httpDocs } = await import('./fixture.ts');
    g.registry.set(httpDocs().map((d) => d.metadata.name === 'device1' ? { ...d, spec: { ...d.spec, core: { disabled: true } } } : d));
    assert.is(await post('device1@app1:hey'), 403, 'disabled: refused on the same connection');
    console.log(`authenticate calls for 7 requests on one connection: ${calls}`);
  } finally {
    agent.destroy();
    await g.close();
  }
});

function agentRequest(port: number, user: string, agent: import('node:http').Agent) {
  return requestFn({ host: '127.0.0.1', port, path: '/v1/t', method: 'POST', agent, headers: { authorization: basic(user) } });
}

test('as equal to the sender itself is ignored', async () => {
  await accepted(await f.post('/v1/temp?as=device1', { user: 'device1@app1:hey', body: 'x' }), 'device1');
});

test.run();
