// `status.trustAnchors` of an application, recomputed on every write from `spec.trustAnchors`
// (Drogue §5.6): each anchor (base64 of PEM; PEM text is taken too) becomes
// `{valid: {subject, certificate, notBefore, notAfter}}` or `{invalid: {error, message}}`.
// Each valid subject becomes an `x509/ca` alias of the application (rules.ts).

import { X509Certificate } from 'node:crypto';
import type { Application, ApplicationSpec } from '../../functions/ports/registry.ts';
import { timestamp } from './rules.ts';

type AnchorStatus =
  | { valid: { subject: string; certificate: string; notBefore: string; notAfter: string } }
  | { invalid: { error: string; message: string } };

function anchorStatus(certificate: unknown): AnchorStatus {
  if (typeof certificate !== 'string' || certificate === '') {
    return { invalid: { error: 'MissingCertificate', message: 'certificate must be a non-empty string' } };
  }
  try {
    const pem = certificate.includes('-----BEGIN') ? certificate : Buffer.from(certificate, 'base64').toString('utf8');
    const cert = new X509Certificate(pem);
    return {
      valid: {
        // Node separates RDNs by newlines, in the certificate's order; Drogue prints them with ", ".
        subject: cert.subject.split('\n').join(', '),
        certificate,
        notBefore: timestamp(Date.parse(cert.validFrom)),
        notAfter: timestamp(Date.parse(cert.validTo)),
      },
    };
  } catch (err) {
    return { invalid: { error: 'InvalidCertificate', message: (err as Error).message } };
  }
}

/**
 * The status to store: `status` as the client sent it, with `trustAnchors` recomputed when the
 * spec has trust anchors (a client-sent `status.trustAnchors` is kept otherwise). Undefined when empty.
 */
export function applicationStatus(spec: ApplicationSpec, status: Record<string, unknown> | undefined): Application['status'] {
  const out: Record<string, unknown> = { ...status };
  const ta = spec.trustAnchors;
  if (ta && typeof ta === 'object') {
    const anchors = Array.isArray(ta.anchors) ? ta.anchors : [];
    out.trustAnchors = { anchors: anchors.map((a) => anchorStatus((a as { certificate?: unknown })?.certificate)) };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
