// Turns registry documents (parsed YAML/JSON) into checked Drogue-format resources, or refuses
// them with every problem named by document (1-based index, kind and name) and field path.
// Accepts Drogue's long form (`kind`, `metadata`, `spec`) and the seed's short device form
// (`name`, `application`, `credentials`, `gatewaySelector` at the top or under `metadata`),
// which it rewrites to the long form. Cross-document checks: duplicates, devices of unknown
// applications, and lookup names (name, alias, unique username) shared by two devices.

import type {
  Application, ApplicationSpec, Credential, Device, DeviceSpec, Metadata, MqttDialect, PasswordCredential,
} from '../../functions/ports/registry.ts';
import { MooringError } from '../../events/errors.ts';
import { parseDuration } from '../push-sink/duration.ts';
import { applicationNameProblem, DEVICE_NAME_MAX_BYTES } from './rules.ts';
import { limitsProblems } from '../quotas/limits.ts';

export interface RegistryProblem {
  /** 1-based position of the document in the file. */
  document: number;
  /** `Application demo-app`, `Device demo-app/demo-device`, or undefined when not known yet. */
  resource?: string;
  /** Field path inside the document, e.g. `spec.authentication.credentials[0].pass`. */
  path: string;
  message: string;
}

export function formatProblem(p: RegistryProblem): string {
  const where = p.resource ? `document ${p.document} (${p.resource})` : `document ${p.document}`;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** A registry refused as a whole; `problems` lists every reason. */
export class RegistryValidationError extends MooringError {
  readonly problems: readonly RegistryProblem[];
  constructor(problems: RegistryProblem[], source?: string) {
    const head = `invalid registry${source ? ` ${source}` : ''}`;
    super('MOORING_INVALID_CONFIG', `${head}: ${problems.map(formatProblem).join('; ')}`);
    this.name = 'RegistryValidationError';
    this.problems = problems;
  }
}

export interface RegistryContent {
  applications: Application[];
  devices: Device[];
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const PASSWORD_KINDS = ['plain', 'bcrypt', 'sha512'] as const;
const SHORT_DEVICE_KEYS = ['credentials', 'gatewaySelector', 'alias'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Collects problems of one document. */
class Doc {
  resource: string | undefined;
  constructor(readonly index: number, readonly problems: RegistryProblem[]) {}

  fail(path: string, message: string): undefined {
    this.problems.push({ document: this.index, resource: this.resource, path, message });
    return undefined;
  }

  str(v: unknown, path: string, opts: { required?: boolean; nonEmpty?: boolean } = {}): string | undefined {
    if (v === undefined || v === null) return opts.required ? this.fail(path, 'is required') : undefined;
    if (typeof v !== 'string') return this.fail(path, `must be a string, not ${describe(v)}`);
    if (opts.nonEmpty && v === '') return this.fail(path, 'must not be empty');
    return v;
  }

  bool(v: unknown, path: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return this.fail(path, `must be true or false, not ${describe(v)}`);
    return v;
  }

  obj(v: unknown, path: string): Obj | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) return this.fail(path, `must be a mapping, not ${describe(v)}`);
    return v;
  }

  strings(v: unknown, path: string): string[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) return this.fail(path, `must be a list of strings, not ${describe(v)}`);
    const out: string[] = [];
    v.forEach((item, i) => {
      const s = this.str(item, `${path}[${i}]`, { required: true, nonEmpty: true });
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  /** Labels/annotations: string values; YAML numbers and booleans are taken as their text. */
  stringMap(v: unknown, path: string): Record<string, string> | undefined {
    const o = this.obj(v, path);
    if (!o) return undefined;
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(o)) {
      if (typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean') out[k] = String(val);
      else this.fail(`${path}.${k}`, `must be a string, not ${describe(val)}`);
    }
    return out;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function password(d: Doc, v: unknown, path: string): PasswordCredential | undefined {
  if (typeof v === 'string') return v;
  if (!isObj(v)) return d.fail(path, `must be a string or one of {plain|bcrypt|sha512: string}, not ${describe(v)}`);
  const keys = Object.keys(v);
  const kind = keys[0];
  if (keys.length !== 1 || !(PASSWORD_KINDS as readonly string[]).includes(kind as string)) {
    return d.fail(path, `must have exactly one of plain, bcrypt, sha512 (found: ${keys.join(', ') || 'none'})`);
  }
  const value = d.str(v[kind as string], `${path}.${kind}`, { required: true, nonEmpty: true });
  if (value === undefined) return undefined;
  if (kind === 'bcrypt' && !/^\$2[abxy]?\$\d\d\$/.test(value)) return d.fail(`${path}.bcrypt`, 'is not a bcrypt hash ($2b$…)');
  if (kind === 'sha512' && !value.startsWith('$6$')) return d.fail(`${path}.sha512`, 'is not a sha512-crypt hash ($6$…)');
  return { [kind as string]: value } as PasswordCredential;
}

function credential(d: Doc, v: unknown, path: string): Credential | undefined {
  if (!isObj(v)) return d.fail(path, `must be a mapping with one of pass, user, psk, not ${describe(v)}`);
  const keys = Object.keys(v);
  if (keys.length !== 1) return d.fail(path, `must have exactly one of pass, user, psk (found: ${keys.join(', ') || 'none'})`);
  const kind = keys[0] as string;
  const body = v[kind];
  const p = `${path}.${kind}`;
  switch (kind) {
    case 'pass': {
      const pw = password(d, body, p);
      return pw === undefined ? undefined : { pass: pw };
    }
    case 'user': {
      const u = d.obj(body, p);
      if (!u) return body === undefined || body === null ? d.fail(p, 'is required') : undefined;
      const username = d.str(u.username, `${p}.username`, { required: true, nonEmpty: true });
      const pw = u.password === undefined ? d.fail(`${p}.password`, 'is required') : password(d, u.password, `${p}.password`);
      const unique = d.bool(u.unique, `${p}.unique`);
      if (username === undefined || pw === undefined) return undefined;
      return { user: { username, password: pw, ...(unique !== undefined ? { unique } : {}) } };
    }
    case 'psk': {
      const o = d.obj(body, p);
      if (!o) return body === undefined || body === null ? d.fail(p, 'is required') : undefined;
      const key = d.str(o.key, `${p}.key`, { required: true, nonEmpty: true });
      if (key !== undefined && !BASE64.test(key)) return d.fail(`${p}.key`, 'must be base64');
      const validity = d.obj(o.validity, `${p}.validity`);
      let checked: { notBefore?: string; notAfter?: string } | undefined;
      if (validity) {
        checked = {};
        for (const f of ['notBefore', 'notAfter'] as const) {
          const raw = validity[f] instanceof Date ? (validity[f] as Date).toISOString() : validity[f];
          const s = d.str(raw, `${p}.validity.${f}`);
          if (s !== undefined && Number.isNaN(Date.parse(s))) d.fail(`${p}.validity.${f}`, `is not a timestamp: ${JSON.stringify(s)}`);
          else if (s !== undefined) checked[f] = s;
        }
      }
      if (key === undefined) return undefined;
      return { psk: { key, ...(checked ? { validity: checked } : {}) } };
    }
    default:
      return d.fail(path, `unknown credential kind '${kind}' (expected pass, user or psk)`);
  }
}

/** Long form: a list of credentials. Short form also: `{}` or `{pass: …, user: …}`. */
function credentials(d: Doc, v: unknown, path: string, short: boolean): Credential[] | undefined {
  if (v === undefined || v === null) return undefined;
  const out: Credential[] = [];
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      const c = credential(d, item, `${path}[${i}]`);
      if (c) out.push(c);
    });
    return out;
  }
  if (short && isObj(v)) {
    for (const [kind, body] of Object.entries(v)) {
      const bodies = Array.isArray(body) ? body : [body];
      bodies.forEach((b, i) => {
        const c = credential(d, { [kind]: b }, Array.isArray(body) ? `${path}.${kind}[${i}]` : path);
        if (c) out.push(c);
      });
    }
    return out;
  }
  return d.fail(path, `must be a list of credentials, not ${describe(v)}`);
}

function dialect(d: Doc, v: unknown, path: string): MqttDialect | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? d.fail(path, 'must not be empty') : ({ type: v } as MqttDialect);
  const o = d.obj(v, path);
  if (!o) return undefined;
  const type = d.str(o.type, `${path}.type`, { required: true, nonEmpty: true });
  const devicePrefix = d.bool(o.devicePrefix, `${path}.devicePrefix`);
  if (type === undefined) return undefined;
  // Unknown dialect types are kept: the device is refused at connect time, as Drogue does.
  return { ...o, type, ...(devicePrefix !== undefined ? { devicePrefix } : {}) } as MqttDialect;
}

function core(d: Doc, v: unknown, path: string): { disabled?: boolean } | undefined {
  const o = d.obj(v, path);
  if (!o) return undefined;
  const disabled = d.bool(o.disabled, `${path}.disabled`);
  return { ...o, ...(disabled !== undefined ? { disabled } : {}) };
}

function mqtt(d: Doc, v: unknown, path: string): { dialect?: MqttDialect } | undefined {
  const o = d.obj(v, path);
  if (!o) return undefined;
  const dl = dialect(d, o.dialect, `${path}.dialect`);
  return { ...o, ...(dl ? { dialect: dl } : {}) };
}

function endpoint(d: Doc, v: unknown, path: string): NonNullable<NonNullable<ApplicationSpec['knative']>['endpoint']> | undefined {
  const o = d.obj(v, path);
  if (!o) return undefined;
  const url = d.str(o.url, `${path}.url`, { required: true, nonEmpty: true });
  if (url !== undefined) {
    let parsed: URL | undefined;
    try { parsed = new URL(url); } catch { /* reported below */ }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      d.fail(`${path}.url`, `must be an http or https URL, not ${JSON.stringify(url)}`);
    }
  }
  let headers: Record<string, string> | undefined;
  if (Array.isArray(o.headers)) {
    // Drogue's form: [{name, value}].
    headers = {};
    o.headers.forEach((h: unknown, i) => {
      const ho = d.obj(h, `${path}.headers[${i}]`);
      const name = ho && d.str(ho.name, `${path}.headers[${i}].name`, { required: true, nonEmpty: true });
      const value = ho && d.str(ho.value, `${path}.headers[${i}].value`, { required: true });
      if (name !== undefined && value !== undefined && headers) headers[name] = value;
    });
  } else {
    headers = d.stringMap(o.headers, `${path}.headers`);
  }
  let timeout: string | undefined;
  if (o.timeout !== undefined && o.timeout !== null) {
    const t = typeof o.timeout === 'number' ? String(o.timeout) : d.str(o.timeout, `${path}.timeout`);
    if (t !== undefined && parseDuration(t) === undefined) d.fail(`${path}.timeout`, `is not a duration (e.g. 5s, PT5S): ${JSON.stringify(t)}`);
    else timeout = t;
  }
  if (url === undefined) return undefined;
  return { ...o, url, ...(headers ? { headers } : {}), ...(timeout !== undefined ? { timeout } : {}) };
}

