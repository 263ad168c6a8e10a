import { test } from 'uvu';
import * as assert from 'uvu/assert';
import bcrypt from 'bcryptjs';
import { X509Certificate } from 'node:crypto';
import { authenticate } from '../../../functions/authz/authenticate.ts';
import type { AuthenticateOutcome, AuthenticateRequest } from '../../../functions/authz/types.ts';
import type { Clock } from '../../../functions/ports/runtime.ts';
import { app, device, memoryRegistry } from '../../helpers/memory-registry.ts';
import { makePki } from './pki.ts';

const pki = makePki();
const DAY = 86_400_000;
const clock: Clock = { now: () => Date.now() };
const SHA512 = '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1';
const bcryptHash = bcrypt.hashSync('bcrypt-pw', 4);

const registry = memoryRegistry([
  app('app1', { trustAnchors: { anchors: [{ certificate: pki.anchor('ca1') }] } }),
  app('app2', { trustAnchors: { anchors: [{ certificate: pki.anchor('ca2') }] } }),
  app('off', { core: { disabled: true } }),
  device('off', 'd', { authentication: { credentials: [{ pass: 'pw' }] } }),
  device('app1', 'device1', { authentication: { credentials: [{ pass: 'pw1' }] }, alias: ['serial-0001'] }),
  device('app1', 'dev@home', { authentication: { credentials: [{ pass: 'at' }, { user: { username: 'homeuser', password: 'hu' } }] } }),
  device('app1', 'hashed', { authentication: { credentials: [{ pass: { bcrypt: bcryptHash } }, { pass: { sha512: SHA512 } }] } }),
  device('app1', 'plainobj', { authentication: { credentials: [{ pass: { plain: 'p' } }] } }),
  device('app1', 'withuser', { authentication: { credentials: [
    { user: { username: 'alice', password: 'alice-pw', unique: true } },
    { user: { username: 'bob', password: { sha512: SHA512 } } },
    { user: { username: 'withuser', password: 'self-pw' } },
  ] } }),
  device('app1', 'disabled', { core: { disabled: true }, authentication: { credentials: [{ pass: 'pw' }] } }),
  device('app1', 'nocreds'),
  device('app1', 'short', { credentials: [{ pass: 'short-pw' }] } as never),
  device('app1', 'device2'),
  device('app1', 'certdev', { alias: ['CN=aliased,OU=app1,O=Drogue IoT'] }),
  device('app2', 'device3'),
]);

const auth = (req: AuthenticateRequest, c: Clock = clock) => authenticate(req, registry, c);

function assertOk(r: AuthenticateOutcome, app: string, dev: string): void {
  assert.ok(r.ok, JSON.stringify(r));
  if (r.ok) {
    assert.is(r.application.metadata.name, app);
    assert.is(r.device.metadata.name, dev);
  }
}

function assertFail(r: AuthenticateOutcome, reason: 'bad-credentials' | 'not-authorized'): void {
  assert.not.ok(r.ok, 'expected a refusal');
  if (!r.ok) {
    assert.is(r.reason, reason, r.message);
    assert.type(r.message, 'string');
  }
}

test.after(() => pki.cleanup());

// Form 1: username <device>@<app> + password.
test('device@app + password authenticates', async () => {
  assertOk(await auth({ username: 'device1@app1', password: 'pw1' }), 'app1', 'device1');
});

test('device@app + password given as bytes', async () => {
  assertOk(await auth({ username: 'device1@app1', password: new TextEncoder().encode('pw1') }), 'app1', 'device1');
});

test('device@app: a wrong password is bad-credentials', async () => {
  assertFail(await auth({ username: 'device1@app1', password: 'pw2' }), 'bad-credentials');
  assertFail(await auth({ username: 'device1@app1', password: '' }), 'bad-credentials');
});

test('device@app: an unknown device is bad-credentials', async () => {
  assertFail(await auth({ username: 'ghost@app1', password: 'pw1' }), 'bad-credentials');
});

test('device@app: an unknown application is not-authorized', async () => {
  assertFail(await auth({ username: 'device1@nope', password: 'pw1' }), 'not-authorized');
});

test('device@app: split at the first @, the device part percent-decoded', async () => {
  assertOk(await auth({ username: 'dev%40home@app1', password: 'at' }), 'app1', 'dev@home');
  assertFail(await auth({ username: 'dev@home@app1', password: 'at' }), 'not-authorized'); // application "home@app1"
});

test('device@app: the device may be named by an alias', async () => {
  assertOk(await auth({ username: 'serial-0001@app1', password: 'pw1' }), 'app1', 'device1');
});

