// Authenticates a connecting device against the registry, trying Drogue Cloud's forms in order:
//   1. username `<device>@<app>` + password (split at the first `@`, device part percent-decoded);
//      with an HTTP `device` hint, `<user>@<app>` + password for that device instead;
//   2. HTTP hints: `<device>` + password + `application`, or `<user>` + password + `application`
//      + `device`;
//   3. username (no `@`) + password + MQTT client id `<device>@<app>`;
//   4. no password + TLS client certificate chain (application by trust anchor, device by subject);
//   5. no password + TLS-PSK identity `<device>@<app>` (the handshake already proved the key).
// The outcome is not cached here (callers do); only a verified hashed password is remembered, as
// a keyed hash, so a reconnect skips sha512-crypt/bcrypt (verified-secrets.ts).

import type { Clock } from '../ports/runtime.ts';
import type { Application, Device, PasswordCredential, RegistryReader } from '../ports/registry.ts';
import type { AuthenticateOutcome, AuthenticateRequest } from './types.ts';
import { credentialsOf, isDisabled, percentDecode, splitIdentity } from './device-view.ts';
import { storedHash, verifyPassword } from './passwords.ts';
import { verifiedSecretsOf, type VerifiedSecrets } from './verified-secrets.ts';
import { chainsTo, parseCertificate, subjectNames, trustAnchorsOf } from './x509.ts';
import { validPskKeys } from './psk.ts';
import type { X509Certificate } from 'node:crypto';

/** What the client proved: a bare password for the device, or a username and password. */
type Secret =
  | { kind: 'password'; password: Uint8Array | string }
  | { kind: 'user'; username: string; password: Uint8Array | string };

function badCredentials(message: string): AuthenticateOutcome {
  return { ok: false, reason: 'bad-credentials', message };
}

function notAuthorized(message: string): AuthenticateOutcome {
  return { ok: false, reason: 'not-authorized', message };
}

export async function authenticate(req: AuthenticateRequest, registry: RegistryReader, clock: Clock): Promise<AuthenticateOutcome> {
  const { username, password } = req;
  if (username !== undefined && password !== undefined) {
    const id = splitIdentity(username);
    if (id) {
      if (req.device !== undefined) {
        // HTTP `<user>@<app>:pw` + `?device=`.
        return withSecret(id.application, req.device, { kind: 'user', username: id.device, password }, registry);
      }
      return withSecret(id.application, id.device, { kind: 'password', password }, registry);
    }
    if (req.application !== undefined) {
      if (req.device !== undefined) {
        return withSecret(req.application, req.device, { kind: 'user', username, password }, registry);
      }
      return withSecret(req.application, username, { kind: 'password', password }, registry);
    }
    const client = req.clientId !== undefined ? splitIdentity(req.clientId) : undefined;
    if (client) return withSecret(client.application, client.device, { kind: 'user', username, password }, registry);
    return badCredentials('username names no application: use <device>@<application>, or a client id <device>@<application>');
  }
  if (password === undefined && req.certificateChain !== undefined && req.certificateChain.length > 0) {
    return withCertificate(req.certificateChain, req.application, registry, clock);
  }
  if (password === undefined && req.pskIdentity !== undefined) {
    return withPsk(req.pskIdentity, registry, clock);
  }
  return badCredentials(username !== undefined ? 'password missing' : 'no credentials presented');
}

async function findApplication(name: string, registry: RegistryReader): Promise<Application | AuthenticateOutcome> {
  const application = await registry.getApplication(name);
  if (!application) return notAuthorized(`unknown application ${name}`);
  if (isDisabled(application)) return notAuthorized(`application ${name} is disabled`);
  return application;
}

function isOutcome(v: Application | Device | AuthenticateOutcome): v is AuthenticateOutcome {
  return 'ok' in v;
}

async function withSecret(appName: string, deviceRef: string, secret: Secret, registry: RegistryReader): Promise<AuthenticateOutcome> {
  const application = await findApplication(appName, registry);
  if (isOutcome(application)) return application;
  const device = await registry.findDevice(appName, deviceRef);
  if (!device) return badCredentials(`unknown device ${deviceRef} in application ${appName}`);
  if (!(await secretMatches(appName, device, deviceRef, secret, verifiedSecretsOf(registry)))) return badCredentials(`bad credentials for device ${deviceRef}`);
  // Checked after the credentials, so a wrong password does not tell whether a device is disabled.
  if (isDisabled(device)) return notAuthorized(`device ${device.metadata.name} is disabled`);
  return { ok: true, application, device };
}