function metadata(d: Doc, src: Obj, path: string, kind: 'Application' | 'Device'): Metadata | undefined {
  const p = (f: string) => (path ? `${path}.${f}` : f);
  const name = d.str(src.name, p('name'), { required: true, nonEmpty: true });
  const application = kind === 'Device' ? d.str(src.application, p('application'), { required: true, nonEmpty: true }) : undefined;
  d.resource = kind === 'Device' ? `Device ${application ?? '?'}/${name ?? '?'}` : `Application ${name ?? '?'}`;
  const nameProblem = kind === 'Application' && name !== undefined ? applicationNameProblem(name) : undefined;
  if (nameProblem) d.fail(p('name'), nameProblem);
  if (kind === 'Device' && name !== undefined && Buffer.byteLength(name) > DEVICE_NAME_MAX_BYTES) d.fail(p('name'), `device names are at most ${DEVICE_NAME_MAX_BYTES} bytes`);
  const labels = d.stringMap(src.labels, p('labels'));
  const annotations = d.stringMap(src.annotations, p('annotations'));
  const finalizers = d.strings(src.finalizers, p('finalizers'));
  if (name === undefined || (kind === 'Device' && application === undefined)) return undefined;
  const md: Metadata = { name };
  if (application !== undefined) md.application = application;
  for (const f of ['uid', 'creationTimestamp', 'resourceVersion', 'deletionTimestamp'] as const) {
    const s = d.str(src[f] instanceof Date ? (src[f] as Date).toISOString() : src[f], p(f));
    if (s !== undefined) md[f] = s;
  }
  if (typeof src.generation === 'number') md.generation = src.generation;
  if (labels) md.labels = labels;
  if (annotations) md.annotations = annotations;
  if (finalizers && finalizers.length > 0) md.finalizers = finalizers;
  return md;
}

