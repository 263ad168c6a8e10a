// Who is publishing: Drogue's HTTP authentication forms (reference apps §1.3) mapped onto the authz
// function's AuthenticateRequest, and the gateway decision for `as`, cached endpoint-wide the way
// the MQTT gateway caches it per session (AuthzCache: LRU, 30 s, negative results too, dropped on
// a registry change). Exactly one form is accepted; any other combination is 403.
//
//   Basic `dev@app:pw`                       → device dev of app, password
//   Basic `dev:pw` + ?application=app        → device dev of app, password
//   Basic `user:pw` + ?application=&device=  → device of app, username + password
//   Basic `user@app:pw` + ?device=dev        → device dev of app, username + password
//   client certificate (no header, no hints) → trust anchor and subject
//   TLS-PSK identity (no header, no hints)   → proven in the handshake

import type { Application, Device } from '../../functions/ports/registry.ts';
import type { AuthenticateRequest } from '../../functions/authz/types.ts';
import { MooringError } from '../../events/errors.ts';
import { AuthzCache, type Decision } from '../mqtt/authz-cache.ts';
import type { TlsInfo } from '../mqtt/core.ts';
import type { ResolvedHttpOptions } from './options.ts';

export interface Credentials {
  /** The raw `Authorization` header. */
  authorization: string | undefined;
  application: string | undefined;
  device: string | undefined;
  tls: TlsInfo | undefined;
}

