// The authz function as a CloudEvents service, so the cluster can run it as a Knative Service:
// `io.mooring.authn.request.v1` (data: an AuthenticateRequest as JSON) and
// `io.mooring.authz.request.v1` (data: an AuthorizeAsRequest) are answered with
// `io.mooring.authn.response.v1` / `io.mooring.authz.response.v1` carrying the outcome as JSON,
// device credentials removed. In-process callers use authenticate/authorizeAs/pskKeyFor directly.

import type { CloudEvent } from '../../events/cloudevent.ts';
import { AuthzEventTypes } from '../../events/types.ts';
import { MooringError } from '../../events/errors.ts';
import type { Device } from '../ports/registry.ts';
import type { FunctionContext, MooringFunction } from '../ports/runtime.ts';
import { authenticate } from './authenticate.ts';
import { authorizeAs } from './authorize-as.ts';
import type { AuthenticateRequest, AuthorizeAsRequest } from './types.ts';
import { rfc3339 } from '../../events/time.ts';

export { authenticate } from './authenticate.ts';
export { authorizeAs } from './authorize-as.ts';
export { pskKeyFor } from './psk.ts';
export type * from './types.ts';

const SOURCE = 'mooring:authz';
const utf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(event: CloudEvent, message: string): MooringError {
  return new MooringError('MOORING_INVALID_EVENT', `${event.type} event ${event.id}: ${message}`);
}

function jsonData(event: CloudEvent): Record<string, unknown> {
  if (!event.data) throw invalid(event, 'no data');
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(event.data));
  } catch {
    throw invalid(event, 'data is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(event, 'data must be a JSON object');
  return value as Record<string, unknown>;
}

function optionalString(event: CloudEvent, data: Record<string, unknown>, key: string): string | undefined {
  const v = data[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(event, `${key} must be a string`);
  return v;
}

/** Reads an authn request: `password` as text, or `passwordBase64` for a binary MQTT password. */
export function authenticateRequestFrom(event: CloudEvent): AuthenticateRequest {
  const data = jsonData(event);
  const req: AuthenticateRequest = {};
  for (const key of ['username', 'clientId', 'application', 'device', 'pskIdentity'] as const) {
    const v = optionalString(event, data, key);
    if (v !== undefined) req[key] = v;
  }
  const password = optionalString(event, data, 'password');
  const password64 = optionalString(event, data, 'passwordBase64');
  if (password !== undefined) req.password = password;
  else if (password64 !== undefined) req.password = new Uint8Array(Buffer.from(password64, 'base64'));
  const chain = data.certificateChain;
  if (chain !== undefined && chain !== null) {
    if (!Array.isArray(chain) || !chain.every((c) => typeof c === 'string')) throw invalid(event, 'certificateChain must be an array of PEM strings');
    req.certificateChain = chain as string[];
  }
  return req;
}

export function authorizeAsRequestFrom(event: CloudEvent): AuthorizeAsRequest {
  const data = jsonData(event);
  const application = optionalString(event, data, 'application');
  const sender = optionalString(event, data, 'sender');
  const device = optionalString(event, data, 'device');
  if (!application || !sender || !device) throw invalid(event, 'application, sender and device are required');
  return { application, sender, device };
}

/** A device document without its credentials, for replies that leave the process. */
export function withoutCredentials(device: Device): Device {
  const { authentication, ...spec } = device.spec;
  const rest: Record<string, unknown> = { ...spec };
  delete rest.credentials;
  if (authentication) {
    const { credentials: _credentials, ...auth } = authentication;
    if (Object.keys(auth).length > 0) rest.authentication = auth;
  }
  return { ...device, spec: rest as Device['spec'] };
}

function reply(request: CloudEvent, type: string, body: unknown, ctx: FunctionContext): CloudEvent {
  return {
    specversion: '1.0',
    id: ctx.newId(),
    source: SOURCE,
    type,
    time: rfc3339(ctx.clock.now()),
    datacontenttype: 'application/json',
    data: new TextEncoder().encode(JSON.stringify(body)),
    extensions: { inreplyto: request.id },
  };
}

async function handle(event: CloudEvent, ctx: FunctionContext): Promise<CloudEvent> {
  switch (event.type) {
    case AuthzEventTypes.authnRequest: {
      const outcome = await authenticate(authenticateRequestFrom(event), ctx.registry, ctx.clock);
      const body = outcome.ok ? { ok: true, application: outcome.application, device: withoutCredentials(outcome.device) } : outcome;
      if (!outcome.ok) ctx.logger.debug({ reason: outcome.reason, message: outcome.message }, 'authentication refused');
      return reply(event, AuthzEventTypes.authnResponse, body, ctx);
    }
    case AuthzEventTypes.authzRequest: {
      const outcome = await authorizeAs(authorizeAsRequestFrom(event), ctx.registry);
      const body = outcome.ok ? { ok: true, device: withoutCredentials(outcome.device) } : outcome;
      return reply(event, AuthzEventTypes.authzResponse, body, ctx);
    }
    default:
      throw invalid(event, `authz takes ${AuthzEventTypes.authnRequest} or ${AuthzEventTypes.authzRequest}`);
  }
}

export const authz: MooringFunction = { name: 'authz', handle };

export default authz;