/**
 * What both kinds share: the metadata (under `metadata`, or at the top in the seed's short form),
 * the spec, and its validated `core` and `mqtt` sections copied into `out`.
 */
function common(d: Doc, o: Obj, kind: 'Application' | 'Device'): {
  md: Metadata | undefined; spec: Obj; out: Obj; short: boolean; mdSrc: Obj;
} {
  const short = o.metadata === undefined;
  const mdSrc = short ? o : (d.obj(o.metadata, 'metadata') ?? {});
  const md = metadata(d, mdSrc, short ? '' : 'metadata', kind);
  const spec = d.obj(o.spec, 'spec') ?? {};
  const out: Obj = { ...spec };
  const c = core(d, spec.core, 'spec.core');
  if (c) out.core = c;
  const m = mqtt(d, spec.mqtt, 'spec.mqtt');
  if (m) out.mqtt = m;
  return { md, spec, out, short, mdSrc };
}

function applicationDoc(d: Doc, o: Obj): Application | undefined {
  const { md, spec, out: base } = common(d, o, 'Application');
  const out = base as ApplicationSpec;
  const ta = d.obj(spec.trustAnchors, 'spec.trustAnchors');
  if (ta) {
    const anchors: Array<{ certificate: string }> = [];
    if (!Array.isArray(ta.anchors)) d.fail('spec.trustAnchors.anchors', `must be a list, not ${describe(ta.anchors)}`);
    else ta.anchors.forEach((a: unknown, i) => {
      const ao = d.obj(a, `spec.trustAnchors.anchors[${i}]`);
      const cert = ao && d.str(ao.certificate, `spec.trustAnchors.anchors[${i}].certificate`, { required: true, nonEmpty: true });
      if (cert !== undefined && cert !== null) anchors.push({ certificate: cert });
    });
    out.trustAnchors = { anchors };
  }
  const kn = d.obj(spec.knative, 'spec.knative');
  if (kn) {
    const ep = endpoint(d, kn.endpoint, 'spec.knative.endpoint');
    out.knative = { ...kn, ...(ep ? { endpoint: ep } : {}) };
  }
  for (const p of limitsProblems(spec.limits)) d.fail(`spec.${p.path}`, p.message);
  if (!md) return undefined;
  const status = d.obj(o.status, 'status');
  return { kind: 'Application', metadata: md, spec: out, ...(status && Object.keys(status).length > 0 ? { status } : {}) };
}

