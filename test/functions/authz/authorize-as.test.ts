import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorizeAs } from '../../../functions/authz/authorize-as.ts';
import type { AuthorizeOutcome } from '../../../functions/authz/types.ts';
import { app, device, memoryRegistry } from '../../helpers/memory-registry.ts';

const registry = memoryRegistry([
  app('app1'),
  app('off', { core: { disabled: true } }),
  device('off', 'gw'),
  device('app1', 'gw'),
  device('app1', 'gw2'),
  device('app1', 'sensor1', { gatewaySelector: { matchNames: ['gw'] }, alias: ['s-1'] }),
  device('app1', 'sensor2', { gatewaySelector: { matchNames: ['gw2', 'gw'] } }),
  device('app1', 'lonely'),
  device('app1', 'sleeping', { core: { disabled: true }, gatewaySelector: { matchNames: ['gw'] } }),
  device('app1', 'gwoff', { core: { disabled: true } }),
  device('app1', 'sensor3', { gatewaySelector: { matchNames: ['gwoff'] } }),
]);

const as = (sender: string, dev: string, application = 'app1') => authorizeAs({ application, sender, device: dev }, registry);

function assertOk(r: AuthorizeOutcome, dev: string): void {
  assert.ok(r.ok, JSON.stringify(r));
  if (r.ok) assert.is(r.device.metadata.name, dev);
}
function assertFail(r: AuthorizeOutcome, reason: 'not-authorized' | 'not-found'): void {
  assert.not.ok(r.ok);
  if (!r.ok) assert.is(r.reason, reason, r.message);
}

test('a sender may always act for itself', async () => {
  assertOk(await as('gw', 'gw'), 'gw');
  assertOk(await as('lonely', 'lonely'), 'lonely');
});

test('a gateway listed in the device gatewaySelector.matchNames may act for it', async () => {
  assertOk(await as('gw', 'sensor1'), 'sensor1');
  assertOk(await as('gw', 'sensor2'), 'sensor2');
  assertOk(await as('gw2', 'sensor2'), 'sensor2');
});

test('a sender not listed is not-authorized', async () => {
  assertFail(await as('gw2', 'sensor1'), 'not-authorized');
  assertFail(await as('gw', 'lonely'), 'not-authorized');
  assertFail(await as('sensor1', 'gw'), 'not-authorized');
});

test('the target may be named by an alias; the outcome carries the canonical device', async () => {
  assertOk(await as('gw', 's-1'), 'sensor1');
});

test('an unknown target device is not-found', async () => {
  assertFail(await as('gw', 'ghost'), 'not-found');
});

test('a disabled target device is not-authorized, even for a listed gateway', async () => {
  assertFail(await as('gw', 'sleeping'), 'not-authorized');
});

test('a disabled sender is not-authorized, for itself and others', async () => {
  assertFail(await as('gwoff', 'gwoff'), 'not-authorized');
  assertFail(await as('gwoff', 'sensor3'), 'not-authorized');
});

test('an unknown sender is not-found', async () => {
  assertFail(await as('nobody', 'nobody'), 'not-found');
});

test('a disabled application is not-authorized; an unknown one not-found', async () => {
  assertFail(await as('gw', 'gw', 'off'), 'not-authorized');
  assertFail(await as('gw', 'gw', 'nope'), 'not-found');
});

test('decisions follow registry changes (no cache inside)', async () => {
  const r = memoryRegistry([app('a'), device('a', 'gw'), device('a', 's', { gatewaySelector: { matchNames: ['gw'] } })]);
  assertOk(await authorizeAs({ application: 'a', sender: 'gw', device: 's' }, r), 's');
  r.set([app('a'), device('a', 'gw'), device('a', 's')]);
  assertFail(await authorizeAs({ application: 'a', sender: 'gw', device: 's' }, r), 'not-authorized');
});

test.run();
