// The error registry: docs/errors.md lists exactly its codes with the same answers, every code is
// raised somewhere in the product, and errors are recognised by their brand, never `instanceof`.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deliveryFailed, errorCodes, isMooringError, mqttReasonFor, MooringError, type ErrorCode } from '../../events/errors.ts';

const root = join(import.meta.dirname, '..', '..');
const SOURCE_DIRS = ['api', 'cli', 'connectors', 'events', 'functions', 'bench', 'scripts'];

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}
const product = SOURCE_DIRS.flatMap((d) => sources(join(root, d)));

test('docs/errors.md lists exactly the registry, with its HTTP status, MQTT reason and retriability', () => {
  const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(MOORING_[A-Z_]+)` \|(.*)\|$/.exec(line);
    if (m) rows.set(m[1]!, m[2]!.split('|').map((c) => c.trim()));
  }
  assert.equal([...rows.keys()].sort(), Object.keys(errorCodes).sort());
  for (const [code, e] of Object.entries(errorCodes)) {
    const [status, mqtt, retriable] = rows.get(code)!;
    assert.is(Number(status), e.status, `${code} status`);
    assert.is(Number(mqtt), e.mqtt, `${code} MQTT reason`);
    assert.is(retriable, e.retriable ? 'yes' : 'no', `${code} retriable`);
  }
  console.log(`  error codes documented: ${rows.size}`);
});

test('every code is raised or answered somewhere in the product (outside the registry)', () => {
  const text = product.filter((p) => !p.endsWith(join('events', 'errors.ts'))).map((p) => readFileSync(p, 'utf8')).join('\n');
  const unused = Object.keys(errorCodes).filter((c) => c !== 'MOORING_DELIVERY_FAILED' && !text.includes(`'${c}'`));
  // MOORING_DELIVERY_FAILED is raised through deliveryFailed().
  assert.ok(text.includes('deliveryFailed('));
  assert.equal(unused, []);
});

test('no product code recognises errors with instanceof MooringError', () => {
  const offenders = product.filter((p) => /instanceof\s+MooringError/.test(readFileSync(p, 'utf8')));
  assert.equal(offenders, []);
});

test('the brand, not the class, makes a MooringError (a second copy of the module agrees)', () => {
  const e = new MooringError('MOORING_BUS_FULL', 'full');
  assert.ok(isMooringError(e));
  assert.ok(isMooringError(e, 'MOORING_BUS_FULL'));
  assert.not.ok(isMooringError(e, 'MOORING_UNAVAILABLE'));
  assert.not.ok(isMooringError(new Error('plain')));
  assert.not.ok(isMooringError({ code: 'MOORING_BUS_FULL' }));
  assert.not.ok(isMooringError(null));
  // What another copy of events/errors.ts would construct: same registered symbol, other class.
  const foreign = Object.assign(new Error('elsewhere'), { [Symbol.for('mooring.error')]: true, code: 'MOORING_UNAVAILABLE' as ErrorCode });
  assert.ok(isMooringError(foreign, 'MOORING_UNAVAILABLE'));
});

test('each error answers with its registry entry; deliveryFailed carries the subscriber status and body', () => {
  for (const code of Object.keys(errorCodes) as ErrorCode[]) {
    const e = new MooringError(code, 'm');
    assert.is(e.status, errorCodes[code].status);
    assert.is(e.retriable, errorCodes[code].retriable);
    assert.is(mqttReasonFor(e), errorCodes[code].mqtt);
    assert.equal(e.toJSON(), { error: code, message: 'm' });
  }
  assert.is(mqttReasonFor(new Error('x')), 0x80);
  const d = deliveryFailed('answered 503', 503, { data: Buffer.from('busy') });
  assert.ok(isMooringError(d, 'MOORING_DELIVERY_FAILED'));
  assert.is(d.upstreamStatus, 503);
  assert.is(Buffer.from(d.data!).toString(), 'busy');
  assert.is(deliveryFailed('refused').upstreamStatus, undefined);
});

test.run();