function deviceDoc(d: Doc, o: Obj): Device | undefined {
  const { md, spec, out: base, short, mdSrc } = common(d, o, 'Device');
  const out = base as DeviceSpec;
  const auth = d.obj(spec.authentication, 'spec.authentication');
  if (auth) {
    const creds = credentials(d, auth.credentials, 'spec.authentication.credentials', false);
    out.authentication = { ...auth, ...(creds ? { credentials: creds } : {}) };
  }
  const gs = d.obj(spec.gatewaySelector, 'spec.gatewaySelector');
  if (gs) {
    const names = d.strings(gs.matchNames, 'spec.gatewaySelector.matchNames');
    out.gatewaySelector = { ...gs, ...(names ? { matchNames: names } : {}) };
  }
  const alias = d.strings(spec.alias, 'spec.alias');
  if (alias) out.alias = alias;

  // The seed's short form: these keys directly under the device (or under its metadata).
  const prefix = short ? '' : 'metadata.';
  for (const key of SHORT_DEVICE_KEYS) {
    if (mdSrc[key] === undefined) continue;
    const path = `${prefix}${key}`;
    if (spec[key === 'credentials' ? 'authentication' : key] !== undefined) {
      d.fail(path, `is given both here and in spec; keep one`);
      continue;
    }
    if (key === 'credentials') {
      const creds = credentials(d, mdSrc.credentials, path, true);
      if (creds) out.authentication = { credentials: creds };
    } else if (key === 'gatewaySelector') {
      const g = d.obj(mdSrc.gatewaySelector, path);
      const names = g && d.strings(g.matchNames, `${path}.matchNames`);
      if (g) out.gatewaySelector = { ...g, ...(names ? { matchNames: names } : {}) };
    } else {
      const a = d.strings(mdSrc.alias, path);
      if (a) out.alias = a;
    }
  }
  if (!md) return undefined;
  const status = d.obj(o.status, 'status');
  return { kind: 'Device', metadata: md as Device['metadata'], spec: out, ...(status && Object.keys(status).length > 0 ? { status } : {}) };
}

