// The import graph of the product code: no module of connectors/, events/, functions/ or cli/ is
// part of an import cycle (type-only imports count: a cycle of types is still a cycle of
// meaning), and dependencies point inward (cli → connectors → functions → events): nothing under
// events/ imports upward, nothing under functions/ imports connectors/ or cli/. A small parser of
// import statements, so the check needs no tool beyond the test runner.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TREES = ['cli', 'connectors', 'events', 'functions'] as const;
/** Inner layers first: a module may import its own layer and the ones before it. */
const LAYERS = ['events', 'functions', 'connectors', 'cli'] as const;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

// `import … from '…'`, `export … from '…'`, `import '…'`, `import('…')` (also in type positions).
const SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative imports of a source text (comments removed first), as specifiers. */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith('.')) out.push(spec);
  }
  return out;
}

function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const tree of TREES) {
    for (const file of sources(join(root, tree))) {
      const from = relative(root, file);
      g.set(from, importsOf(readFileSync(file, 'utf8')).map((s) => relative(root, resolve(dirname(file), s))));
    }
  }
  return g;
}

/** Every strongly connected component of more than one module (or a module importing itself). */
export function cycles(g: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

const layerOf = (path: string): number => LAYERS.indexOf(path.split('/')[0] as (typeof LAYERS)[number]);

test('the import parser sees every form of import the code uses', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from '../b.ts';",
    'import {\n  c,\n  d,\n} from "./c.ts";',
    "export { e } from './e.ts';",
    "export * from './f.ts';",
    "import './g.ts';",
    "let x: import('./h.ts').H;",
    "import { y } from 'node:fs';",
    "// import { z } from './commented.ts';",
    "/* import { w } from './block.ts'; */",
  ].join('\n');
  assert.equal(importsOf(text), ['./a.ts', '../b.ts', './c.ts', './e.ts', './f.ts', './g.ts', './h.ts']);
});

test('the cycle finder finds a cycle and only that', () => {
  const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']], ['e', ['e']]]);
  assert.equal(cycles(g), [['a', 'b', 'c'], ['e']]);
});

test('no import cycle in connectors/, events/, functions/, cli/', () => {
  const found = cycles(graph());
  assert.equal(found, [], `import cycles:\n${found.map((c) => '  ' + c.join(' → ')).join('\n')}`);
});

test('dependencies point inward: events/ imports nothing above it, functions/ no connector or cli', () => {
  const wrong: string[] = [];
  for (const [from, tos] of graph()) {
    for (const to of tos) if (layerOf(to) > layerOf(from)) wrong.push(`${from} → ${to}`);
  }
  assert.equal(wrong, []);
});

test.run();
