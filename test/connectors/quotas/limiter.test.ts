// The quota limiter on a hand-driven clock: the `spec.limits` schema (also as the YAML registry
// checks it), defaults overridden field by field, connection counts (a takeover passes, release
// once), token buckets for messages and bytes per device and per application (one second of
// burst, the wait until the next token, nothing taken on a refusal, a large message waits for a
// full bucket), the command rate by application name, refusal counts, live limit changes from the
// registry, and the sweep that forgets idle entries.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { QuotaLimiter, limitsProblems, resolveLimits, UNLIMITED, type Limits } from '../../../connectors/quotas/index.ts';
import { RegistryValidationError, validateDocuments } from '../../../connectors/registry/index.ts';
import { isMooringError } from '../../../events/errors.ts';
import type { Application, ApplicationLimits } from '../../../functions/ports/registry.ts';
import { app, memoryRegistry, type MemoryRegistry } from '../../helpers/memory-registry.ts';

let now = 0;
const limiters: QuotaLimiter[] = [];
function limiter(registry: MemoryRegistry = memoryRegistry(), defaults: Limits = UNLIMITED): QuotaLimiter {
  const q = new QuotaLimiter({ registry, defaults, now: () => now });
  limiters.push(q);
  return q;
}
test.after.each(() => { for (const q of limiters.splice(0)) q.close(); now = 0; });

const limited = (name: string, limits: ApplicationLimits, version = '1'): Application => {
  const a = app(name, { limits });
  a.metadata.resourceVersion = version;
  return a;
};

function quotaError(f: () => unknown): { message: string; retryAfterMs: number | undefined } {
  try { f(); } catch (err) {
    assert.ok(isMooringError(err, 'MOORING_QUOTA_EXCEEDED'), String(err));
    return { message: err.message, retryAfterMs: err.retryAfterMs };
  }
  throw new Error('expected MOORING_QUOTA_EXCEEDED');
}

test('schema: non-negative numbers, integer connections, known scopes and fields; every problem named', () => {
  assert.equal(limitsProblems(undefined), []);
  assert.equal(limitsProblems({ application: { connections: 10, messagesPerSecond: 0.5 }, device: { bytesPerSecond: 0 } }), []);
  const paths = limitsProblems({ application: { connections: 1.5, commandsPerSecond: '3' }, device: { messagesPerSecond: -1, burst: 2 }, tenant: {} }).map((p) => p.path);
  assert.equal(paths, ['limits.application.connections', 'limits.application.commandsPerSecond', 'limits.device.messagesPerSecond', 'limits.device.burst', 'limits.tenant']);
  assert.equal(limitsProblems(7).map((p) => p.path), ['limits']);
});

test('the YAML registry refuses a bad spec.limits with the document and field path', () => {
  try {
    validateDocuments([{ kind: 'Application', metadata: { name: 'a1' }, spec: { limits: { device: { connections: -2 } } } }]);
    assert.unreachable('expected a validation error');
  } catch (err) {
    assert.instance(err, RegistryValidationError);
    assert.match((err as Error).message, /document 1 \(Application a1\): spec\.limits\.device\.connections: must be a non-negative integer/);
  }
});

test('resolve: each field set in spec.limits overrides the default; 0 means unlimited', () => {
  const defaults = { ...UNLIMITED, deviceMessagesPerSecond: 10, appConnections: 100 };
  const r = resolveLimits({ device: { messagesPerSecond: 0 }, application: { bytesPerSecond: 500 } }, defaults);
  assert.is(r.deviceMessagesPerSecond, 0);
  assert.is(r.appConnections, 100);
  assert.is(r.appBytesPerSecond, 500);
  assert.is(resolveLimits(undefined, defaults), defaults);
});

test('connections: per application and per device; a takeover passes; release once', () => {
  const q = limiter();
  const a = limited('a', { application: { connections: 2 }, device: { connections: 1 } });
  const t1 = q.acquire(a, 'd1', 'mqtt');
  const e = quotaError(() => q.acquire(a, 'd1', 'http'));
  assert.match(e.message, /device d1 is at its limit of 1 connections/);
  assert.is(e.retryAfterMs, 1000);
  const t1b = q.acquire(a, 'd1', 'mqtt', true); // replacing t1
  t1.release();
  t1.release();
  q.acquire(a, 'd2', 'mqtt');
  assert.match(quotaError(() => q.acquire(a, 'd3', 'mqtt')).message, /application a is at its limit of 2 connections/);
  t1b.release();
  q.acquire(a, 'd3', 'mqtt');
  assert.is(q.refused('device_connections'), 1);
  assert.is(q.refused('application_connections'), 1);
  assert.ok(q.refusals().some((r) => r.kind === 'device_connections' && r.protocol === 'http' && r.count === 1));
});

