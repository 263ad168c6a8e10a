// Drogue's registry rules that both the store (API writes) and the file backend (hand edits)
// apply: name rules, the metadata fields a request may carry, timestamps, the aliases a resource
// claims, the paths a write changed, and hashing of plain passwords on write.

import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Application, Credential, Device, DeviceSpec, Metadata, PasswordCredential } from '../../functions/ports/registry.ts';
import { MooringError } from '../../events/errors.ts';
import { sha512Crypt } from '../../functions/authz/sha512-crypt.ts';
import { verifyPassword } from '../../functions/authz/passwords.ts';
import type { AliasClaim } from './backend.ts';
import { limitsProblems } from '../quotas/limits.ts';

/** The metadata fields Drogue's `deny_unknown_fields` accepts. */
const METADATA_FIELDS = new Set([
  'name', 'application', 'uid', 'creationTimestamp', 'generation', 'resourceVersion',
  'deletionTimestamp', 'finalizers', 'labels', 'annotations',
]);

/** RFC 1123 hostname labels (lowercase), dot-separated. */
const HOSTNAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** Drogue's column is VARCHAR(64). */
export const APPLICATION_NAME_MAX = 64;
export const DEVICE_NAME_MAX_BYTES = 255;

export function invalid(message: string): MooringError {
  return new MooringError('MOORING_INVALID_REQUEST', message);
}

/** Why `name` is not a valid application name, or undefined when it is. */
export function applicationNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'application names must not be empty';
  if (name.length > APPLICATION_NAME_MAX) return `application names are at most ${APPLICATION_NAME_MAX} characters`;
  if (!HOSTNAME.test(name)) return `application names are lowercase RFC 1123 hostnames (a-z, 0-9, '-', '.'): ${JSON.stringify(name)}`;
  return undefined;
}

export function deviceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'device names must not be empty';
  if (Buffer.byteLength(name) > DEVICE_NAME_MAX_BYTES) return `device names are at most ${DEVICE_NAME_MAX_BYTES} bytes`;
  return undefined;
}

/** Checks the request's metadata shape: known fields only, string maps, a string list of finalizers. */
export function checkMetadata(md: unknown, kind: 'Application' | 'Device'): asserts md is Metadata {
  if (typeof md !== 'object' || md === null || Array.isArray(md)) throw invalid('metadata must be an object');
  for (const key of Object.keys(md)) {
    if (!METADATA_FIELDS.has(key)) throw invalid(`unknown field \`${key}\` in metadata`);
  }
  const m = md as Record<string, unknown>;
  const problem = kind === 'Application' ? applicationNameProblem(m.name) : deviceNameProblem(m.name);
  if (problem) throw invalid(problem);
  if (kind === 'Device' && (typeof m.application !== 'string' || m.application === '')) throw invalid('metadata.application must not be empty');
  for (const f of ['labels', 'annotations'] as const) {
    const v = m[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
      throw invalid(`metadata.${f} must map strings to strings`);
    }
  }
  const fin = m.finalizers;
  if (fin !== undefined && fin !== null && (!Array.isArray(fin) || fin.some((x) => typeof x !== 'string'))) {
    throw invalid('metadata.finalizers must be a list of strings');
  }
  for (const f of ['uid', 'resourceVersion'] as const) {
    if (m[f] !== undefined && m[f] !== null && typeof m[f] !== 'string') throw invalid(`metadata.${f} must be a string`);
  }
}

/** The application spec's Mooring extensions: `spec.limits` (connectors/quotas/limits.ts, the schema the YAML registry checks too). */
export function checkApplicationSpec(spec: unknown): void {
  if (spec === undefined || spec === null || typeof spec !== 'object') return;
  const problems = limitsProblems((spec as { limits?: unknown }).limits);
  if (problems.length > 0) throw invalid(problems.map((p) => `spec.${p.path}: ${p.message}`).join('; '));
}

