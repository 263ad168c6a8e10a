// The ExternalEndpoint port over HTTP (fetch): command-dispatch's requests to a gateway's external
// command endpoint (Drogue Cloud §3.5: TTN and the default JSON form). Bounded by a timeout; the
// body of the answer is read and dropped (only the status counts).

import type { ExternalEndpoint } from '../../functions/command-dispatch/index.ts';

export function httpExternalEndpoint(options: { timeoutMs?: number } = {}): ExternalEndpoint {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (req) => {
    const res = await fetch(req.url, {
      method: req.method, headers: req.headers, body: new Uint8Array(req.body) as Uint8Array<ArrayBuffer>, signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status };
  };
}
