// docs/openapi.yaml describes exactly the routes express mounts (method and path, both ways), is
// OpenAPI 3.1, and every $ref in it resolves.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { createApiApp } from '../../api/server.ts';
import { OPENAPI_PATH } from '../../api/discovery.ts';
import { BackendRegistryStore } from '../../connectors/registry/store.ts';
import { MemoryBackend } from '../../connectors/registry/memory-backend.ts';
import { MemoryTokenStore } from '../../api/tokens/memory.ts';
import { silentLogger } from '../../functions/ports/runtime.ts';

const doc = parse(readFileSync(OPENAPI_PATH, 'utf8')) as { openapi: string; paths: Record<string, Record<string, unknown>> };
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];

function mounted(oidcIssuer?: string, commands = true): string[] {
  const app = createApiApp({
    registry: new BackendRegistryStore(new MemoryBackend()), tokens: new MemoryTokenStore(), logger: silentLogger,
    config: { apiPort: 0, host: '127.0.0.1', apiUrl: undefined, oidcIssuer, oidcClientId: 'drogue' },
    ...(commands ? { commands: async () => ({ outcome: 'offline' as const, targets: [], id: 'x' }) } : {}),
  });
  const router = (app as unknown as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } }).router;
  const out: string[] = [];
  for (const layer of router.stack) {
    if (!layer.route) continue;
    const path = layer.route.path.replace(/:(\w+)/g, '{$1}');
    for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${path}`);
  }
  return out.sort();
}

function documented(): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) for (const m of Object.keys(item)) if (METHODS.includes(m)) out.push(`${m.toUpperCase()} ${path}`);
  return out.sort();
}

test('every mounted route is documented, and every documented one mounted (without an external issuer, with a command sender)', () => {
  const routes = mounted();
  assert.equal(routes, documented());
  assert.ok(routes.length > 20);
  console.log(`  routes mounted and documented: ${routes.length}`);
});

test('without a command sender only the command route is gone', () => {
  assert.equal(mounted(undefined, false), documented().filter((r) => r !== 'POST /api/command/v1alpha1/apps/{app}/devices/{device}'));
});

test('with an external issuer only the API\'s own OpenID discovery is gone', () => {
  assert.equal(mounted('https://sso.example/realms/drogue'), documented().filter((r) => r !== 'GET /.well-known/openid-configuration'));
});

test('OpenAPI 3.1, unique operation ids, every $ref resolves', () => {
  assert.is(doc.openapi, '3.1.0');
  const ids: string[] = [];
  for (const item of Object.values(doc.paths)) for (const [m, op] of Object.entries(item)) if (METHODS.includes(m)) ids.push((op as { operationId: string }).operationId);
  assert.is(new Set(ids).size, ids.length);
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
  for (const ref of refs) {
    let node: unknown = doc;
    for (const part of ref.split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
    assert.ok(node !== undefined, ref);
  }
  console.log(`  $refs resolved: ${refs.length}`);
});

test.run();
