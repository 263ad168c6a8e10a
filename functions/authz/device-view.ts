// Small readers over registry documents shared by the authz steps. They accept Drogue's full
// form (`spec.authentication.credentials`) and the short seed form (`spec.credentials`,
// `spec.gatewaySelector` directly under the device), whichever the store handed over.

import type { Application, Credential, Device } from '../ports/registry.ts';

export function credentialsOf(device: Device): readonly Credential[] {
  const spec = device.spec as Device['spec'] & { credentials?: Credential[] };
  return spec.authentication?.credentials ?? spec.credentials ?? [];
}

export function isDisabled(doc: Application | Device): boolean {
  return doc.spec.core?.disabled === true;
}

export function gatewaysOf(device: Device): readonly string[] {
  return device.spec.gatewaySelector?.matchNames ?? [];
}

/** Splits `device@app` at the first `@`; the device part is percent-decoded (Drogue). */
export function splitIdentity(identity: string): { device: string; application: string } | undefined {
  const at = identity.indexOf('@');
  if (at < 0) return undefined;
  return { device: percentDecode(identity.slice(0, at)), application: identity.slice(at + 1) };
}

/** Percent-decodes like Rust's `percent_decode_str`: a malformed sequence stays as it is. */
export function percentDecode(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Whether `now` lies in the optional `{notBefore, notAfter}` window (RFC 3339 timestamps). */
export function withinValidity(validity: { notBefore?: string; notAfter?: string } | undefined, now: number): boolean {
  if (!validity) return true;
  if (validity.notBefore !== undefined) {
    const t = Date.parse(validity.notBefore);
    if (Number.isNaN(t) || now < t) return false;
  }
  if (validity.notAfter !== undefined) {
    const t = Date.parse(validity.notAfter);
    if (Number.isNaN(t) || now > t) return false;
  }
  return true;
}