test('messages per device: one second of burst, then the wait until the next token; refusals take nothing', () => {
  const q = limiter();
  const a = limited('a', { device: { messagesPerSecond: 4 } });
  const t = q.acquire(a, 'd1', 'mqtt');
  const other = q.acquire(a, 'd2', 'mqtt');
  for (let i = 0; i < 4; i++) assert.is(q.admit(t, 10, 'mqtt'), 0, `burst ${i}`);
  assert.is(q.admit(t, 10, 'mqtt'), 250);
  assert.is(q.lastKind, 'device_messages');
  now += 100;
  assert.is(q.admit(t, 10, 'mqtt'), 150);
  assert.is(q.admit(other, 10, 'mqtt'), 0, 'another device has its own bucket');
  now += 150;
  assert.is(q.admit(t, 10, 'mqtt'), 0);
  assert.is(q.refused('device_messages'), 2);
  now += 10_000;
  for (let i = 0; i < 4; i++) assert.is(q.admit(t, 10, 'mqtt'), 0, 'refilled to one second, not more');
  assert.ok(q.admit(t, 10, 'mqtt') > 0);
});

test('bytes: a message larger than a second of the rate waits for a full bucket, then goes into debt', () => {
  const q = limiter();
  const a = limited('a', { application: { bytesPerSecond: 1000 } });
  const t = q.acquire(a, 'd1', 'http');
  assert.is(q.admit(t, 600, 'http'), 0);
  assert.is(q.admit(t, 600, 'http'), 200); // 400 left, 600 needed
  assert.is(q.lastKind, 'application_bytes');
  now += 600;
  assert.is(q.admit(t, 5000, 'http'), 0); // a full bucket: taken, 4000 in debt
  assert.is(q.admit(t, 1, 'http'), 4001);
  const t2 = q.acquire(a, 'd2', 'http');
  assert.ok(q.admit(t2, 1, 'http') > 0, 'the application bucket is shared by its devices');
});

test('no rate set: admit is free and counts nothing', () => {
  const q = limiter();
  const t = q.acquire(app('free'), 'd', 'mqtt');
  for (let i = 0; i < 10_000; i++) assert.is(q.admit(t, 100, 'mqtt'), 0);
  assert.is(q.refusals().reduce((n, r) => n + r.count, 0), 0);
});

test('commands: by application name (looked up once), over the rate MOORING_QUOTA_EXCEEDED with Retry-After', async () => {
  const registry = memoryRegistry([limited('c', { application: { commandsPerSecond: 2 } })]);
  const q = limiter(registry);
  const send = q.commandGate(async (r: { application: string }) => r.application, 'api');
  assert.is(await send({ application: 'c' }), 'c');
  assert.is(await send({ application: 'c' }), 'c');
  try {
    await send({ application: 'c' });
    assert.unreachable('refused');
  } catch (err) {
    assert.ok(isMooringError(err, 'MOORING_QUOTA_EXCEEDED'));
    assert.is(err.retryAfterMs, 500);
    assert.is(err.status, 429);
    assert.is(err.mqttReason, 0x97);
  }
  assert.is(await send({ application: 'missing' }), 'missing', 'the command service answers for a missing application');
  assert.is(q.refused('application_commands'), 1);
});

test('a registry change applies new limits to live connections', async () => {
  const registry = memoryRegistry([limited('live', { device: { messagesPerSecond: 1 } })]);
  const q = limiter(registry);
  const t = q.acquire((await registry.getApplication('live'))!, 'd', 'mqtt');
  assert.is(q.admit(t, 1, 'mqtt'), 0);
  assert.ok(q.admit(t, 1, 'mqtt') > 0);
  registry.set([limited('live', { device: { messagesPerSecond: 0 } }, '2')]);
  await q.refreshed();
  assert.is(q.admit(t, 1, 'mqtt'), 0, 'unlimited now');
});

test('the sweep forgets idle devices and applications, keeps connected ones and unfinished buckets', () => {
  const q = limiter();
  const a = limited('a', { device: { messagesPerSecond: 1 } });
  for (let i = 0; i < 100; i++) q.acquire(a, `d${i}`, 'http').release();
  const kept = q.acquire(a, 'connected', 'mqtt');
  const spent = q.acquire(a, 'spent', 'http');
  q.admit(spent, 1, 'http');
  spent.release();
  q.sweep();
  assert.equal(q.size, { applications: 1, devices: 2 });
  now += 1000;
  q.sweep();
  assert.equal(q.size, { applications: 1, devices: 1 });
  kept.release();
  q.sweep();
  assert.equal(q.size, { applications: 0, devices: 0 });
});

test.run();