interface Located<T> { value: T; document: number; resource: string }

/**
 * Checks and normalizes `documents` (null/empty documents are skipped; a document that is a list
 * holds several resources). Throws RegistryValidationError listing every problem.
 */
export function validateDocuments(documents: readonly unknown[], source?: string): RegistryContent {
  const problems: RegistryProblem[] = [];
  const apps: Array<Located<Application>> = [];
  const devices: Array<Located<Device>> = [];

  documents.forEach((raw, i) => {
    const items = Array.isArray(raw) ? raw : [raw];
    for (const item of items) {
      if (item === null || item === undefined) continue;
      const d = new Doc(i + 1, problems);
      if (!isObj(item)) { d.fail('', `must be a mapping (a resource), not ${describe(item)}`); continue; }
      let kind = item.kind;
      if (kind === undefined && item.metadata === undefined && item.application !== undefined) kind = 'Device';
      if (kind === 'Application') {
        const a = applicationDoc(d, item);
        if (a) apps.push({ value: a, document: d.index, resource: d.resource ?? '' });
      } else if (kind === 'Device') {
        const dev = deviceDoc(d, item);
        if (dev) devices.push({ value: dev, document: d.index, resource: d.resource ?? '' });
      } else if (kind === undefined) {
        d.fail('kind', 'is required (Application or Device), or `application` for a device in the short form');
      } else {
        d.fail('kind', `must be Application or Device, not ${JSON.stringify(kind)}`);
      }
    }
  });

  crossCheck(apps, devices, problems);
  if (problems.length > 0) throw new RegistryValidationError(problems, source);
  return { applications: apps.map((a) => a.value), devices: devices.map((d) => d.value) };
}

function crossCheck(apps: Array<Located<Application>>, devices: Array<Located<Device>>, problems: RegistryProblem[]): void {
  const fail = (at: Located<unknown>, path: string, message: string) =>
    problems.push({ document: at.document, resource: at.resource, path, message });

  const appAt = new Map<string, Located<Application>>();
  for (const a of apps) {
    const prev = appAt.get(a.value.metadata.name);
    if (prev) fail(a, 'metadata.name', `application '${a.value.metadata.name}' is already defined in document ${prev.document}`);
    else appAt.set(a.value.metadata.name, a);
  }

  // Every name a client may use to name a device, per application (see RegistryReader.findDevice).
  const keys = new Map<string, Map<string, { at: Located<Device>; what: string }>>();
  const deviceAt = new Map<string, Located<Device>>();
  const claim = (dev: Located<Device>, key: string, what: string, path: string) => {
    const app = dev.value.metadata.application;
    let perApp = keys.get(app);
    if (!perApp) keys.set(app, (perApp = new Map()));
    const owner = perApp.get(key);
    if (!owner) { perApp.set(key, { at: dev, what }); return; }
    if (owner.at === dev) return;
    fail(dev, path, `'${key}' is already the ${owner.what} of device '${owner.at.value.metadata.name}' (document ${owner.at.document})`);
  };

  for (const dev of devices) {
    const { application, name } = dev.value.metadata;
    if (!appAt.has(application)) fail(dev, 'metadata.application', `application '${application}' is not defined in this registry`);
    const id = `${application}/${name}`;
    const prev = deviceAt.get(id);
    if (prev) fail(dev, 'metadata.name', `device '${id}' is already defined in document ${prev.document}`);
    else { deviceAt.set(id, dev); claim(dev, name, 'name', 'metadata.name'); }
  }
  for (const dev of devices) {
    if (deviceAt.get(`${dev.value.metadata.application}/${dev.value.metadata.name}`) !== dev) continue;
    (dev.value.spec.alias ?? []).forEach((alias, i) => claim(dev, alias, 'alias', `spec.alias[${i}]`));
  }
  for (const dev of devices) {
    if (deviceAt.get(`${dev.value.metadata.application}/${dev.value.metadata.name}`) !== dev) continue;
    (dev.value.spec.authentication?.credentials ?? []).forEach((c, i) => {
      if ('user' in c && c.user.unique) claim(dev, c.user.username, 'unique username', `spec.authentication.credentials[${i}].user.username`);
    });
  }
}