export interface Authenticated {
  application: Application;
  /** The authenticated device (the sender). */
  device: Device;
  /** Whether `as` may be honoured (Drogue ignores it for certificate and PSK authentication). */
  mayActAs: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function failed(message: string): MooringError {
  return new MooringError('MOORING_FORBIDDEN', `Authentication failed: ${message}`);
}

/** `Basic <base64>` (case-sensitive, one space) → user and password, split at the first `:`. */
export function parseBasic(header: string): { user: string; password: string } | undefined {
  if (!header.startsWith('Basic ')) return undefined;
  const b64 = header.slice(6);
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) return undefined;
  let text: string;
  try {
    text = utf8.decode(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The one AuthenticateRequest the combination stands for; throws 403 for any other combination. */
export function authenticateRequest(c: Credentials, allowPsk: boolean): AuthenticateRequest {
  const chain = c.tls?.certificateChain;
  const psk = c.tls?.pskIdentity;
  if (c.authorization === undefined) {
    if (c.application !== undefined || c.device !== undefined) throw failed('no credentials presented');
    if (psk !== undefined) {
      if (!allowPsk) throw failed('TLS-PSK is not accepted here');
      return { pskIdentity: psk };
    }
    if (chain !== undefined && chain.length > 0) return { certificateChain: chain };
    throw failed('no credentials presented');
  }
  if (psk !== undefined || (chain !== undefined && chain.length > 0)) throw failed('a TLS identity and an Authorization header together');
  const basic = parseBasic(c.authorization);
  if (basic === undefined) throw failed('the Authorization header is not Basic <base64 of user:password>');
  const { user, password } = basic;
  const scoped = user.includes('@');
  if (c.application === undefined) {
    // Forms 1 (`dev@app`) and 4 (`user@app` + ?device=): authz splits at the first `@`.
    if (!scoped) throw failed('the username names no application: use <device>@<application> or ?application=');
    return c.device === undefined ? { username: user, password } : { username: user, password, device: c.device };
  }
  // Forms 2 and 3: the application comes from the query. A scoped user here is Drogue's reversed
  // quirk (`x@y` → `y@x`), which authz does not reproduce: refused.
  if (scoped) throw failed('a username with @ together with ?application=');
  return c.device === undefined
    ? { username: user, password, application: c.application }
    : { username: user, password, application: c.application, device: c.device };
}

interface AsDecision extends Decision {
  /** The real name of the device acted for (the `as` value may be an alias). */
  readonly device: string;
  readonly uid: string | undefined;
}

/** A connection's last successful authentication: a keep-alive client is not checked again per request. */
interface Remembered {
  readonly key: string;
  readonly who: Authenticated;
  readonly expires: number;
  readonly epoch: number;
}

const kRemembered = Symbol('mooring.http.authenticated');
type RememberingSocket = object & { [kRemembered]?: Remembered };

export class HttpAuth {
  private readonly cache: AuthzCache<AsDecision>;
  private epoch = 0;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: ResolvedHttpOptions) {
    this.cache = new AuthzCache<AsDecision>(opts.authzCacheSize);
    this.unsubscribe = opts.registry.onChange(() => { this.epoch++; });
  }

  /**
   * Authenticates; 403 MOORING_FORBIDDEN / MOORING_NOT_AUTHORIZED, 503 when authz is unavailable.
   * The outcome is remembered on the connection (as the MQTT gateway authenticates once per
   * connection): the same credentials on it are not checked again until the registry changes or
   * the authz cache lifetime passes.
   */
  async authenticate(c: Credentials, allowPsk: boolean, connection?: RememberingSocket): Promise<Authenticated> {
    const { opts } = this;
    const key = `${allowPsk ? 1 : 0}\u0000${c.authorization ?? ''}\u0000${c.application ?? ''}\u0000${c.device ?? ''}`;
    const now = opts.clock.now();
    const known = connection?.[kRemembered];
    if (known !== undefined && known.key === key && known.epoch === this.epoch && known.expires > now) return known.who;
    const epoch = this.epoch;
    const who = await this.check(c, allowPsk);
    if (connection !== undefined) connection[kRemembered] = { key, who, epoch, expires: now + opts.authzCacheTtlMs };
    return who;
  }

  private async check(c: Credentials, allowPsk: boolean): Promise<Authenticated> {
    const req = authenticateRequest(c, allowPsk);
    const { opts } = this;
    let out;
    try {
      out = await opts.authenticate(req, opts.registry, opts.clock);
    } catch (err) {
      throw new MooringError('MOORING_UNAVAILABLE', `Failed to authenticate: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (!out.ok) {
      throw out.reason === 'bad-credentials' ? failed(out.message) : new MooringError('MOORING_NOT_AUTHORIZED', out.message);
    }
    return { application: out.application, device: out.device, mayActAs: req.username !== undefined };
  }

  /**
   * The device `sender` publishes for: `as` when given and different from the device string
   * the client sent, if the sender is one of its gateways (403 otherwise); else the sender.
   */
  async actingFor(who: Authenticated, as: string | undefined, sent: string | undefined): Promise<{ name: string; uid: string | undefined }> {
    const sender = who.device.metadata.name;
    if (as === undefined || !who.mayActAs || as === sent || as === sender) return { name: sender, uid: who.device.metadata.uid };
    const { opts } = this;
    const application = who.application.metadata.name;
    const key = `${application}\u0000${sender}\u0000${as}`;
    const now = opts.clock.now();
    let d = this.cache.get(key, now, this.epoch);
    if (d === undefined) {
      const epoch = this.epoch;
      let out;
      try {
        out = await opts.authorizeAs({ application, sender, device: as }, opts.registry);
      } catch (err) {
        throw new MooringError('MOORING_UNAVAILABLE', `Failed to authorize: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      d = out.ok
        ? { ok: true, message: '', device: out.device.metadata.name, uid: out.device.metadata.uid, expires: now + opts.authzCacheTtlMs, epoch }
        : { ok: false, message: out.message, device: as, uid: undefined, expires: now + opts.authzCacheTtlMs, epoch };
      this.cache.set(key, d);
    }
    if (!d.ok) throw new MooringError('MOORING_NOT_AUTHORIZED', `Authentication failed: ${d.message}`);
    return { name: d.device, uid: d.uid };
  }

  close(): void { this.unsubscribe(); }
}
