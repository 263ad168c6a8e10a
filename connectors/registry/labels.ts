// Label selectors as Drogue's list endpoints take them (`?labels=`): Kubernetes-like terms,
// comma-separated and ANDed (service-api/src/labels/parser.rs): `key`, `!key`, `key=value`,
// `key!=value`, `key in (a,b)`, `key notin (a,b)` (at least one space before `in`/`notin`).
// Keys may carry a prefix (`prefix/name`: a letter, then letters, digits or dots); values start
// with a letter or digit and may then hold `_`, `-` and `.`. A selector that does not parse is
// MOORING_INVALID_REQUEST with the message `ParserError: …`, as Drogue answers.

import { MooringError } from '../../events/errors.ts';

export type LabelRequirement =
  | { op: 'exists' | 'notExists'; key: string }
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] };

const KEY = String.raw`(?:[A-Za-z][A-Za-z0-9.]*\/)?[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?`;
const VALUE = String.raw`[A-Za-z0-9][A-Za-z0-9_.-]*`;
const EXISTS = new RegExp(`^(${KEY})$`);
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const EQ = new RegExp(`^(${KEY})\\s*(!=|==|=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\((.*)\\)$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

function parserError(message: string): MooringError {
  return new MooringError('MOORING_INVALID_REQUEST', `ParserError: ${message}`);
}

/** Splits on commas outside parentheses. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(selector.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) throw parserError(`unbalanced parentheses at position ${i}`);
  }
  if (depth !== 0) throw parserError('unbalanced parentheses');
  out.push(selector.slice(start));
  return out;
}

/** Parses a selector; an empty or blank one selects everything. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  if (selector.trim() === '') return [];
  return terms(selector).map((raw) => {
    const term = raw.trim();
    if (term === '') throw parserError(`empty term in ${JSON.stringify(selector)}`);
    let m = EXISTS.exec(term);
    if (m) return { op: 'exists', key: m[1]! };
    m = NOT_EXISTS.exec(term);
    if (m) return { op: 'notExists', key: m[1]! };
    m = EQ.exec(term);
    if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! };
    m = SET.exec(term);
    if (m) {
      const values = m[3]!.split(',').map((v) => v.trim());
      const bad = values.find((v) => !VALUE_ONLY.test(v));
      if (bad !== undefined) throw parserError(`invalid value ${JSON.stringify(bad)} in ${JSON.stringify(term)}`);
      return { op: m[2] as 'in' | 'notin', key: m[1]!, values };
    }
    throw parserError(`cannot parse ${JSON.stringify(term)}`);
  });
}

/** True when `labels` satisfies every requirement (Kubernetes semantics: a missing label matches `!=` and `notin`). */
export function matchesLabels(requirements: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case 'exists': return has;
      case 'notExists': return !has;
      case 'eq': return has && l[r.key] === r.value;
      case 'neq': return !has || l[r.key] !== r.value;
      case 'in': return has && r.values.includes(l[r.key]!);
      case 'notin': return !has || !r.values.includes(l[r.key]!);
    }
  });
}

/** A predicate for `selector` (parsed once); undefined or blank matches everything. */
export function labelMatcher(selector: string | undefined): (labels: Readonly<Record<string, string>> | undefined) => boolean {
  const reqs = selector === undefined ? [] : parseLabelSelector(selector);
  return (labels) => matchesLabels(reqs, labels);
}
