// The management API on a free port, over the real registry store (BackendRegistryStore on the
// memory backend) and a memory token store, with users alice, bob and carol holding access tokens;
// `call` sends a request and reads the status, headers and body (JSON when it parses, '' when empty).

import { BackendRegistryStore } from '../../connectors/registry/store.ts';
import { MemoryBackend } from '../../connectors/registry/memory-backend.ts';
import { startApi, type ApiServer } from '../../api/server.ts';
import type { CommandSender } from '../../api/commands.ts';
import { issueAccessToken } from '../../api/tokens/routes.ts';
import { MemoryTokenStore } from '../../api/tokens/memory.ts';
import { silentLogger } from '../../functions/ports/runtime.ts';

export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON, the text when it is not JSON, '' when empty (loosely typed: tests read into it). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface Harness {
  api: ApiServer;
  url: string;
  registry: BackendRegistryStore;
  tokens: MemoryTokenStore;
  /** Authorization header values: Basic username:token. */
  as: Record<'alice' | 'bob' | 'carol', string>;
  call(method: string, path: string, opts?: { auth?: string; body?: unknown; raw?: string; type?: string; headers?: Record<string, string> }): Promise<Answer>;
  close(): Promise<void>;
  count(): number;
}

export async function startHarness(opts: { oidcIssuer?: string; endpoints?: Record<string, unknown>; apiUrl?: string; commands?: CommandSender } = {}): Promise<Harness> {
  const registry = new BackendRegistryStore(new MemoryBackend());
  const tokens = new MemoryTokenStore();
  const as = {} as Harness['as'];
  for (const name of ['alice', 'bob', 'carol'] as const) {
    const t = await issueAccessToken(tokens, { id: `id-${name}`, username: name }, 'test');
    as[name] = `Basic ${Buffer.from(`${name}:${t.token}`).toString('base64')}`;
  }
  const api = await startApi({
    registry, tokens, logger: silentLogger,
    config: { apiPort: 0, host: '127.0.0.1', apiUrl: opts.apiUrl, oidcIssuer: opts.oidcIssuer, oidcClientId: 'drogue' },
    endpoints: opts.endpoints ?? { mqtt: { host: 'localhost', port: 1883 } },
    ...(opts.commands ? { commands: opts.commands } : {}),
  });
  let requests = 0;
  return {
    api, url: api.url, registry, tokens, as,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.auth) headers.authorization = o.auth;
      let body: string | undefined;
      if (o.raw !== undefined) body = o.raw;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined) headers['content-type'] = o.type ?? 'application/json';
      const res = await fetch(`${api.url}${path}`, { method, headers, body });
      requests++;
      const text = await res.text();
      let parsed: unknown = text;
      if (text !== '') try { parsed = JSON.parse(text); } catch { /* keep text */ }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    close: async () => { await api.close(); await registry.close(); },
    count: () => requests,
  };
}
