// Conformance of the HTTP binding (binary, structured, batched) against the CloudEvents SDK as
// the oracle, both directions: what the SDK encodes, Mooring decodes to the same event; what
// Mooring encodes, the SDK decodes to the same event. SDK v10 deviations are worked around in
// the open (./sdk.ts), each named where it is used.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HTTP } from 'cloudevents';
import { httpBindings, type HttpMessage } from '../../../events/bindings/http.ts';
import { percentEncode } from '../../../events/bindings/percent.ts';
import { allText, asBinary, CASES, fromMooring, fromSdk, httpWire, toSdk, TYPES, withoutTime, type Comparable, type SdkEvent } from './sdk.ts';

const http = httpBindings({ extensionTypes: TYPES });
let checks = 0;

/** SDK v10 writes header values raw: apply the §3.1.3.2 encoding it lacks before the wire. */
function sdkBinaryOnWire(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = v !== undefined && k.toLowerCase().startsWith('ce-') ? percentEncode(String(v)) : v;
  return httpWire(out);
}

/** SDK v10 does not percent-decode header values (§3.1.3.2): the decoding step, on its result. */
function decodedSdk(c: Comparable): Comparable {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.attributes)) attributes[k] = decodeURIComponent(v);
  const extensions: Comparable['extensions'] = {};
  for (const [k, v] of Object.entries(c.extensions)) extensions[k] = typeof v === 'string' ? decodeURIComponent(v) : v;
  return { ...c, attributes, extensions };
}

/** The message as the SDK's receiver takes it: text bodies as strings, binary ones as bytes. */
function forSdk(m: HttpMessage): { headers: Record<string, string>; body: string | Buffer | undefined } {
  const ct = m.headers['content-type'];
  const text = ct === undefined || /json|^text\//.test(ct);
  return { headers: m.headers, body: m.body.length === 0 ? undefined : text ? m.body.toString('utf8') : m.body };
}

function sameAsSdkSent(sdk: SdkEvent<unknown>, sentContentType: string | undefined, binary: boolean): Comparable {
  const expected = fromSdk(sdk);
  // §3.1.1: in binary mode Content-Type is datacontenttype; SDK v10 sends a default JSON one.
  if (binary && sentContentType !== undefined) expected.attributes.datacontenttype = sentContentType;
  return binary ? asBinary(expected, TYPES) : expected;
}

for (const { name, event } of CASES) {
  test(`HTTP binary, SDK → Mooring: ${name}`, () => {
    const sdk = toSdk(event);
    const m = HTTP.binary(sdk);
    const headers = sdkBinaryOnWire(m.headers as Record<string, unknown>);
    const body = m.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(m.body) ? m.body : Buffer.from(String(m.body), 'utf8');
    const back = http.binary.decode({ headers, body });
    assert.equal(fromMooring(back), sameAsSdkSent(sdk, headers['content-type'], true));
    checks++;
  });

  test(`HTTP binary, Mooring → SDK: ${name}`, () => {
    const m = http.binary.encode(event);
    const sdk = HTTP.toEvent(forSdk(m)) as SdkEvent<unknown>;
    let expected = allText(fromMooring(event));
    let got = decodedSdk(fromSdk(sdk));
    if (event.time === undefined) { expected = withoutTime(expected); got = withoutTime(got); } // SDK v10 adds a time
    assert.equal(got, expected);
    checks++;
  });

  test(`HTTP structured, SDK → Mooring: ${name}`, () => {
    const sdk = toSdk(event);
    const m = HTTP.structured(sdk);
    const back = http.structured.decode({ headers: httpWire(m.headers as Record<string, unknown>), body: Buffer.from(String(m.body), 'utf8') });
    assert.equal(fromMooring(back), sameAsSdkSent(sdk, undefined, false));
    checks++;
  });

  test(`HTTP structured, Mooring → SDK: ${name}`, () => {
    const m = http.structured.encode(event);
    const sdk = HTTP.toEvent(forSdk(m)) as SdkEvent<unknown>;
    let expected = fromMooring(event);
    let got = fromSdk(sdk);
    if (event.time === undefined) { expected = withoutTime(expected); got = withoutTime(got); }
    assert.equal(got, expected);
    checks++;
  });
}

test('HTTP batch, SDK → Mooring: every case in one batch, in order', () => {
  const sdk = CASES.map((c) => toSdk(c.event));
  // SDK v10 has no batch serializer; its JSON form (toJSON) in an array is the batch (§3.3).
  const back = http.batch.decode({ headers: { 'content-type': 'application/cloudevents-batch+json' }, body: Buffer.from(JSON.stringify(sdk), 'utf8') });
  assert.is(back.length, CASES.length);
  back.forEach((e, i) => assert.equal(fromMooring(e), fromSdk(sdk[i]!), CASES[i]!.name));
  checks += back.length;
});

test('HTTP batch, Mooring → SDK: every case in one batch, in order', () => {
  const m = http.batch.encode(CASES.map((c) => c.event));
  const sdk = HTTP.toEvent(forSdk(m)) as SdkEvent<unknown>[];
  assert.ok(Array.isArray(sdk));
  assert.is(sdk.length, CASES.length);
  sdk.forEach((e, i) => {
    const event = CASES[i]!.event;
    const expected = fromMooring(event);
    const got = fromSdk(e);
    assert.equal(event.time === undefined ? withoutTime(got) : got, event.time === undefined ? withoutTime(expected) : expected, CASES[i]!.name);
  });
  checks += sdk.length;
});

test('HTTP binary: Mooring percent-encodes what the SDK would write raw (§3.1.3.2)', () => {
  const event = CASES.find((c) => c.name.startsWith('non-ASCII'))!.event;
  const m = http.binary.encode(event);
  assert.is(m.headers['ce-subject'], 'temp%C3%A9rature%20100%25%20%22x%22');
  assert.is(m.headers['ce-device'], 'ger%C3%A4t%201');
  for (const v of Object.values(m.headers)) assert.ok(/^[\x21-\x7e]*$/.test(v), `only printable ASCII on the wire: ${v}`);
  // The SDK, lacking the decoding step, sees the encoded text.
  const sdk = HTTP.toEvent(forSdk(m)) as SdkEvent<unknown>;
  assert.is(sdk.subject, 'temp%C3%A9rature%20100%25%20%22x%22');
});

test.after(() => {
  console.log(`  HTTP conformance checks against the SDK: ${checks}`);
});

test.run();