/** RFC 3339 UTC with `Z`, fractional seconds only when non-zero (as chrono prints them). */
export function timestamp(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export const newVersion = (): string => randomUUID();

/** The client-kept metadata (labels, annotations, finalizers), empty ones omitted. */
export function clientMetadata(md: Metadata): Pick<Metadata, 'labels' | 'annotations' | 'finalizers'> {
  const out: Pick<Metadata, 'labels' | 'annotations' | 'finalizers'> = {};
  if (md.labels && Object.keys(md.labels).length > 0) out.labels = { ...md.labels };
  if (md.annotations && Object.keys(md.annotations).length > 0) out.annotations = { ...md.annotations };
  if (md.finalizers && md.finalizers.length > 0) out.finalizers = [...md.finalizers];
  return out;
}

// --- aliases -----------------------------------------------------------------------------------

/** Application aliases: global scope, its name and each valid trust anchor's subject. */
export function applicationAliases(app: Application): AliasClaim[] {
  const target = app.metadata.name;
  const out: AliasClaim[] = [{ scope: '', value: target, type: 'name', target }];
  const anchors = (app.status?.trustAnchors as { anchors?: unknown[] } | undefined)?.anchors;
  for (const a of Array.isArray(anchors) ? anchors : []) {
    const subject = (a as { valid?: { subject?: unknown } })?.valid?.subject;
    if (typeof subject === 'string' && !out.some((c) => c.value === subject)) out.push({ scope: '', value: subject, type: 'x509/ca', target });
  }
  return out;
}

/** Device aliases, scoped to the application: its name, each spec.alias, each unique username. */
export function deviceAliases(dev: Device): AliasClaim[] {
  const scope = dev.metadata.application;
  const target = dev.metadata.name;
  const out: AliasClaim[] = [];
  const add = (value: string, type: AliasClaim['type']) => {
    if (!out.some((c) => c.value === value)) out.push({ scope, value, type, target });
  };
  add(target, 'name');
  for (const a of Array.isArray(dev.spec.alias) ? dev.spec.alias : []) if (typeof a === 'string') add(a, 'alias');
  for (const c of credentialsOf(dev.spec)) {
    if (c && typeof c === 'object' && 'user' in c && c.user?.unique === true && typeof c.user.username === 'string') add(c.user.username, 'username');
  }
  return out;
}

/** The claims to release (held before, not after) and to make (after), releases first. */
export function aliasDiff(before: readonly AliasClaim[], after: readonly AliasClaim[]): { release: AliasClaim[]; claim: AliasClaim[] } {
  const has = (list: readonly AliasClaim[], c: AliasClaim) => list.some((x) => x.scope === c.scope && x.value === c.value);
  return { release: before.filter((c) => !has(after, c)), claim: after.filter((c) => !has(before, c)) };
}

// --- changed paths (Drogue's diff.rs) ------------------------------------------------------------

type Resource = Pick<Application | Device, 'metadata' | 'spec' | 'status'>;

function keyPaths(prefix: string, a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  for (const k of [...keys].sort()) if (!isDeepStrictEqual(a?.[k], b?.[k])) out.push(`${prefix}.${k}`);
  return out;
}

/** `.metadata` when labels, annotations, finalizers or deletionTimestamp changed; `.spec.<key>`, `.status.<key>` per key. */
export function changedPaths(before: Resource, after: Resource): string[] {
  const out: string[] = [];
  const a = clientMetadata(before.metadata);
  const b = clientMetadata(after.metadata);
  if (!isDeepStrictEqual(a, b) || before.metadata.deletionTimestamp !== after.metadata.deletionTimestamp) out.push('.metadata');
  out.push(...keyPaths('.spec', before.spec, after.spec));
  out.push(...keyPaths('.status', before.status, after.status));
  return out;
}

// --- credentials -------------------------------------------------------------------------------

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `$6$<16 random chars>$…`, 5000 rounds (the default, so no `rounds=`). */
export function hashPassword(password: string): string {
  const bytes = randomBytes(16);
  let salt = '';
  for (const b of bytes) salt += ITOA64[b & 63];
  return sha512Crypt(password, `$6$${salt}`)!;
}

function credentialsOf(spec: DeviceSpec): Credential[] {
  const c = spec.authentication?.credentials;
  return Array.isArray(c) ? c : [];
}

function plainOf(pw: PasswordCredential | undefined): string | undefined {
  if (typeof pw === 'string') return pw;
  if (pw && typeof pw === 'object' && 'plain' in pw && typeof pw.plain === 'string') return pw.plain;
  return undefined;
}

function storedPasswordAt(prev: DeviceSpec | undefined, i: number, kind: 'pass' | 'user'): PasswordCredential | undefined {
  const c = prev ? credentialsOf(prev)[i] : undefined;
  if (!c || typeof c !== 'object') return undefined;
  if (kind === 'pass' && 'pass' in c) return c.pass;
  if (kind === 'user' && 'user' in c) return c.user?.password;
  return undefined;
}

/**
 * The spec with every plain password (`pass: "x"`, `{plain: "x"}`, `user.password` likewise)
 * replaced by `{sha512: …}`. When `prev` holds a hash at the same position that the plain
 * password verifies against, that hash is kept, so re-sending the same plain password is no change.
 */
export async function hashCredentials(spec: DeviceSpec, prev?: DeviceSpec): Promise<{ spec: DeviceSpec; hashed: number }> {
  const creds = spec.authentication?.credentials;
  if (!Array.isArray(creds)) return { spec, hashed: 0 };
  let hashed = 0;
  const hash = async (pw: PasswordCredential | undefined, i: number, kind: 'pass' | 'user'): Promise<PasswordCredential | undefined> => {
    const plain = plainOf(pw);
    if (plain === undefined) return pw;
    hashed++;
    const old = storedPasswordAt(prev, i, kind);
    if (old && typeof old === 'object' && 'sha512' in old && await verifyPassword(old, plain)) return { sha512: old.sha512 };
    return { sha512: hashPassword(plain) };
  };
  const out: Credential[] = [];
  for (const [i, c] of creds.entries()) {
    if (c && typeof c === 'object' && 'pass' in c) out.push({ ...c, pass: (await hash(c.pass, i, 'pass'))! });
    else if (c && typeof c === 'object' && 'user' in c && c.user && typeof c.user === 'object') {
      out.push({ ...c, user: { ...c.user, password: (await hash(c.user.password, i, 'user'))! } });
    } else out.push(c);
  }
  if (hashed === 0) return { spec, hashed };
  return { spec: { ...spec, authentication: { ...spec.authentication, credentials: out } }, hashed };
}
