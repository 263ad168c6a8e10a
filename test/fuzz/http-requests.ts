// Valid HTTP/1.1 requests to the device endpoint (Drogue's /v1 publish paths with every
// credential form, TTN v2/v3 webhooks, command waits) and to the management API (registry CRUD,
// admin, tokens, commands, discovery), and the mutations the HTTP fuzzer applies to them: methods,
// paths (encodings, `..`, very long, unicode), headers (auth schemes, broken base64, huge and
// duplicate headers), framing (Content-Length mismatches, chunked errors), bodies (invalid JSON,
// deep nesting, wrong types, huge) and query strings; raw byte mutations last. Seeded (Rng of
// mqtt-packets.ts): a run is reproducible from its seed.

import { readFileSync } from 'node:fs';
import type { Rng } from './mqtt-packets.ts';

export type Port = 'device' | 'api';

export interface HttpRequest {
  port: Port;
  method: string;
  /** The request line's version (default HTTP/1.1). */
  version?: string;
  /** Path as sent (already encoded), without the query. */
  path: string;
  /** Raw `k=v` pairs, already encoded. */
  query: string[];
  headers: Array<[string, string]>;
  body: Buffer;
  /** How the body is framed; 'none' sends no framing header (and no body). */
  framing: 'length' | 'chunked' | 'none';
  /** Content-Length as sent, when it is not the body's length. */
  declaredLength?: string;
  /** Content-Length as sent: the body's length plus this. */
  lengthDelta?: number;
  /** The bytes may not make a complete request: the server may wait for more. */
  incomplete?: boolean;
  /** Chunked encoding as sent, when it is not the body's proper one. */
  chunked?: Buffer;
  /** Bytes appended after the request (a second, pipelined request or garbage). */
  trailer?: Buffer;
  /** The pipelined request may not be complete. */
  trailerIncomplete?: boolean;
  /** The request may legitimately wait (a command wait, a reply timeout) this many seconds. */
  waitS: number;
}

export interface Context { devices: number; token: { username: string; token: string } }

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/ttn/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const TTN_V2 = fixture('v2-uplink.json');
const TTN_V3 = fixture('v3-uplink.json');

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const APPS = ['fz0', 'fz1', 'fz2', 'fuzzapp', 'app1', 'nope'];
const CHANNELS = ['temp', 'a', 'sensors', 'état', 'x%2Fy', 'command'];

function deviceCredentials(r: Rng, c: Context, dev: string): { headers: Array<[string, string]>; query: string[] } {
  const pw = r.int(10) === 0 ? 'wrong' : 'pw';
  switch (r.int(5)) {
    case 0: return { headers: [['authorization', `Basic ${b64(`${dev}:${pw}`)}`]], query: ['application=fuzzapp'] };
    case 1: return { headers: [['authorization', `Basic ${b64(`${dev}@fuzzapp:${pw}`)}`]], query: [`as=fuzz${r.int(c.devices)}`] };
    case 2: return { headers: [['authorization', `Basic ${b64(`${dev}:${pw}`)}`]], query: ['application=fuzzapp', `device=${dev}`] };
    default: return { headers: [['authorization', `Basic ${b64(`${dev}@fuzzapp:${pw}`)}`]], query: [] };
  }
}

function apiCredentials(r: Rng, c: Context): { headers: Array<[string, string]>; query: string[] } {
  const roll = r.int(10);
  if (roll < 6) return { headers: [['authorization', `Basic ${b64(`${c.token.username}:${c.token.token}`)}`]], query: [] };
  if (roll < 7) return { headers: [], query: [`username=${c.token.username}`, `api_key=${c.token.token}`] };
  return { headers: [], query: [] };
}

function devicePayload(r: Rng): { type: string | undefined; body: Buffer } {
  switch (r.int(4)) {
    case 0: return { type: 'application/json', body: json({ temp: r.int(40), ok: true, tags: ['a', 'b'] }) };
    case 1: return { type: 'text/plain', body: Buffer.from(`reading ${r.int(1000)}`) };
    case 2: return { type: 'application/octet-stream', body: r.bytes(r.int(64)) };
    default: return { type: undefined, body: json({ n: r.int(100) }) };
  }
}

