// command-dispatch: the targets (the device, then its gateways in matchNames order; missing,
// disabled and repeated names skipped), disabled devices and applications refused the right way
// round (Drogue inverted the check), routing to the one instance holding each target, the
// offline queue, and external endpoints in the default, ttn/ttnv2 and ttnv3 forms posted to a
// real local HTTP server.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import { commandEvent } from '../../../events/constructors.ts';
import { isMooringError } from '../../../events/errors.ts';
import { CommandExt } from '../../../events/types.ts';
import { assertValidEvent } from '../../../events/validate.ts';
import { createCommandService, dispatchCommand, externalRequest, type CommandPorts } from '../../../functions/command-dispatch/index.ts';
import { silentLogger, type FunctionContext } from '../../../functions/ports/runtime.ts';
import { InMemoryCommandQueue, InMemoryConnectionDirectory, httpExternalEndpoint } from '../../../connectors/directory/index.ts';
import { app, device, memoryRegistry } from '../../helpers/memory-registry.ts';
import { startRecordingApp } from '../../helpers/http-app.ts';
import { FakeClock } from '../../contracts/connection-directory.ts';

const clock = new FakeClock();
let ids = 0;
const docs = (externalUrl = 'http://127.0.0.1:9/') => [
  app('app1'),
  app('off', { core: { disabled: true } }),
  device('off', 'd', {}),
  device('app1', 'dev', { gatewaySelector: { matchNames: ['gw1', 'missing', 'gwoff', 'gw2', 'gw1'] } }),
  device('app1', 'gw1', {}),
  device('app1', 'gw2', { core: {} }),
  device('app1', 'gwoff', { core: { disabled: true } }),
  device('app1', 'disabled', { core: { disabled: true } }),
  device('app1', 'enabled', { core: { disabled: false } }),
  device('app1', 'lora', { gatewaySelector: { matchNames: ['gw1', 'ttn3'] } }),
  device('app1', 'ttn3', { commands: [{ external: { type: 'ttnv2', url: 'http://ignored.invalid' } }, { external: { type: 'ttnv3', url: `${externalUrl}v3`, headers: { authorization: 'Bearer k' } } }] }),
  device('app1', 'viaplain', { gatewaySelector: { matchNames: ['plainext'] } }),
  device('app1', 'plainext', { commands: [{ external: { url: `${externalUrl}plain`, method: '' } }] }),
  device('app1', 'viabad', { gatewaySelector: { matchNames: ['badext'] } }),
  device('app1', 'badext', { commands: [{ external: { type: 'mqtt', url: 'http://x.invalid' } }] }),
];

function setup(extraDocs = docs()) {
  const registry = memoryRegistry(extraDocs);
  const ctx: FunctionContext = { registry, clock, logger: silentLogger, instance: 'drogue', newId: () => `id-${++ids}` };
  const directory = new InMemoryConnectionDirectory({ clock });
  const queue = new InMemoryCommandQueue({ clock });
  const posted: Array<{ url: string; body: string }> = [];
  const ports: CommandPorts = { directory, queue, external: async (r) => { posted.push({ url: r.url, body: new TextDecoder().decode(r.body) }); return { status: 202 }; } };
  return { registry, ctx, directory, queue, ports, posted };
}

const cmd = (device: string, extra: Partial<Parameters<typeof commandEvent>[0]> = {}, application = 'app1'): CloudEvent =>
  commandEvent({ id: 'c1', time: '2026-01-01T00:00:00Z', application, device, command: 'SET', payload: new TextEncoder().encode('on'), ...extra });

const claim = (d: InMemoryConnectionDirectory, dev: string, instance: string) => d.claim({ application: 'app1', device: dev, instance, token: `${dev}-${instance}` });

test('targets: the device, then its enabled gateways in matchNames order; missing, disabled and repeated ones skipped', async () => {
  const s = setup();
  const d = await dispatchCommand(cmd('dev'), s.ctx, s.ports);
  assert.equal(d.targets.map((t) => [t.target, t.via]), [['dev', 'device'], ['gw1', 'gateway'], ['gw2', 'gateway']]);
  assert.is(d.outcome, 'offline');
  assert.is(d.events.length, 0, 'nobody holds a connection: nothing routed, nothing broadcast');
  console.log(`  targets of dev: ${d.targets.length}`);
});

