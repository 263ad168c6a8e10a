// docs/mqtt-conformance.md cannot rot: every row has a proof or a reason, and every test it cites
// (`file » fragment`, the file under test/) exists with a name containing the fragment.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(root, 'docs/mqtt-conformance.md'), 'utf8');

/** The names of a test file's tests: test('…') titles and the `name:` of table-driven cases. */
function testNames(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const names: string[] = [];
  for (const re of [/\btest\(\s*(['"`])((?:\\.|(?!\1)[\s\S])*?)\1/g, /\bname:\s*(['"`])((?:\\.|(?!\1)[\s\S])*?)\1/g]) {
    for (const m of text.matchAll(re)) names.push(m[2]!.replace(/\\(.)/g, '$1'));
  }
  return names;
}

const rows = doc.split('\n').filter((line) => line.startsWith('| [MQTT-'));

test('every MUST in the table has a test or a reason', () => {
  assert.ok(rows.length > 200, `${rows.length} rows`);
  for (const row of rows) {
    const cells = row.split(' | ');
    const proof = cells[cells.length - 1]!.replace(/\|\s*$/, '').trim();
    assert.ok(proof.length > 0, `no proof or reason: ${row}`);
  }
});

test('every test the table cites exists', () => {
  const cited = [...doc.matchAll(/`([^`»]+?\.test\.ts) » ([^`]+)`/g)];
  const cache = new Map<string, string[]>();
  for (const [, file, fragment] of cited) {
    const path = join(root, 'test', file!);
    assert.ok(existsSync(path), `no test file ${file}`);
    if (!cache.has(path)) cache.set(path, testNames(path));
    assert.ok(cache.get(path)!.some((name) => name.includes(fragment!)), `no test in ${file} named with: ${fragment}`);
  }
  console.log(`mqtt-conformance: ${rows.length} rows, ${cited.length} citations of ${cache.size} test files, missing=0`);
});

test.run();