/**
 * Drogue's matching: a bare password matches any `pass` credential, or a `user` credential whose
 * username is the device's name; a username+password matches a `user` credential with that
 * username, or a `pass` credential when the username is the device's name. A device found by the
 * username of its unique `user` credential is checked as that username + password.
 */
async function secretMatches(
  appName: string, device: Device, deviceRef: string, secret: Secret, verified: VerifiedSecrets,
): Promise<boolean> {
  const name = device.metadata.name;
  if (secret.kind === 'password' && deviceRef !== name && !(device.spec.alias ?? []).includes(deviceRef)) {
    secret = { kind: 'user', username: deviceRef, password: secret.password };
  }
  for (const c of credentialsOf(device)) {
    if ('pass' in c) {
      if (secret.kind === 'password' || secret.username === name) {
        if (await credentialMatches(verified, appName, name, secret.password, c.pass, 'pass')) return true;
      }
    } else if ('user' in c) {
      const wanted = c.user.username === (secret.kind === 'user' ? secret.username : name);
      if (wanted && (await credentialMatches(verified, appName, name, secret.password, c.user.password, `user:${c.user.username}`))) return true;
    }
  }
  return false;
}

/** One stored credential against the presented password; a verified hash is remembered (verified-secrets.ts). */
async function credentialMatches(
  verified: VerifiedSecrets, application: string, device: string, presented: Uint8Array | string, stored: PasswordCredential, credential: string,
): Promise<boolean> {
  const hash = storedHash(stored);
  if (hash === undefined) return verifyPassword(stored, presented);
  const id = verified.idOf({ application, device, credential, presented, stored: hash });
  if (verified.has(id)) return true;
  const ok = await verifyPassword(stored, presented);
  if (ok) verified.add(id);
  return ok;
}

async function withCertificate(
  chainEntries: ReadonlyArray<string | Uint8Array>, appHint: string | undefined, registry: RegistryReader, clock: Clock,
): Promise<AuthenticateOutcome> {
  const chain: X509Certificate[] = [];
  for (const entry of chainEntries) {
    const cert = parseCertificate(entry);
    if (!cert) return badCredentials('client certificate does not parse');
    chain.push(cert);
  }
  const now = clock.now();
  const candidates = appHint !== undefined
    ? [await registry.getApplication(appHint)].filter((a): a is Application => a !== undefined)
    : await registry.listApplications();
  const application = candidates.find((a) => chainsTo(chain, trustAnchorsOf(a), now));
  if (!application) return badCredentials('client certificate is not issued by any application trust anchor, or not valid now');
  if (isDisabled(application)) return notAuthorized(`application ${application.metadata.name} is disabled`);
  let device: Device | undefined;
  for (const name of subjectNames(chain[0]!)) {
    device = await registry.findDevice(application.metadata.name, name);
    if (device) break;
  }
  if (!device) return badCredentials(`no device in application ${application.metadata.name} for certificate subject`);
  if (isDisabled(device)) return notAuthorized(`device ${device.metadata.name} is disabled`);
  return { ok: true, application, device };
}

async function withPsk(identity: string, registry: RegistryReader, clock: Clock): Promise<AuthenticateOutcome> {
  const id = splitIdentity(identity);
  if (!id) return badCredentials('PSK identity is not <device>@<application>');
  const application = await findApplication(id.application, registry);
  if (isOutcome(application)) return application;
  const device = await registry.findDevice(id.application, id.device);
  if (!device) return badCredentials(`unknown device ${percentDecode(id.device)} in application ${id.application}`);
  if (validPskKeys(device, clock.now()).length === 0) return badCredentials(`device ${device.metadata.name} has no valid pre-shared key`);
  if (isDisabled(device)) return notAuthorized(`device ${device.metadata.name} is disabled`);
  return { ok: true, application, device };
}