test('routing: each held target gets one routed command naming the instance that holds it', async () => {
  const s = setup();
  await claim(s.directory, 'dev', 'A');
  await claim(s.directory, 'gw2', 'B');
  const d = await dispatchCommand(cmd('dev', { contentType: 'text/plain' }), s.ctx, s.ports);
  assert.is(d.outcome, 'delivered');
  assert.equal(d.targets.map((t) => [t.target, t.outcome, t.instance]), [['dev', 'delivered', 'A'], ['gw1', 'offline', undefined], ['gw2', 'delivered', 'B']]);
  assert.equal(d.events.map((e) => [e.extensions[CommandExt.target], e.extensions[CommandExt.holder], e.extensions.partitionkey]), [[undefined, 'A', 'app1/dev'], ['gw2', 'B', 'app1/gw2']]);
  for (const e of d.events) {
    assertValidEvent(e);
    assert.is(e.subject, 'SET');
    assert.is(e.datacontenttype, 'text/plain');
    assert.is(new TextDecoder().decode(e.data), 'on');
    assert.is(e.extensions[CommandExt.device], 'dev');
  }
  console.log(`  routed events: ${d.events.length} for ${d.targets.length} targets`);
});

test('disabled: a device or application with disabled: true is refused (406); {} and disabled: false are enabled (Drogue had it inverted)', async () => {
  const s = setup();
  for (const [application, dev] of [['app1', 'disabled'], ['off', 'd'], ['app1', 'nobody'], ['nope', 'dev']] as const) {
    try {
      await dispatchCommand(cmd(dev, {}, application), s.ctx, s.ports);
      assert.unreachable(`${application}/${dev} accepted`);
    } catch (e) {
      assert.ok(isMooringError(e, 'MOORING_REJECTED'), String(e));
      assert.is((e as { status: number }).status, 406);
    }
  }
  assert.is((await dispatchCommand(cmd('enabled'), s.ctx, s.ports)).outcome, 'offline');
  assert.ok((await dispatchCommand(cmd('dev'), s.ctx, s.ports)).targets.some((t) => t.target === 'gw2'), 'gw2 has core: {} and counts as enabled');
});

test('offline queue: with mooringexpires, an unheld target keeps the command; without, it is dropped; an expired one is not kept', async () => {
  const s = setup();
  await claim(s.directory, 'gw1', 'A');
  const later = new Date(clock.now() + 60_000).toISOString();
  const d = await dispatchCommand(cmd('dev', { expires: later }), s.ctx, s.ports);
  assert.equal(d.targets.map((t) => t.outcome), ['queued', 'delivered', 'queued']);
  assert.is(d.outcome, 'delivered');
  assert.is(s.queue.stats().queued, 2);
  const past = new Date(clock.now() - 1).toISOString();
  assert.is((await dispatchCommand(cmd('enabled', { expires: past }), s.ctx, s.ports)).outcome, 'offline');
  const q = await dispatchCommand(cmd('enabled', { expires: later }), s.ctx, s.ports);
  assert.is(q.outcome, 'queued');
  const kept = await s.queue.take('app1', 'enabled');
  assert.is(kept.length, 1);
  assert.is(kept[0]!.extensions[CommandExt.holder], undefined);
  assert.is(kept[0]!.extensions[CommandExt.expires], later);
});

test('a routed command is refused by dispatch (no loop through the Trigger)', async () => {
  const s = setup();
  try {
    await dispatchCommand(cmd('dev', { holder: 'A' }), s.ctx, s.ports);
    assert.unreachable();
  } catch (e) { assert.ok(isMooringError(e, 'MOORING_INVALID_EVENT')); }
});

test('external request bodies: default, ttn/ttnv2 (port:n and named), ttnv3 (port:n and named); unknown type refused', () => {
  const payload = new TextEncoder().encode('hi');
  const b = (r: { body: Uint8Array }) => JSON.parse(new TextDecoder().decode(r.body));
  const base = { application: 'app1', device: 'dev', payload };
  const def = externalRequest({ url: 'http://x/e' }, { ...base, command: 'SET' });
  assert.equal([def.method, def.url, b(def)], ['POST', 'http://x/e', { application: 'app1', device: 'dev', command: 'SET', payload: 'aGk=' }]);
  for (const type of ['ttn', 'ttnv2']) {
    assert.equal(b(externalRequest({ type, url: 'http://x' }, { ...base, command: 'port:7' })), { dev_id: 'dev', port: 7, confirmed: false, payload_raw: 'aGk=' });
    assert.equal(b(externalRequest({ type, url: 'http://x' }, { ...base, command: 'SET' })), { dev_id: 'dev', port: 1, confirmed: false, payload_fields: { command: 'SET', command_payload: 'aGk=' } });
  }
  const v3 = externalRequest({ type: 'ttnv3', url: 'http://x/api', method: 'put' }, { ...base, command: 'port:3' });
  assert.equal([v3.method, v3.url, b(v3)], ['PUT', 'http://x/api/dev/down/replace', { downlinks: [{ f_port: 3, frm_payload: 'aGk=' }] }]);
  const named = b(externalRequest({ type: 'ttnv3', url: 'http://x' }, { ...base, command: 'SET' }));
  assert.is(named.downlinks[0].f_port, 1);
  assert.equal(JSON.parse(Buffer.from(named.downlinks[0].frm_payload, 'base64').toString()), { command: 'SET', command_payload: 'aGk=' });
  try { externalRequest({ type: 'mqtt', url: 'http://x' }, { ...base, command: 'SET' }); assert.unreachable(); } catch (e) { assert.ok(isMooringError(e, 'MOORING_REJECTED')); }
});

