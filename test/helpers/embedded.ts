// Mooring in embedded demo mode as `npm start` wires it (every port on 0), with a recording
// application endpoint, and the demo user's management API calls to create applications and
// devices: what an end-to-end test needs to set up its own tenants.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../functions/ports/runtime.ts';
import { configFromEnv, type Config } from '../../cli/config.ts';
import { startMooring, type Mooring } from '../../cli/mooring.ts';
import { startRecordingApp, type RecordingApp } from './http-app.ts';

// Parsed JSON bodies are read loosely by the assertions, as in test/api/harness.ts.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface ApiAnswer { status: number; json: Json; headers: Headers }

export interface Embedded {
  mooring: Mooring;
  /** Receives every application's pushed events (set as their `spec.knative.endpoint`). */
  app: RecordingApp;
  /** A management API call as the demo user. */
  call(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  /** Creates an application pushing to `app`, with `spec` merged in; throws unless 201. */
  createApp(name: string, spec?: Record<string, unknown>): Promise<void>;
  /** Creates a device with password credential `password`; throws unless 201. */
  createDevice(application: string, name: string, password: string): Promise<void>;
  close(): Promise<void>;
}

export async function startEmbedded(overrides: Partial<Config> = {}): Promise<Embedded> {
  const dir = mkdtempSync(join(tmpdir(), 'mooring-embedded-'));
  const app = await startRecordingApp();
  const mooring = await startMooring(configFromEnv({}, {
    dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, httpPort: 0, ingressPort: 0, apiPort: 0,
    mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, wsIntegrationPort: 0, demoSinkPort: 0, ...overrides,
  }), { logger: silentLogger });
  const auth = `Basic ${Buffer.from(`${mooring.demoUser!.username}:${mooring.demoUser!.token}`).toString('base64')}`;
  const call = async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
    const res = await fetch(`http://127.0.0.1:${mooring.api!.port}${path}`, {
      method,
      headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: unknown = text;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, json, headers: res.headers };
  };
  const created = (what: string, r: ApiAnswer): void => {
    if (r.status !== 201) throw new Error(`creating ${what}: ${r.status} ${JSON.stringify(r.json)}`);
  };
  return {
    mooring, app, call,
    async createApp(name, spec = {}) {
      created(`application ${name}`, await call('POST', '/api/registry/v1alpha1/apps', {
        metadata: { name }, spec: { knative: { endpoint: { url: `${app.url}/${name}` } }, ...spec },
      }));
    },
    async createDevice(application, name, password) {
      created(`device ${name}`, await call('POST', `/api/registry/v1alpha1/apps/${application}/devices`, {
        metadata: { name, application }, spec: { authentication: { credentials: [{ pass: password }] } },
      }));
    },
    async close() {
      await mooring.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
