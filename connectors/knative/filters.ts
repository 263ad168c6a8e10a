// Knative Trigger filters compiled once into a predicate, so the broker's hot path is a few
// string comparisons per trigger. Semantics follow knative.dev/eventing pkg/eventfilter:
// `spec.filter.attributes` (exact match on every listed attribute, "" = any non-empty value) and
// `spec.filters` (SubscriptionsAPI: exact, prefix, suffix, all, any, not), which override
// `spec.filter` whenever the list is non-empty.

import { getAttribute, type CloudEvent } from '../../events/cloudevent.ts';
import type { SubscriptionsFilter, TriggerSpec } from '../../functions/ports/bus.ts';

export type EventPredicate = (event: CloudEvent) => boolean;

const PASS: EventPredicate = () => true;

/** A trigger's filter as a predicate. Throws on a filter Knative's webhook would reject. */
export function compileTriggerFilter(trigger: Pick<TriggerSpec, 'filter' | 'filters' | 'name'>): EventPredicate {
  try {
    // "In the event of users specifying both Filter and Filters, then the latter will override
    // the former." (Trigger CRD, spec.filters)
    if (trigger.filters !== undefined && trigger.filters.length > 0) return compileFilters(trigger.filters);
    const attributes = trigger.filter?.attributes;
    if (attributes !== undefined && Object.keys(attributes).length > 0) return compileAttributes(attributes);
    return PASS;
  } catch (e) {
    throw new Error(`trigger ${trigger.name}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * `spec.filter.attributes`: every listed attribute must be present and equal; the value "" (Knative
 * TriggerAnyFilter) matches any value but still requires the attribute to be set and non-empty.
 * Values compare as strings: an extension crossing an HTTP or Kafka binding is a string anyway.
 */
export function compileAttributes(attributes: Record<string, string>): EventPredicate {
  const names = Object.keys(attributes);
  const values = names.map((n) => String(attributes[n]));
  const count = names.length;
  return (event) => {
    for (let i = 0; i < count; i++) {
      const actual = getAttribute(event, names[i] as string);
      if (actual === undefined) return false;
      const expected = values[i] as string;
      if (expected === '') {
        if (actual === '') return false;
      } else if (String(actual) !== expected) {
        return false;
      }
    }
    return true;
  };
}

/** `spec.filters`: all expressions of the list must pass (an empty list passes). */
export function compileFilters(filters: readonly SubscriptionsFilter[]): EventPredicate {
  if (filters.length === 0) return PASS;
  return allOf(filters.map(compileExpression));
}

const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not'] as const;

/** One SubscriptionsAPI expression; exactly one dialect per expression (Knative webhook rule). */
export function compileExpression(filter: SubscriptionsFilter): EventPredicate {
  if (filter === null || typeof filter !== 'object') throw new Error('a filter expression must be an object');
  const keys = Object.keys(filter);
  if (keys.length !== 1) {
    throw new Error(`a filter expression needs exactly one dialect of ${DIALECTS.join(', ')}, got: ${keys.join(', ') || 'none'}`);
  }
  if ('exact' in filter) return compileMatch('exact', filter.exact, (actual, v) => actual === v);
  if ('prefix' in filter) return compileMatch('prefix', filter.prefix, (actual, v) => actual.startsWith(v));
  if ('suffix' in filter) return compileMatch('suffix', filter.suffix, (actual, v) => actual.endsWith(v));
  if ('all' in filter) return allOf(nonEmptyList('all', filter.all).map(compileExpression));
  if ('any' in filter) return anyOf(nonEmptyList('any', filter.any).map(compileExpression));
  if ('not' in filter) {
    const inner = compileExpression(filter.not);
    return (event) => !inner(event);
  }
  throw new Error(`unsupported filter dialect ${keys[0]} (supported: ${DIALECTS.join(', ')})`);
}

function compileMatch(
  dialect: string,
  map: Record<string, string>,
  test: (actual: string, expected: string) => boolean,
): EventPredicate {
  if (map === null || typeof map !== 'object') throw new Error(`${dialect} needs a map of attribute: value`);
  const names = Object.keys(map);
  if (names.length === 0) throw new Error(`${dialect} needs at least one attribute`);
  const values = names.map((n) => map[n]);
  for (let i = 0; i < names.length; i++) {
    // pkg/eventfilter/subscriptionsapi: "attribute and value can't be empty"
    if (names[i] === '' || typeof values[i] !== 'string' || values[i] === '') {
      throw new Error(`${dialect}: attribute and value must be non-empty strings (${names[i]})`);
    }
  }
  const count = names.length;
  return (event) => {
    for (let i = 0; i < count; i++) {
      const actual = getAttribute(event, names[i] as string);
      // An attribute that is not set fails the expression (and so passes a `not` around it).
      if (actual === undefined || !test(String(actual), values[i] as string)) return false;
    }
    return true;
  };
}

function nonEmptyList(dialect: string, list: SubscriptionsFilter[]): SubscriptionsFilter[] {
  // Trigger CRD: "It must contain at least one filter expression."
  if (!Array.isArray(list) || list.length === 0) throw new Error(`${dialect} must contain at least one filter expression`);
  return list;
}

function allOf(predicates: EventPredicate[]): EventPredicate {
  if (predicates.length === 1) return predicates[0] as EventPredicate;
  const count = predicates.length;
  return (event) => {
    for (let i = 0; i < count; i++) if (!(predicates[i] as EventPredicate)(event)) return false;
    return true;
  };
}

function anyOf(predicates: EventPredicate[]): EventPredicate {
  if (predicates.length === 1) return predicates[0] as EventPredicate;
  const count = predicates.length;
  return (event) => {
    for (let i = 0; i < count; i++) if ((predicates[i] as EventPredicate)(event)) return true;
    return false;
  };
}