function req(port: Port, method: string, path: string, extra: Partial<HttpRequest> = {}): HttpRequest {
  return { port, method, path, query: [], headers: [], body: Buffer.alloc(0), framing: method === 'GET' || method === 'DELETE' ? 'none' : 'length', waitS: 0, ...extra };
}

/** A valid request to the device endpoint. */
function deviceRequest(r: Rng, c: Context): HttpRequest {
  const dev = `fuzz${r.int(c.devices)}`;
  const cred = deviceCredentials(r, c, dev);
  const roll = r.int(100);
  if (roll < 5) return req('device', 'GET', '/');
  if (roll < 25) {
    const v3 = r.int(2) === 0;
    const body = structuredClone(v3 ? TTN_V3 : TTN_V2);
    if (v3) (body.end_device_ids as Record<string, unknown>).device_id = dev;
    else body.dev_id = dev;
    return req('device', 'POST', v3 ? '/ttn/v3' : r.pick(['/ttn', '/ttn/', '/ttn/v2']), {
      headers: [...cred.headers, ['content-type', 'application/json']], query: cred.query, body: json(body),
    });
  }
  const p = devicePayload(r);
  const query = [...cred.query];
  let waitS = 0;
  if (r.int(10) === 0) { waitS = 1; query.push(r.pick(['ct=1', 'commandTimeout=1'])); }
  if (r.int(8) === 0) query.push('data_schema=urn:fuzz');
  const suffix = r.int(4) === 0 ? `/${r.pick(CHANNELS)}/more` : '';
  return req('device', 'POST', `/v1/${r.pick(CHANNELS)}${suffix}`, {
    headers: [...cred.headers, ...(p.type ? [['content-type', p.type] as [string, string]] : [])], query, body: p.body, waitS,
  });
}

function appBody(r: Rng, name: string): Record<string, unknown> {
  return { metadata: { name, labels: { zone: r.pick(['a', 'b']) }, ...(r.int(3) === 0 ? { annotations: { note: 'x' } } : {}) }, spec: { knative: { disabled: r.int(2) === 0 } } };
}

function deviceBody(r: Rng, app: string, name: string): Record<string, unknown> {
  return {
    metadata: { name, application: app, labels: { kind: 'sensor' } },
    spec: { authentication: { credentials: [{ pass: 'secret' }, { user: { username: `u${r.int(9)}`, password: 'p' } }] }, alias: r.int(3) === 0 ? [`alias-${name}`] : undefined },
  };
}

/** A valid request to the management API. */
function apiRequest(r: Rng, c: Context): HttpRequest {
  const cred = apiCredentials(r, c);
  const app = r.pick(APPS);
  const device = `d${r.int(6)}`;
  const withJson = (method: string, path: string, body: unknown, query: string[] = []): HttpRequest =>
    req('api', method, path, { headers: [...cred.headers, ['content-type', 'application/json']], query: [...cred.query, ...query], body: json(body) });
  const plain = (method: string, path: string, query: string[] = []): HttpRequest =>
    req('api', method, path, { headers: cred.headers, query: [...cred.query, ...query] });
  const apps = '/api/registry/v1alpha1/apps';
  switch (r.int(16)) {
    case 0: return withJson('POST', apps, appBody(r, app));
    case 1: return plain('GET', apps, r.pick([[], ['labels=zone%3Da'], ['limit=2', 'offset=1'], ['labels=zone+in+(a,b)']]));
    case 2: return plain('GET', `${apps}/${app}`);
    case 3: return withJson('PUT', `${apps}/${app}`, appBody(r, app));
    case 4: return r.int(3) === 0 ? withJson('DELETE', `${apps}/${app}`, { preconditions: { resourceVersion: 'x' } }) : plain('DELETE', `${apps}/${app}`);
    case 5: return withJson('POST', `${apps}/${app}/devices`, deviceBody(r, app, device));
    case 6: return plain('GET', `${apps}/${app}/devices`, r.int(2) ? [] : ['labels=kind']);
    case 7: return plain('GET', `${apps}/${app}/devices/${device}`);
    case 8: return withJson('PUT', `${apps}/${app}/devices/${device}`, deviceBody(r, app, device));
    case 9: return plain('DELETE', `${apps}/${app}/devices/${device}`);
    case 10: return r.pick([
      plain('POST', '/api/tokens/v1alpha1', ['description=fuzz']), plain('GET', '/api/tokens/v1alpha1'),
      plain('DELETE', `/api/tokens/v1alpha1/drg_${r.int(1000)}`),
    ]);
    case 11: return r.pick([
      plain('GET', `/api/admin/v1alpha1/apps/${app}/members`), plain('GET', '/api/admin/v1alpha1/user/whoami'),
      withJson('PUT', `/api/admin/v1alpha1/apps/${app}/members`, { resourceVersion: '', members: { bob: { role: 'reader' } } }),
      withJson('PUT', `/api/admin/v1alpha1/apps/${app}/transfer-ownership`, { newUser: 'bob' }),
      plain('GET', `/api/admin/v1alpha1/apps/${app}/transfer-ownership`),
    ]);
    case 12: case 13: {
      const timeout = r.int(10) === 0;
      const payload = devicePayload(r);
      return req('api', 'POST', `/api/command/v1alpha1/apps/fuzzapp/devices/fuzz${r.int(c.devices)}`, {
        headers: [...cred.headers, ...(payload.type ? [['content-type', payload.type] as [string, string]] : [])],
        query: [...cred.query, `command=${r.pick(['set', 'reboot', 'a%2Fb'])}`, ...(timeout ? ['timeout=1'] : []), ...(r.int(4) === 0 ? ['ttl=PT1M'] : [])],
        body: payload.body, waitS: timeout ? 1 : 0,
      });
    }
    default: return plain('GET', r.pick(['/.well-known/drogue-endpoints', '/.well-known/drogue-version', '/api/console/v1alpha1/info', '/.well-known/openid-configuration', '/api', '/']));
  }
}