test('device@app: the device may be named by a unique user credential username', async () => {
  assertOk(await auth({ username: 'alice@app1', password: 'alice-pw' }), 'app1', 'withuser');
  assertFail(await auth({ username: 'alice@app1', password: 'self-pw' }), 'bad-credentials');
});

test('device@app: a non-unique user credential username does not name the device', async () => {
  assertFail(await auth({ username: 'bob@app1', password: 'Hello world!' }), 'bad-credentials');
});

test('device@app: a user credential whose username is the device name takes the bare password', async () => {
  assertOk(await auth({ username: 'withuser@app1', password: 'self-pw' }), 'app1', 'withuser');
});

test('device@app: bcrypt, sha512-crypt and {plain} stored passwords', async () => {
  assertOk(await auth({ username: 'hashed@app1', password: 'bcrypt-pw' }), 'app1', 'hashed');
  assertOk(await auth({ username: 'hashed@app1', password: 'Hello world!' }), 'app1', 'hashed');
  assertFail(await auth({ username: 'hashed@app1', password: 'Hello world' }), 'bad-credentials');
  assertOk(await auth({ username: 'plainobj@app1', password: 'p' }), 'app1', 'plainobj');
});

test('device@app: the short seed form (spec.credentials) is read too', async () => {
  assertOk(await auth({ username: 'short@app1', password: 'short-pw' }), 'app1', 'short');
});

test('a device without credentials cannot log in with a password', async () => {
  assertFail(await auth({ username: 'nocreds@app1', password: '' }), 'bad-credentials');
});

test('a disabled device is not-authorized (with the right password only)', async () => {
  assertFail(await auth({ username: 'disabled@app1', password: 'pw' }), 'not-authorized');
  assertFail(await auth({ username: 'disabled@app1', password: 'wrong' }), 'bad-credentials');
});

test('a disabled application is not-authorized', async () => {
  assertFail(await auth({ username: 'd@off', password: 'pw' }), 'not-authorized');
});

// Form 2: username (no @) + password + client id <device>@<app>.
test('username + password + client id device@app: a user credential', async () => {
  assertOk(await auth({ username: 'alice', password: 'alice-pw', clientId: 'withuser@app1' }), 'app1', 'withuser');
  assertOk(await auth({ username: 'bob', password: 'Hello world!', clientId: 'withuser@app1' }), 'app1', 'withuser');
});

test('username + password + client id: wrong password, or a user of another device', async () => {
  assertFail(await auth({ username: 'alice', password: 'nope', clientId: 'withuser@app1' }), 'bad-credentials');
  assertFail(await auth({ username: 'alice', password: 'alice-pw', clientId: 'device1@app1' }), 'bad-credentials');
});

test('username + password + client id: the device name as username matches a pass credential', async () => {
  assertOk(await auth({ username: 'device1', password: 'pw1', clientId: 'device1@app1' }), 'app1', 'device1');
  assertFail(await auth({ username: 'someone', password: 'pw1', clientId: 'device1@app1' }), 'bad-credentials');
});

test('username + password + client id: the client id device part is percent-decoded', async () => {
  assertOk(await auth({ username: 'homeuser', password: 'hu', clientId: 'dev%40home@app1' }), 'app1', 'dev@home');
});

test('username + password + client id: the client id may name the device by alias', async () => {
  assertOk(await auth({ username: 'device1', password: 'pw1', clientId: 'serial-0001@app1' }), 'app1', 'device1');
});

test('username without @ and no client id device@app is bad-credentials', async () => {
  assertFail(await auth({ username: 'device1', password: 'pw1' }), 'bad-credentials');
  assertFail(await auth({ username: 'device1', password: 'pw1', clientId: 'device1' }), 'bad-credentials');
});

test('no credentials at all is bad-credentials', async () => {
  assertFail(await auth({}), 'bad-credentials');
  assertFail(await auth({ username: 'device1@app1' }), 'bad-credentials');
});

// HTTP forms.
test('HTTP <device>:pw + ?application=', async () => {
  assertOk(await auth({ username: 'device1', password: 'pw1', application: 'app1' }), 'app1', 'device1');
  assertFail(await auth({ username: 'device1', password: 'bad', application: 'app1' }), 'bad-credentials');
  assertFail(await auth({ username: 'device1', password: 'pw1', application: 'nope' }), 'not-authorized');
});

