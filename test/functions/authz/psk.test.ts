import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pskKeyFor } from '../../../functions/authz/psk.ts';
import { authenticate } from '../../../functions/authz/authenticate.ts';
import { app, device, memoryRegistry } from '../../helpers/memory-registry.ts';

const T0 = Date.parse('2024-06-01T00:00:00Z');
const clock = { now: () => T0 };
const key = (s: string) => Buffer.from(s).toString('base64');

const registry = memoryRegistry([
  app('app1'),
  app('off', { core: { disabled: true } }),
  device('off', 'd', { authentication: { credentials: [{ psk: { key: key('k') } }] } }),
  device('app1', 'd1', { authentication: { credentials: [{ psk: { key: key('key-one') } }] }, alias: ['one'] }),
  device('app1', 'd@2', { authentication: { credentials: [{ psk: { key: key('key-two') } }] } }),
  device('app1', 'windowed', { authentication: { credentials: [
    { psk: { key: key('old'), validity: { notBefore: '2023-01-01T00:00:00Z', notAfter: '2024-01-01T00:00:00Z' } } },
    { psk: { key: key('current'), validity: { notBefore: '2024-01-01T00:00:00Z', notAfter: '2025-01-01T00:00:00Z' } } },
  ] } }),
  device('app1', 'expired', { authentication: { credentials: [{ psk: { key: key('x'), validity: { notAfter: '2024-05-31T23:59:59Z' } } }] } }),
  device('app1', 'future', { authentication: { credentials: [{ psk: { key: key('x'), validity: { notBefore: '2024-06-01T00:00:01Z' } } }] } }),
  device('app1', 'off', { core: { disabled: true }, authentication: { credentials: [{ psk: { key: key('x') } }] } }),
  device('app1', 'pwonly', { authentication: { credentials: [{ pass: 'pw' }] } }),
]);

test('pskKeyFor: the key of device@app', async () => {
  assert.equal(await pskKeyFor('d1@app1', registry, clock), Buffer.from('key-one'));
  assert.equal(await pskKeyFor('one@app1', registry, clock), Buffer.from('key-one'));
  assert.equal(await pskKeyFor('d%402@app1', registry, clock), Buffer.from('key-two'));
});

test('pskKeyFor: only a key whose validity window includes now', async () => {
  assert.equal(await pskKeyFor('windowed@app1', registry, clock), Buffer.from('current'));
  assert.is(await pskKeyFor('expired@app1', registry, clock), undefined);
  assert.is(await pskKeyFor('future@app1', registry, clock), undefined);
});

test('pskKeyFor: no key for unknown or disabled devices and applications, or a bad identity', async () => {
  for (const id of ['ghost@app1', 'd1@nope', 'off@app1', 'd@off', 'pwonly@app1', 'd1', '']) {
    assert.is(await pskKeyFor(id, registry, clock), undefined, id);
  }
});

test('authenticate: a PSK identity whose device has a valid key', async () => {
  const r = await authenticate({ pskIdentity: 'd1@app1' }, registry, clock);
  assert.ok(r.ok && r.device.metadata.name === 'd1');
});

test('authenticate: PSK refusals', async () => {
  const cases: Array<[string, string]> = [
    ['expired@app1', 'bad-credentials'], ['pwonly@app1', 'bad-credentials'], ['ghost@app1', 'bad-credentials'],
    ['nodevice', 'bad-credentials'], ['off@app1', 'not-authorized'], ['d@off', 'not-authorized'], ['d1@nope', 'not-authorized'],
  ];
  for (const [id, reason] of cases) {
    const r = await authenticate({ pskIdentity: id }, registry, clock);
    assert.ok(!r.ok && r.reason === reason, `${id}: ${JSON.stringify(r)}`);
  }
});

test.run();