export function validRequest(r: Rng, c: Context): HttpRequest {
  return r.int(2) === 0 ? deviceRequest(r, c) : apiRequest(r, c);
}

// ---- mutations ----------------------------------------------------------------------------------

const long = (n: number, ch = 'a'): string => ch.repeat(n);

function setHeader(q: HttpRequest, name: string, value: string): void {
  q.headers = q.headers.filter(([k]) => k.toLowerCase() !== name);
  q.headers.push([name, value]);
}

/** Replaces a value somewhere inside a JSON body by one of the wrong type. */
function wrongType(r: Rng, body: Buffer): Buffer {
  let v: unknown;
  try { v = JSON.parse(body.toString('utf8')); } catch { return body; }
  const slots: Array<[Record<string, unknown>, string]> = [];
  const walk = (x: unknown, depth: number): void => {
    if (x === null || typeof x !== 'object' || depth > 20) return;
    for (const [k, y] of Object.entries(x)) { slots.push([x as Record<string, unknown>, k]); walk(y, depth + 1); }
  };
  walk(v, 0);
  if (slots.length === 0) return json(r.pick([[], 'x', 5, null]));
  const [o, k] = r.pick(slots);
  o[k] = r.pick<unknown>([5, -1, 1.5, 1e300, 'x', '', true, null, [], {}, [1, 'a'], { '': '' }, long(300), '\u0000', '\ud800']);
  try { return json(v); } catch { return body; } // nested too deep for this process's stack: left as it was
}

