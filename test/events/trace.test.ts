// W3C Trace Context values (events/trace.ts): what is a valid traceparent (§3.2), what an
// ingress makes of a device's value, and that new ids are valid and distinct.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ingressTraceparent, isTraceparent, newTraceparent, parseTraceparent, traceIdOf } from '../../events/trace.ts';
import { publishEvent } from '../../events/constructors.ts';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('valid and invalid traceparents', () => {
  assert.equal(parseTraceparent(VALID), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: '01' });
  const invalid = [
    '', 'x', VALID.toUpperCase(), VALID.slice(1), `${VALID}-extra`,
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01',
    '00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  ];
  for (const v of invalid) {
    assert.is(parseTraceparent(v), undefined, v);
    assert.not.ok(isTraceparent(v), v);
  }
  // A later version: read as version 00, extra fields ignored.
  assert.is(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more')?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.is(parseTraceparent(42), undefined);
});

test('an ingress keeps a valid value, normalises a later version, and starts a new trace otherwise', () => {
  assert.is(ingressTraceparent(VALID), VALID);
  assert.is(ingressTraceparent([VALID, 'other']), VALID);
  assert.is(ingressTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x'), VALID);
  for (const given of [undefined, 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01']) {
    const t = ingressTraceparent(given);
    assert.ok(isTraceparent(t), t);
    assert.is.not(parseTraceparent(t)!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  }
});

test('new traceparents are valid, sampled and distinct', () => {
  const N = 20_000;
  const seen = new Set<string>();
  for (let i = 0; i < N; i++) {
    const t = newTraceparent();
    assert.ok(isTraceparent(t), t);
    assert.ok(t.endsWith('-01'));
    seen.add(parseTraceparent(t)!.traceId);
  }
  console.log(`distinct trace ids: ${seen.size} of ${N}`);
  assert.is(seen.size, N);
});

test('the trace id of an event', () => {
  const base = { id: '1', time: '2026-01-01T00:00:00Z', application: 'a', sender: 'd', topic: 't' };
  assert.is(traceIdOf(publishEvent({ ...base, traceparent: VALID })), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.is(traceIdOf(publishEvent(base)), undefined);
});

test.run();
