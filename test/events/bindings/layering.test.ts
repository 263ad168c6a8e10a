// Where the bindings sit: the CloudEvents SDK is the tests' oracle only (strict construction
// costs ~14 µs an event; it stays off the hot path), and events/ depends on nothing outside it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;
const PRODUCT = ['events', 'functions', 'connectors', 'cli', 'bench'];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (/\.(ts|js|cjs|mjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g)) out.push(m[1]!);
  return out;
}

test('no product file imports the cloudevents SDK', () => {
  const files = PRODUCT.flatMap((d) => sources(join(root, d)));
  const offenders = files.filter((f) => specifiers(f).some((s) => s === 'cloudevents' || s.startsWith('cloudevents/')));
  console.log(`  product files checked: ${files.length}`);
  assert.ok(files.length > 50, 'the walk found the sources');
  assert.equal(offenders.map((f) => relative(root, f)), []);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  assert.is(pkg.dependencies.cloudevents, undefined, 'cloudevents is not a runtime dependency');
  assert.ok(pkg.devDependencies.cloudevents, 'cloudevents is a devDependency (the oracle)');
});

test('nothing in events/ imports functions/, connectors/ or cli/', () => {
  const offenders: string[] = [];
  for (const file of sources(join(root, 'events'))) {
    for (const s of specifiers(file)) {
      if (!s.startsWith('.')) continue;
      const target = relative(root, join(file, '..', s));
      if (/^(functions|connectors|cli)\//.test(target)) offenders.push(`${relative(root, file)} → ${target}`);
    }
  }
  assert.equal(offenders, []);
});

test.run();
