// X.509 client certificate authentication: the TLS handshake presented a chain (leaf first); the
// application is the one whose `spec.trustAnchors.anchors[].certificate` (base64 of PEM, as in
// Drogue) issued and signed the chain, every certificate valid at the clock's time; the device
// is named by the leaf's subject (the full DN as name or alias, else its CN).

import { X509Certificate } from 'node:crypto';
import type { Application } from '../ports/registry.ts';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Parses one chain entry (PEM text or DER bytes); undefined when it is not a certificate. */
export function parseCertificate(value: string | Uint8Array): X509Certificate | undefined {
  try {
    return new X509Certificate(typeof value === 'string' ? value : Buffer.from(value));
  } catch {
    return undefined;
  }
}

/**
 * The certificates of an application's trust anchors. Each entry is base64 of PEM (possibly
 * several certificates), base64 of DER, or PEM text; entries that do not parse are skipped.
 */
export function trustAnchorsOf(application: Application): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const anchor of application.spec.trustAnchors?.anchors ?? []) {
    if (typeof anchor?.certificate !== 'string') continue;
    const raw = anchor.certificate.includes('-----BEGIN') ? Buffer.from(anchor.certificate, 'utf8') : Buffer.from(anchor.certificate, 'base64');
    const text = raw.toString('latin1');
    const blocks = text.includes('-----BEGIN CERTIFICATE-----') ? text.match(PEM_BLOCK) ?? [] : [raw];
    for (const block of blocks) {
      const cert = parseCertificate(block);
      if (cert) out.push(cert);
    }
  }
  return out;
}

export function isValidAt(cert: X509Certificate, now: number): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return !Number.isNaN(from) && !Number.isNaN(to) && now >= from && now <= to;
}

function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Whether `chain` (leaf first, then optional intermediates) leads to one of `anchors`: each
 * certificate is issued and signed by the next one or by an anchor, and all the certificates on
 * the path, the anchor included, are valid at `now`.
 */
export function chainsTo(chain: readonly X509Certificate[], anchors: readonly X509Certificate[], now: number): boolean {
  if (chain.length === 0 || anchors.length === 0) return false;
  for (let i = 0; i < chain.length; i++) {
    const current = chain[i]!;
    if (!isValidAt(current, now)) return false;
    for (const anchor of anchors) {
      if (isValidAt(anchor, now) && signedBy(current, anchor)) return true;
    }
    const next = chain[i + 1];
    if (!next || !signedBy(current, next)) return false;
  }
  return false;
}

/**
 * The names a leaf certificate's subject may be registered under, best first: the subject DN in
 * RFC 4514 order (`CN=dev,O=org`), in certificate order as OpenSSL prints it (`O=org, CN=dev`),
 * and the common name alone.
 */
export function subjectNames(leaf: X509Certificate): string[] {
  const rdns = leaf.subject.split('\n').filter((s) => s.length > 0);
  const names = [
    [...rdns].reverse().join(','),
    [...rdns].reverse().join(', '),
    rdns.join(', '),
    rdns.join(','),
  ];
  const cn = rdns.filter((r) => r.startsWith('CN=')).pop();
  if (cn) names.push(cn.slice(3));
  return [...new Set(names)];
}
