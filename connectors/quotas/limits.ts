// `spec.limits` of an application (a Mooring extension of Drogue's spec, docs/quotas.md): its one
// schema, checked by both registry front doors (the YAML file through connectors/registry/validate.ts,
// the management API through the store, which DynamoDB shares), and resolved against the
// process-wide defaults (cli/config.ts, MOORING_QUOTA_*) into the flat `Limits` the limiter runs on.

import type { ApplicationLimits } from '../../functions/ports/registry.ts';

/** Resolved limits of one application; 0 = unlimited. Rates are per second. */
export interface Limits {
  readonly appConnections: number;
  readonly appMessagesPerSecond: number;
  readonly appBytesPerSecond: number;
  readonly appCommandsPerSecond: number;
  readonly deviceConnections: number;
  readonly deviceMessagesPerSecond: number;
  readonly deviceBytesPerSecond: number;
}

export const UNLIMITED: Limits = Object.freeze({
  appConnections: 0, appMessagesPerSecond: 0, appBytesPerSecond: 0, appCommandsPerSecond: 0,
  deviceConnections: 0, deviceMessagesPerSecond: 0, deviceBytesPerSecond: 0,
});

/** The schema: `spec.limits.<scope>.<field>` → the Limits key; `integer`: counts, not rates. */
const FIELDS = {
  application: {
    connections: { key: 'appConnections', integer: true },
    messagesPerSecond: { key: 'appMessagesPerSecond', integer: false },
    bytesPerSecond: { key: 'appBytesPerSecond', integer: false },
    commandsPerSecond: { key: 'appCommandsPerSecond', integer: false },
  },
  device: {
    connections: { key: 'deviceConnections', integer: true },
    messagesPerSecond: { key: 'deviceMessagesPerSecond', integer: false },
    bytesPerSecond: { key: 'deviceBytesPerSecond', integer: false },
  },
} as const satisfies Record<string, Record<string, { key: keyof Limits; integer: boolean }>>;

type Scope = keyof typeof FIELDS;

export interface LimitsProblem {
  /** Below the spec, e.g. `limits.device.messagesPerSecond`. */
  path: string;
  message: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every problem of a `spec.limits` value (undefined/null: none, the defaults apply). */
export function limitsProblems(v: unknown): LimitsProblem[] {
  const out: LimitsProblem[] = [];
  if (v === undefined || v === null) return out;
  if (!isObj(v)) return [{ path: 'limits', message: 'must be a mapping with `application` and/or `device`' }];
  for (const [scope, body] of Object.entries(v)) {
    const fields = (FIELDS as Record<string, Record<string, { integer: boolean }>>)[scope];
    if (fields === undefined) { out.push({ path: `limits.${scope}`, message: 'unknown scope (expected application or device)' }); continue; }
    if (body === undefined || body === null) continue;
    if (!isObj(body)) { out.push({ path: `limits.${scope}`, message: 'must be a mapping' }); continue; }
    for (const [name, value] of Object.entries(body)) {
      const path = `limits.${scope}.${name}`;
      const f = fields[name];
      if (f === undefined) { out.push({ path, message: `unknown limit (expected one of ${Object.keys(fields).join(', ')})` }); continue; }
      if (value === null) continue;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (f.integer && !Number.isSafeInteger(value))) {
        out.push({ path, message: `must be a non-negative ${f.integer ? 'integer' : 'number'} (0 = unlimited), not ${JSON.stringify(value)}` });
      }
    }
  }
  return out;
}

/** The application's limits: each field of `spec` that is set, else the default. */
export function resolveLimits(spec: ApplicationLimits | undefined, defaults: Limits): Limits {
  if (spec === undefined || spec === null || !isObj(spec)) return defaults;
  const out: Record<string, number> = { ...defaults };
  for (const scope of Object.keys(FIELDS) as Scope[]) {
    const given = spec[scope] as Record<string, unknown> | undefined;
    if (!isObj(given)) continue;
    for (const [name, f] of Object.entries(FIELDS[scope])) {
      const value = given[name];
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) out[f.key] = value;
    }
  }
  return Object.freeze(out as unknown as Limits);
}