test('HTTP <user>:pw + ?application=&device=', async () => {
  assertOk(await auth({ username: 'alice', password: 'alice-pw', application: 'app1', device: 'withuser' }), 'app1', 'withuser');
  assertFail(await auth({ username: 'alice', password: 'alice-pw', application: 'app1', device: 'device1' }), 'bad-credentials');
});

test('HTTP <user>@<app>:pw + ?device=', async () => {
  assertOk(await auth({ username: 'bob@app1', password: 'Hello world!', device: 'withuser' }), 'app1', 'withuser');
  assertFail(await auth({ username: 'bob@app1', password: 'wrong', device: 'withuser' }), 'bad-credentials');
});

// X.509 client certificates.
test('X.509: a leaf issued by the application trust anchor, device by CN', async () => {
  assertOk(await auth({ certificateChain: [pki.pem('device1')] }), 'app1', 'device1');
});

test('X.509: DER chain entries are accepted', async () => {
  const der = new X509Certificate(pki.pem('device1')).raw;
  assertOk(await auth({ certificateChain: [new Uint8Array(der)] }), 'app1', 'device1');
});

test('X.509: the application is found among several by its anchor', async () => {
  assertOk(await auth({ certificateChain: [pki.pem('device3')] }), 'app2', 'device3');
});

test('X.509: the full subject DN may be the device alias', async () => {
  assertOk(await auth({ certificateChain: [pki.pem('aliased')] }), 'app1', 'certdev');
});

test('X.509: a chain through an intermediate presented by the client', async () => {
  assertOk(await auth({ certificateChain: [pki.pem('device2'), pki.pem('inter')] }), 'app1', 'device2');
  assertFail(await auth({ certificateChain: [pki.pem('device2')] }), 'bad-credentials');
});

test('X.509: a certificate from an untrusted CA is refused, even with a known subject', async () => {
  assertFail(await auth({ certificateChain: [pki.pem('forged')] }), 'bad-credentials');
});

test('X.509: a trust anchor of another application does not count (application hint)', async () => {
  assertFail(await auth({ certificateChain: [pki.pem('device1')], application: 'app2' }), 'bad-credentials');
  assertOk(await auth({ certificateChain: [pki.pem('device1')], application: 'app1' }), 'app1', 'device1');
});

test('X.509: outside the validity window (clock) is refused', async () => {
  assertFail(await auth({ certificateChain: [pki.pem('device1')] }, { now: () => Date.now() + 15 * DAY }), 'bad-credentials');
  assertFail(await auth({ certificateChain: [pki.pem('device1')] }, { now: () => Date.now() - 2 * DAY }), 'bad-credentials');
});

test('X.509: a subject with no device is bad-credentials', async () => {
  assertFail(await auth({ certificateChain: [pki.pem('nobody')] }), 'bad-credentials');
});

test('X.509: garbage is bad-credentials', async () => {
  assertFail(await auth({ certificateChain: ['not a certificate'] }), 'bad-credentials');
});

test('X.509: a disabled application is not-authorized', async () => {
  const r = memoryRegistry([
    app('a', { core: { disabled: true }, trustAnchors: { anchors: [{ certificate: pki.anchor('ca1') }] } }),
    device('a', 'device1'),
  ]);
  assertFail(await authenticate({ certificateChain: [pki.pem('device1')] }, r, clock), 'not-authorized');
});

test('X.509: a disabled device is not-authorized', async () => {
  const r = memoryRegistry([
    app('a', { trustAnchors: { anchors: [{ certificate: pki.anchor('ca1') }] } }),
    device('a', 'device1', { core: { disabled: true } }),
  ]);
  assertFail(await authenticate({ certificateChain: [pki.pem('device1')] }, r, clock), 'not-authorized');
});

test('X.509: an anchor bundle (several PEMs in one entry) and a PEM given as text', async () => {
  const bundle = Buffer.from(pki.pem('rogue') + pki.pem('ca1')).toString('base64');
  const r = memoryRegistry([app('a', { trustAnchors: { anchors: [{ certificate: bundle }] } }), device('a', 'device1')]);
  assertOk(await authenticate({ certificateChain: [pki.pem('device1')] }, r, clock), 'a', 'device1');
  const r2 = memoryRegistry([app('a', { trustAnchors: { anchors: [{ certificate: pki.pem('ca1') }] } }), device('a', 'device1')]);
  assertOk(await authenticate({ certificateChain: [pki.pem('device1')] }, r2, clock), 'a', 'device1');
});

test('a password takes precedence: certificate ignored when username+password are given', async () => {
  assertFail(await auth({ username: 'device1@app1', password: 'bad', certificateChain: [pki.pem('device1')] }), 'bad-credentials');
});

test.run();
