// The command route drg's `cmd` calls, over HTTP with a recording sender in the command service's
// shape: 202 with an empty body and the outcome header, the raw body and Content-Type forwarded,
// Read on the app (a reader may send, as in Drogue), 404 "Resource not found: Application /
// <app>" otherwise, `command` required, a JSON content type with a body that is not JSON 406,
// `ttl` forwarded, `timeout` answered with the reply (200) or 504, the sender's refusals (406) and
// back-pressure (503) answered with their codes, 413 above 64 KiB. End to end with the real
// command service: test/e2e/embedded-api.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CommandRequest } from '../../api/commands.ts';
import { MooringError } from '../../events/errors.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
const sent: CommandRequest[] = [];
let answer: 'ok' | 'external' | 'reject' | 'full' | 'queued' | 'reply' | 'silent' = 'ok';
const C = '/api/command/v1alpha1/apps/plant/devices';

test.before(async () => {
  h = await startHarness({
    commands: async (r) => {
      if (answer === 'reject') throw new MooringError('MOORING_REJECTED', 'device not found');
      if (answer === 'full') throw new MooringError('MOORING_BUS_FULL', 'queue full');
      sent.push(r);
      if (answer === 'external') return { outcome: 'external', targets: [], id: 'c1' };
      if (answer === 'queued') return { outcome: 'queued', targets: [], id: 'c1' };
      return {
        outcome: 'delivered', targets: [], id: 'c1',
        awaitReply: async (ms: number) => {
          if (answer === 'silent') throw new MooringError('MOORING_TIMEOUT', `no reply within ${ms} ms`);
          return { payload: Buffer.from('{"ok":true}'), contentType: 'application/json', sender: 'pump' };
        },
      };
    },
  });
  await h.call('POST', '/api/registry/v1alpha1/apps', { auth: h.as.alice, body: { metadata: { name: 'plant' } } });
  await h.call('PUT', '/api/admin/v1alpha1/apps/plant/members', { auth: h.as.alice, body: { members: { bob: { role: 'reader' } } } });
});
test.after(async () => { console.log(`  command requests: ${h.count()}, sent: ${sent.length}`); await h.close(); });

test('202, empty body; payload, content type, requested device name and command forwarded', async () => {
  const r = await h.call('POST', `${C}/pump%2F1?command=set-speed`, { auth: h.as.alice, raw: '{"rpm":1200}', type: 'application/json' });
  assert.equal([r.status, r.body], [202, '']);
  assert.is(r.headers.get('mooring-command-outcome'), 'delivered');
  assert.is(sent.length, 1);
  assert.equal({ ...sent[0], payload: Buffer.from(sent[0]!.payload ?? []).toString() },
    { application: 'plant', device: 'pump/1', command: 'set-speed', payload: '{"rpm":1200}', contentType: 'application/json' });
  const empty = await h.call('POST', `${C}/pump?command=stop`, { auth: h.as.alice });
  assert.is(empty.status, 202);
  assert.is(sent[1]!.payload?.length, 0);
  answer = 'external';
  assert.is((await h.call('POST', `${C}/pump?command=stop`, { auth: h.as.alice })).status, 200);
  answer = 'ok';
});

test('Read is enough (a reader sends); others get 404 naming the application; command is required', async () => {
  assert.is((await h.call('POST', `${C}/pump?command=x`, { auth: h.as.bob })).status, 202);
  const denied = await h.call('POST', `${C}/pump?command=x`, { auth: h.as.carol });
  assert.equal([denied.status, denied.body], [404, { error: 'NotFound', message: 'Resource not found: Application / plant', code: 'MOORING_NOT_FOUND' }]);
  assert.is((await h.call('POST', `${C}/pump?command=x`)).status, 404);
  assert.is((await h.call('POST', '/api/command/v1alpha1/apps/nope/devices/pump?command=x', { auth: h.as.alice })).status, 404);
  const missing = await h.call('POST', `${C}/pump`, { auth: h.as.alice });
  assert.is(missing.status, 400);
  assert.is(missing.body.code, 'MOORING_INVALID_REQUEST');
});

test('the sender\'s refusal 406, back-pressure 503; a body over 64 KiB 413', async () => {
  answer = 'reject';
  assert.is((await h.call('POST', `${C}/ghost?command=x`, { auth: h.as.alice })).status, 406);
  answer = 'full';
  const full = await h.call('POST', `${C}/pump?command=x`, { auth: h.as.alice });
  assert.equal([full.status, full.body.code], [503, 'MOORING_BUS_FULL']);
  answer = 'ok';
  const big = await h.call('POST', `${C}/pump?command=x`, { auth: h.as.alice, raw: 'x'.repeat(65 * 1024), type: 'application/octet-stream' });
  assert.is(big.status, 413);
});

test('ttl is forwarded and the outcome told; timeout waits for the reply (200) or answers 504; bad timeout 400', async () => {
  answer = 'queued';
  const q = await h.call('POST', `${C}/pump?command=x&ttl=PT5M`, { auth: h.as.alice });
  assert.equal([q.status, q.headers.get('mooring-command-outcome')], [202, 'queued']);
  assert.is(sent.at(-1)!.ttl, 'PT5M');
  assert.is(sent.at(-1)!.expectReply, undefined);
  answer = 'reply';
  const r = await h.call('POST', `${C}/pump?command=x&timeout=5`, { auth: h.as.alice });
  assert.equal([r.status, r.body, r.headers.get('content-type')?.split(';')[0]], [200, { ok: true }, 'application/json']);
  assert.is(sent.at(-1)!.expectReply, true);
  answer = 'silent';
  const t = await h.call('POST', `${C}/pump?command=x&timeout=1`, { auth: h.as.alice });
  assert.equal([t.status, t.body.code], [504, 'MOORING_TIMEOUT']);
  for (const bad of ['0', '61', 'abc', '1.5']) {
    assert.is((await h.call('POST', `${C}/pump?command=x&timeout=${bad}`, { auth: h.as.alice })).status, 400, bad);
  }
  answer = 'ok';
});

test('a JSON content type whose body is not JSON is 406 and not sent', async () => {
  const before = sent.length;
  const r = await h.call('POST', `${C}/pump?command=x`, { auth: h.as.alice, raw: '{not json', type: 'application/json' });
  assert.equal([r.status, r.body.code], [406, 'MOORING_REJECTED']);
  assert.is(sent.length, before);
});

test.run();