test('external endpoints over real HTTP: the gateway\'s last spec.commands entry gets the command, and nothing else does', async () => {
  const http = await startRecordingApp((path) => (path.includes('fail') ? 500 : 200));
  const s = setup(docs(`${http.url}/`));
  s.ports.external = httpExternalEndpoint();
  await claim(s.directory, 'lora', 'A');
  const d = await dispatchCommand(cmd('lora', { command: 'port:2' }), s.ctx, s.ports);
  assert.is(d.outcome, 'external');
  assert.equal(d.targets, [{ target: 'ttn3', via: 'external', outcome: 'external', status: 200 }]);
  assert.is(d.events.length, 0, 'as in Drogue: an external endpoint ends the processing, not even the device gets it');
  const d2 = await dispatchCommand(cmd('viaplain'), s.ctx, s.ports);
  assert.is(d2.outcome, 'external');
  assert.equal(http.received.map((r) => r.path), ['/v3/lora/down/replace', '/plain']);
  assert.equal(JSON.parse(http.received[0]!.body), { downlinks: [{ f_port: 2, frm_payload: 'b24=' }] });
  assert.is(http.received[0]!.headers.authorization, 'Bearer k');
  assert.is(http.received[1]!.headers['content-type'], 'application/json');
  assert.equal(JSON.parse(http.received[1]!.body), { application: 'app1', device: 'viaplain', command: 'SET', payload: 'b24=' });
  try { await dispatchCommand(cmd('viabad'), s.ctx, s.ports); assert.unreachable(); } catch (e) { assert.ok(isMooringError(e, 'MOORING_REJECTED')); }
  // An endpoint answering 500 is a 406 for the application.
  const failing = setup([...docs(`${http.url}/fail/`)]);
  failing.ports.external = httpExternalEndpoint();
  try { await dispatchCommand(cmd('viaplain'), failing.ctx, failing.ports); assert.unreachable(); } catch (e) { assert.ok(isMooringError(e, 'MOORING_REJECTED'), String(e)); }
  console.log(`  external requests received: ${http.received.length}`);
  await http.close();
});

test('sendCommand: outcome and targets, routed commands published; bad names and TTLs refused (400)', async () => {
  const s = setup();
  const published: CloudEvent[] = [];
  const svc = createCommandService({ ...s.ports, ctx: s.ctx, bus: { publish: async (e) => { published.push(...(Array.isArray(e) ? e : [e])); } } });
  await claim(s.directory, 'gw2', 'B');
  const r = await svc.sendCommand({ application: 'app1', device: 'dev', command: 'SET', payload: new TextEncoder().encode('x') });
  assert.is(r.outcome, 'delivered');
  assert.equal(published.map((e) => e.extensions[CommandExt.holder]), ['B']);
  const q = await svc.sendCommand({ application: 'app1', device: 'enabled', command: 'SET', ttl: 'PT5M' });
  assert.is(q.outcome, 'queued');
  assert.is((await svc.sendCommand({ application: 'app1', device: 'enabled', command: 'SET' })).outcome, 'offline');
  for (const bad of [{ command: 'a/+' }, { command: '' }, { command: 'x', ttl: 'five minutes' }, { command: 'x', ttl: 'P30D' }]) {
    try {
      await svc.sendCommand({ application: 'app1', device: 'enabled', ...bad });
      assert.unreachable(JSON.stringify(bad));
    } catch (e) { assert.ok(isMooringError(e, 'MOORING_INVALID_REQUEST'), String(e)); }
  }
  // The Trigger form answers the routed commands as its reply.
  const reply = await svc.dispatch.handle(cmd('dev'), s.ctx);
  assert.equal((reply as CloudEvent[]).map((e) => e.extensions[CommandExt.target]), ['gw2']);
});

test.run();