export const MUTATIONS = {
  method: (r: Rng, q: HttpRequest) => { q.method = r.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'post', 'Get', 'M-SEARCH', long(300, 'P'), 'GE T', 'PO\u0000ST']); },
  pathEncoding: (r: Rng, q: HttpRequest) => { q.path += r.pick(['%', '%zz', '%C3%28', '%00', '%2F', '%2e%2e', '%FF%FE', '%u0041', '%%32%65']); },
  pathDots: (r: Rng, q: HttpRequest) => { q.path = r.pick([`${q.path}/..`, `${q.path}/../..`, `/../..${q.path}`, q.path.replace(/\/[^/]*$/, '/./x/../'), `${q.path}//`, `//${q.path}`, '/v1/..', '/v1/%2e%2e/api', '/api/registry/v1alpha1/apps/..%2F..%2F']); },
  pathLong: (r: Rng, q: HttpRequest) => { q.path += `/${long(r.pick([300, 4000, 9000, 20_000, 70_000]))}`; },
  pathUnicode: (r: Rng, q: HttpRequest) => { q.path += r.pick(['/é', '/\u202e', '/日本', '/%E2%80%AE', '/\ud83d\ude00', '/\u0085', '/a b', '/a\tb']); },
  pathForm: (r: Rng, q: HttpRequest) => { q.path = r.pick(['*', '', 'v1/x', `http://fuzz${q.path}`, `https://a:b@fuzz:1${q.path}`, `${q.path}#frag`, `${q.path};x=y`, '/v1/', '/v1', '/ttn/v4', '/api/registry/v1alpha1/apps/', '/api/registry/v1alpha1/apps//devices']); },
  authScheme: (r: Rng, q: HttpRequest) => {
    setHeader(q, 'authorization', r.pick(['Basic', 'Basic ', 'Basic  ' + b64('fuzz0@fuzzapp:pw'), 'basic ' + b64('fuzz0@fuzzapp:pw'), 'Bearer', 'Bearer x.y.z',
      'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Digest username="x"', 'Negotiate YII=', 'Basic\t' + b64('a:b'), 'Basic ' + b64('fuzz0@fuzzapp:pw') + ' extra', 'AWS4-HMAC-SHA256 Credential=x', '']));
  },
  brokenBase64: (r: Rng, q: HttpRequest) => {
    setHeader(q, 'authorization', `Basic ${r.pick(['!!!!', 'YWJj', 'YWJj=', 'YW=J', '====', b64(Buffer.from([0xff, 0xfe, 0x3a, 0x80])), b64(':'), b64('@:'), b64('a@:b'), b64(`${long(5000)}:x`), 'Zm9v-_8=', b64('fuzz0@fuzzapp:pw').slice(1), b64('\u0000@\u0000:\u0000'), b64('drg_xxx:drg_abcdef_x')])}`);
  },
  hugeHeader: (r: Rng, q: HttpRequest) => { q.headers.push([r.pick(['x-big', 'cookie', 'authorization', 'content-type']), long(r.pick([4000, 17_000, 70_000]))]); },
  manyHeaders: (r: Rng, q: HttpRequest) => { const n = r.pick([100, 1000, 2500]); for (let i = 0; i < n; i++) q.headers.push([`x-h${i}`, 'v']); },
  duplicateHeader: (r: Rng, q: HttpRequest) => {
    const [k, v] = r.pick<[string, string]>([['authorization', `Basic ${b64('fuzz1@fuzzapp:pw')}`], ['content-type', 'text/plain'], ['content-type', 'application/json'], ['host', 'other'], ['content-length', String(q.body.length)], ['content-length', String(q.body.length + 1)], ['transfer-encoding', 'chunked']]);
    q.headers.push([k, v]);
    if (k === 'content-length' || k === 'transfer-encoding') q.incomplete = true;
  },
  badHeaderSyntax: (r: Rng, q: HttpRequest) => {
    q.headers.push(r.pick<[string, string]>([['bad header', 'x'], ['x-nul', 'a\u0000b'], ['x-fold', 'a\r\n folded'], ['', 'x'], ['x-utf8', 'é\u00ff'], ['x-cr', 'a\rb'], ['x:colon', 'y'], ['x-ctl', '\u0007']]));
  },
  contentType: (r: Rng, q: HttpRequest) => {
    setHeader(q, 'content-type', r.pick(['application/json; charset=utf-16', 'application/json; charset=bogus', 'application/json;;;', 'application/JSON', 'application/cloudevents+json',
      'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '*/*', '', 'text/plain; charset=latin1', 'application/json; charset="utf-8', '\u00e9/\u00e9']));
  },
  contentEncoding: (r: Rng, q: HttpRequest) => { setHeader(q, 'content-encoding', r.pick(['gzip', 'deflate', 'br', 'bogus', 'gzip, gzip', 'identity'])); },
  expect: (r: Rng, q: HttpRequest) => { setHeader(q, 'expect', r.pick(['100-continue', 'bogus', '100-Continue'])); },
  connection: (r: Rng, q: HttpRequest) => { q.headers.push(...r.pick<Array<[string, string]>>([[['connection', 'upgrade'], ['upgrade', 'websocket']], [['connection', 'keep-alive']], [['connection', 'close, te']], [['upgrade', 'h2c'], ['connection', 'upgrade, http2-settings'], ['http2-settings', 'AAMAAABkAAQAAP__']]])); },
  clLong: (r: Rng, q: HttpRequest) => { q.framing = 'length'; q.lengthDelta = 1 + r.int(5000); q.incomplete = true; },
  clShort: (r: Rng, q: HttpRequest) => { q.framing = 'length'; q.body = Buffer.concat([q.body, Buffer.from('trailing-bytes')]); q.lengthDelta = -1 - r.int(14); },
  clInvalid: (r: Rng, q: HttpRequest) => { q.framing = 'length'; q.incomplete = true; q.declaredLength = r.pick(['abc', '-1', '1e3', ' 5', '99999999999999999999', '0x10', '', '5, 5', '+5', '18446744073709551616']); },
  chunked: (r: Rng, q: HttpRequest) => {
    q.framing = 'chunked';
    q.incomplete = true;
    const b = q.body;
    const cut = r.int(b.length + 1);
    const chunk = (x: Buffer): Buffer => Buffer.concat([Buffer.from(`${x.length.toString(16)}\r\n`), x, Buffer.from('\r\n')]);
    const variants: Buffer[] = [
      Buffer.concat([chunk(b.subarray(0, cut)), chunk(b.subarray(cut)), Buffer.from('0\r\n\r\n')]), // valid, two chunks
      Buffer.concat([Buffer.from('zz\r\n'), b, Buffer.from('\r\n0\r\n\r\n')]),
      Buffer.concat([chunk(b)]), // no last chunk
      Buffer.concat([Buffer.from(`${(b.length + 10).toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')]),
      Buffer.concat([Buffer.from(`${b.length.toString(16)};ext=1;x\r\n`), b, Buffer.from('\r\n0\r\n\r\n')]),
      Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('0\r\n\r\n')]),
      Buffer.from('ffffffffffffffff\r\nabc\r\n0\r\n\r\n'),
      Buffer.from('-1\r\n\r\n0\r\n\r\n'),
      Buffer.concat([chunk(b), Buffer.from('0\r\nx-trailer: y\r\n\r\n')]),
      Buffer.from('0\r\n\r\n'),
    ];
    q.chunked = r.pick(variants);
  },
  invalidJson: (r: Rng, q: HttpRequest) => {
    setHeader(q, 'content-type', 'application/json');
    q.body = Buffer.from(r.pick(['{', '{"a":}', '{"a":1,}', "{'a':1}", 'NaN', '[1,2', '{"metadata":{"name":"x"}}}', '\ufeff{"a":1}', '{"a":"\\ud800"}', 'nul', '1e309', '{"__proto__":{"polluted":1},"metadata":{"name":"fz9"}}', '{"constructor":{"prototype":{"x":1}}}', '"str"', 'null', '[]', '']));
  },
  deepNesting: (r: Rng, q: HttpRequest) => {
    setHeader(q, 'content-type', 'application/json');
    const n = r.pick([100, 130, 3000, 20_000]);
    const kind = r.int(4);
    q.body = Buffer.from(kind === 0 ? `${'['.repeat(n)}${']'.repeat(n)}` : kind === 1 ? `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`
      : kind === 2 ? `{"metadata":{"name":"fz0","labels":${'{"a":'.repeat(n)}1${'}'.repeat(n)}},"spec":{}}`
        : `{"metadata":{"name":"fz${r.int(3)}","application":"fz${r.int(3)}"},"spec":{"x":${'{"a":['.repeat(n / 2)}1${']}'.repeat(n / 2)}}}`);
  },
  wrongType: (r: Rng, q: HttpRequest) => { q.body = wrongType(r, q.body); },
  hugeBody: (r: Rng, q: HttpRequest) => { q.framing = 'length'; q.body = Buffer.concat([q.body, Buffer.alloc(r.pick([60_000, 70_000, 1_100_000]), 0x61)]); },
  binaryBody: (r: Rng, q: HttpRequest) => { q.framing = 'length'; q.body = r.bytes(1 + r.int(300)); },
  query: (r: Rng, q: HttpRequest) => {
    q.query.push(...r.pick<string[]>([['ct=-1'], ['ct=abc'], ['ct=1.5'], ['ct=1e3'], ['ct=9999999999999999'], ['ct='], ['commandTimeout=x'], ['%'], ['ct=%zz'], ['a=%E0%A4%A'],
      [`x=${long(r.pick([3000, 20_000]))}`], ['application=fuzzapp', 'application=other'], ['device=', 'application='], ['as=%00'], ['as=fuzz0', 'as=fuzz1'], ['application[]=x'], ['a[b][c]=d'],
      ['=x'], ['&&&'], ['limit=-1'], ['limit=abc'], ['offset=99999999999999999999'], ['labels=!!!'], ['labels=a+in+('], ['labels=%FF'], ['timeout=0'], ['timeout=61'], ['timeout=abc'],
      ['ttl=P1'], ['ttl=PT-1S'], ['command='], ['command=a%2F%2B%2F%23'], ['command=%00'], ['token=x.y.z'], ['username=fuzzer'], ['api_key=drg_x'], ['description=%E2%80%AE'], ['data_schema=%FF%FE'], ['é=ü']]));
  },
  bitflip: () => { /* applied to the serialized bytes (see serialize) */ },
  truncate: () => { /* applied to the serialized bytes */ },
  garbage: () => { /* replaces the serialized bytes */ },
  version: (r: Rng, q: HttpRequest) => { q.version = r.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 x', '']); },
  pipeline: (r: Rng, q: HttpRequest, c: Context) => {
    const second = mutateAll(r, validRequest(r, c), c, 1);
    q.trailer = serialize(r, second).bytes;
    q.trailerIncomplete = mayBeIncomplete(second);
  },
} satisfies Record<string, (r: Rng, q: HttpRequest, c: Context) => void>;

export type MutationName = keyof typeof MUTATIONS;
const NAMES = Object.keys(MUTATIONS) as MutationName[];
const RAW = new Set<MutationName>(['bitflip', 'truncate', 'garbage']);
/** Mutations after which the bytes may not be a complete request (the server waits for more). */
const INCOMPLETE = new Set<MutationName>(['truncate', 'garbage', 'bitflip']);

export function mayBeIncomplete(q: HttpRequest & { names: MutationName[] }): boolean {
  return q.incomplete === true || q.trailerIncomplete === true || q.names.some((n) => INCOMPLETE.has(n));
}

function mutateAll(r: Rng, q: HttpRequest, c: Context, n: number): HttpRequest & { names: MutationName[] } {
  const names: MutationName[] = [];
  for (let i = 0; i < n; i++) {
    const name = r.pick(NAMES);
    names.push(name);
    if (name !== 'pipeline' || n === 2) MUTATIONS[name](r, q, c);
  }
  return Object.assign(q, { names });
}

/** A valid request with 0 (one in ten), 1 or 2 mutations. */
export function mutatedRequest(r: Rng, c: Context): HttpRequest & { names: MutationName[] } {
  const n = r.int(10) === 0 ? 0 : 1 + r.int(2);
  return mutateAll(r, validRequest(r, c), c, n);
}

/** The bytes on the wire, with the raw mutations among `names` applied; `requests` counts the requests in them. */
export function serialize(r: Rng, q: HttpRequest & { names?: MutationName[] }): { bytes: Buffer; requests: number } {
  const target = q.query.length > 0 ? `${q.path}?${q.query.join('&')}` : q.path;
  const lines = [`${q.method} ${target} ${q.version ?? 'HTTP/1.1'}`, 'host: fuzz', ...q.headers.map(([k, v]) => `${k}: ${v}`)];
  let body = q.body;
  if (q.framing === 'length') lines.push(`content-length: ${q.declaredLength ?? Math.max(0, q.body.length + (q.lengthDelta ?? 0))}`);
  else if (q.framing === 'chunked') { lines.push('transfer-encoding: chunked'); body = q.chunked ?? Buffer.concat([Buffer.from(`${q.body.length.toString(16)}\r\n`), q.body, Buffer.from('\r\n0\r\n\r\n')]); }
  else body = Buffer.alloc(0);
  let bytes: Buffer = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), body, q.trailer ?? Buffer.alloc(0)]);
  let requests = q.trailer ? 2 : 1;
  for (const name of q.names ?? []) {
    if (!RAW.has(name)) continue;
    if (name === 'bitflip') { bytes = Buffer.from(bytes); for (let k = 1 + r.int(4); k > 0; k--) bytes[r.int(bytes.length)]! ^= 1 << r.int(8); }
    if (name === 'truncate') bytes = bytes.subarray(0, r.int(bytes.length));
    if (name === 'garbage') { bytes = r.bytes(1 + r.int(200)); requests = 1; }
  }
  return { bytes, requests };
}
