import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { RegistryValidationError, validateDocuments } from '../../../connectors/registry/index.ts';

const app = (name = 'app1', spec: object = {}) => ({ kind: 'Application', metadata: { name }, spec });
const dev = (name: string, spec: object = {}, application = 'app1') => ({ kind: 'Device', metadata: { name, application }, spec });

function problems(docs: unknown[]): string[] {
  try {
    validateDocuments(docs);
  } catch (err) {
    assert.instance(err, RegistryValidationError);
    return (err as Error).message.replace(/^invalid registry: /, '').split('; ');
  }
  assert.unreachable('expected a validation error');
  return [];
}

test('the seed short form is normalized to the long form', () => {
  const short = parse(`
name: sensor01
application: app1
credentials: {}
gatewaySelector:
  matchNames:
    - gateway01
`);
  const { devices } = validateDocuments([app(), short]);
  assert.equal(devices[0], {
    kind: 'Device',
    metadata: { name: 'sensor01', application: 'app1' },
    spec: { authentication: { credentials: [] }, gatewaySelector: { matchNames: ['gateway01'] } },
  });
});

test('short form credentials as a mapping and under metadata', () => {
  const { devices } = validateDocuments([
    app(),
    { name: 'd1', application: 'app1', credentials: { pass: 'a', user: { username: 'u', password: 'b' } } },
    { kind: 'Device', metadata: { name: 'd2', application: 'app1', credentials: [{ pass: { bcrypt: '$2b$10$abcdefghijklmnopqrstuv' } }], gatewaySelector: { matchNames: ['d1'] } } },
  ]);
  assert.equal(devices[0]?.spec.authentication?.credentials, [{ pass: 'a' }, { user: { username: 'u', password: 'b' } }]);
  assert.equal(devices[1]?.spec.authentication?.credentials, [{ pass: { bcrypt: '$2b$10$abcdefghijklmnopqrstuv' } }]);
  assert.equal(devices[1]?.spec.gatewaySelector, { matchNames: ['d1'] });
});

test('long form: every documented field is kept; unknown spec sections pass through', () => {
  const { applications, devices } = validateDocuments([
    app('app1', {
      core: { disabled: false },
      mqtt: { dialect: { type: 'plainTopic', devicePrefix: true } },
      trustAnchors: { anchors: [{ certificate: 'LS0tLS1CRUdJTg==' }] },
      knative: { endpoint: { url: 'https://example.com/x', headers: [{ name: 'a', value: 'b' }], timeout: 'PT2S' } },
      ttn: { api: 'x' },
    }),
    dev('d1', {
      core: { disabled: true },
      mqtt: { dialect: 'drogue/v1' },
      alias: ['x'],
      gatewaySelector: { matchNames: ['gw'] },
      authentication: { credentials: [{ psk: { key: 'AAEC', validity: { notBefore: '2024-01-01T00:00:00Z' } } }, { pass: { sha512: '$6$salt$hash' } }] },
    }),
  ]);
  const a = applications[0]!;
  assert.equal(a.spec.mqtt?.dialect, { type: 'plainTopic', devicePrefix: true });
  assert.equal(a.spec.knative?.endpoint, { url: 'https://example.com/x', headers: { a: 'b' }, timeout: 'PT2S' });
  assert.equal(a.spec.ttn, { api: 'x' });
  const d = devices[0]!;
  assert.equal(d.spec.mqtt?.dialect, { type: 'drogue/v1' });
  assert.is(d.spec.core?.disabled, true);
  assert.equal(d.spec.authentication?.credentials?.[0], { psk: { key: 'AAEC', validity: { notBefore: '2024-01-01T00:00:00Z' } } });
});

test('validation messages name document, resource and field path', () => {
  const msgs = problems([
    app('App_1'),
    dev('d1', { authentication: { credentials: [{ pass: 'ok' }, { token: 'x' }] } }),
    dev('d2', { alias: ['ok', 7], gatewaySelector: { matchNames: 'gw' } }),
    app('app1', { knative: { endpoint: { url: 'ftp://x', timeout: 'soon' } } }),
    { kind: 'Thing', metadata: { name: 'x' } },
    { metadata: { name: 'x' } },
    dev('d3', { authentication: { credentials: [{ user: { username: '', password: { plain: 'x', bcrypt: 'y' } } }] } }),
  ]);
  const expect = [
    "document 1 (Application App_1): metadata.name: application names are lowercase",
    "document 2 (Device app1/d1): spec.authentication.credentials[1]: unknown credential kind 'token'",
    'document 3 (Device app1/d2): spec.alias[1]: must be a string, not number 7',
    'document 3 (Device app1/d2): spec.gatewaySelector.matchNames: must be a list of strings',
    'document 4 (Application app1): spec.knative.endpoint.url: must be an http or https URL',
    'document 4 (Application app1): spec.knative.endpoint.timeout: is not a duration',
    'document 5: kind: must be Application or Device, not "Thing"',
    'document 6: kind: is required',
    'document 7 (Device app1/d3): spec.authentication.credentials[0].user.username: must not be empty',
    'document 7 (Device app1/d3): spec.authentication.credentials[0].user.password: must have exactly one of plain, bcrypt, sha512',
  ];
  for (const e of expect) assert.ok(msgs.some((m) => m.startsWith(e)), `missing: ${e}\n got:\n${msgs.join('\n')}`);
});

test('duplicates and lookup-name collisions are refused', () => {
  const msgs = problems([
    app(),
    app(),
    dev('d1', { alias: ['shared'] }),
    dev('d1'),
    dev('d2', { alias: ['shared', 'd1'] }),
    dev('d3', { authentication: { credentials: [{ user: { username: 'd2', password: 'x', unique: true } }] } }),
    dev('d4', {}, 'nope'),
  ]);
  const expect = [
    "document 2 (Application app1): metadata.name: application 'app1' is already defined in document 1",
    "document 4 (Device app1/d1): metadata.name: device 'app1/d1' is already defined in document 3",
    "document 5 (Device app1/d2): spec.alias[0]: 'shared' is already the alias of device 'd1' (document 3)",
    "document 5 (Device app1/d2): spec.alias[1]: 'd1' is already the name of device 'd1' (document 3)",
    "document 6 (Device app1/d3): spec.authentication.credentials[0].user.username: 'd2' is already the name of device 'd2' (document 5)",
    "document 7 (Device nope/d4): metadata.application: application 'nope' is not defined",
  ];
  for (const e of expect) assert.ok(msgs.some((m) => m.startsWith(e)), `missing: ${e}\n got:\n${msgs.join('\n')}`);
});

test('the same name twice on one device, and equal aliases in different applications, are fine', () => {
  validateDocuments([
    app('a'), app('b'),
    dev('d1', { alias: ['d1', 'x'], authentication: { credentials: [{ user: { username: 'd1', password: 'p', unique: true } }] } }, 'a'),
    dev('d1', { alias: ['x'] }, 'b'),
  ]);
});

test.run();
