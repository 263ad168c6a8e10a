import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authz } from '../../../functions/authz/index.ts';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { validateEvent } from '../../../events/validate.ts';
import { isMooringError } from '../../../events/errors.ts';
import { silentLogger, type FunctionContext } from '../../../functions/ports/runtime.ts';
import { app, device, memoryRegistry } from '../../helpers/memory-registry.ts';

const ctx: FunctionContext = {
  registry: memoryRegistry([
    app('app1'),
    device('app1', 'gw', { authentication: { credentials: [{ pass: 'pw' }] } }),
    device('app1', 's1', { gatewaySelector: { matchNames: ['gw'] }, authentication: { credentials: [{ pass: 'x' }] } }),
  ]),
  clock: { now: () => Date.parse('2024-06-01T00:00:00Z') },
  logger: silentLogger,
  instance: 'drogue',
  newId: () => 'reply-1',
};

function request(type: string, data: unknown): CloudEvent {
  return {
    specversion: '1.0', id: 'req-1', source: 'mooring:mqtt', type, datacontenttype: 'application/json',
    data: new TextEncoder().encode(JSON.stringify(data)), extensions: {},
  };
}

async function call(e: CloudEvent): Promise<{ event: CloudEvent; body: Record<string, unknown> }> {
  const r = (await authz.handle(e, ctx)) as CloudEvent;
  assert.ok(validateEvent(r).ok, JSON.stringify(validateEvent(r)));
  return { event: r, body: JSON.parse(new TextDecoder().decode(r.data)) as Record<string, unknown> };
}

test('authn request → authn response with the device, credentials removed', async () => {
  const req = request('io.mooring.authn.request.v1', { username: 'gw@app1', password: 'pw' });
  assert.ok(validateEvent(req).ok);
  const { event, body } = await call(req);
  assert.is(event.type, 'io.mooring.authn.response.v1');
  assert.is(event.extensions.inreplyto, 'req-1');
  assert.is(body.ok, true);
  const dev = body.device as { metadata: { name: string }; spec: Record<string, unknown> };
  assert.is(dev.metadata.name, 'gw');
  assert.is(dev.spec.authentication, undefined);
  assert.not.match(JSON.stringify(body), '"pw"');
});

test('authn request with a base64 password', async () => {
  const { body } = await call(request('io.mooring.authn.request.v1', { username: 'gw@app1', passwordBase64: Buffer.from('pw').toString('base64') }));
  assert.is(body.ok, true);
});

test('authn refusal carries reason and message', async () => {
  const { body } = await call(request('io.mooring.authn.request.v1', { username: 'gw@app1', password: 'no' }));
  assert.equal({ ok: body.ok, reason: body.reason }, { ok: false, reason: 'bad-credentials' });
  assert.type(body.message, 'string');
});

test('authz request → authz response', async () => {
  const ok = await call(request('io.mooring.authz.request.v1', { application: 'app1', sender: 'gw', device: 's1' }));
  assert.is(ok.event.type, 'io.mooring.authz.response.v1');
  assert.is(ok.body.ok, true);
  assert.is((ok.body.device as { spec: Record<string, unknown> }).spec.authentication, undefined);
  const no = await call(request('io.mooring.authz.request.v1', { application: 'app1', sender: 's1', device: 'gw' }));
  assert.equal({ ok: no.body.ok, reason: no.body.reason }, { ok: false, reason: 'not-authorized' });
});

test('malformed requests and other types are MOORING_INVALID_EVENT', async () => {
  const bad: CloudEvent[] = [
    request('io.drogue.event.v1', {}),
    request('io.mooring.authz.request.v1', { application: 'app1' }),
    request('io.mooring.authn.request.v1', { username: 5 }),
    request('io.mooring.authn.request.v1', { certificateChain: 'pem' }),
    { ...request('io.mooring.authn.request.v1', {}), data: new TextEncoder().encode('{nope') },
    { ...request('io.mooring.authn.request.v1', {}), data: undefined },
  ];
  for (const e of bad) {
    try {
      await authz.handle(e, ctx);
      assert.unreachable(e.type);
    } catch (err) {
      assert.ok(isMooringError(err, 'MOORING_INVALID_EVENT'), String(err));
    }
  }
});

test.run();
