import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labelMatcher, parseLabelSelector } from '../../../connectors/registry/labels.ts';
import { isMooringError } from '../../../events/errors.ts';

test('parses every term form, with prefixes and spaces', () => {
  assert.equal(parseLabelSelector('a, !b, c=d, e!=f, g in (h, i.j), k notin (l), drogue.io/zone=eu-1, x.y/z'), [
    { op: 'exists', key: 'a' },
    { op: 'notExists', key: 'b' },
    { op: 'eq', key: 'c', value: 'd' },
    { op: 'neq', key: 'e', value: 'f' },
    { op: 'in', key: 'g', values: ['h', 'i.j'] },
    { op: 'notin', key: 'k', values: ['l'] },
    { op: 'eq', key: 'drogue.io/zone', value: 'eu-1' },
    { op: 'exists', key: 'x.y/z' },
  ]);
  assert.equal(parseLabelSelector(''), []);
  assert.equal(parseLabelSelector('  '), []);
});

test('parse errors are MOORING_INVALID_REQUEST "ParserError: …"', () => {
  const bad = ['a in b', 'ain(b)', 'a=', 'a=-x', 'a in ()', 'a in (b', 'a,,b', ',', '1x/y', 'a/b/c', 'a==', 'k=v)', '=v', 'a in (b,-c)'];
  for (const s of bad) {
    try {
      parseLabelSelector(s);
      assert.unreachable(`should refuse ${JSON.stringify(s)}`);
    } catch (err) {
      assert.ok(isMooringError(err, 'MOORING_INVALID_REQUEST'), `${s}: ${String(err)}`);
      assert.match((err as Error).message, /^ParserError: /);
    }
  }
  console.log(`  selectors refused: ${bad.length}`);
});

test('matching: ANDed terms; a missing label matches != and notin', () => {
  const labels = { zone: 'eu', tier: 'gold', 'drogue.io/x': '1' };
  const cases: Array<[string, boolean]> = [
    ['zone', true], ['!zone', false], ['missing', false], ['!missing', true],
    ['zone=eu', true], ['zone=us', false], ['zone!=us', true], ['zone!=eu', false], ['missing!=x', true],
    ['zone in (us,eu)', true], ['zone in (us)', false], ['zone notin (us)', true], ['zone notin (eu)', false], ['missing notin (a)', true], ['missing in (a)', false],
    ['zone=eu,tier=gold', true], ['zone=eu,tier=silver', false], ['drogue.io/x=1', true], ['', true],
  ];
  for (const [sel, want] of cases) assert.is(labelMatcher(sel)(labels), want, sel);
  assert.ok(labelMatcher(undefined)(undefined));
  assert.not.ok(labelMatcher('a')(undefined));
  console.log(`  selector cases: ${cases.length}`);
});

test.run();
