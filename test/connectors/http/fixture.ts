// Shared fixture of the HTTP endpoint tests: a registry with an application, devices of each
// credential kind, a gateway and its devices, a recording bus, and an endpoint listening on a free
// port; `post` sends with node's fetch, `curl` runs the curl CLI (status, headers, body).

import { execFile } from 'node:child_process';
import { createHttpEndpoint, type HttpAddresses, type HttpEndpoint, type HttpEndpointOptions } from '../../../connectors/http/index.ts';
import type { Application, Device } from '../../../functions/ports/registry.ts';
import { app, device, memoryRegistry, type MemoryRegistry } from '../../helpers/memory-registry.ts';
import { RecordingBus } from '../../helpers/mqtt-recording-bus.ts';
import type { CloudEvent } from '../../../events/cloudevent.ts';
import type { RegistryReader } from '../../../functions/ports/registry.ts';
import { normalizePublish } from '../../../functions/normalize/index.ts';
import { applyContentType } from '../../../functions/content-type/index.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';

const pass = (pw: string): Device['spec'] => ({ authentication: { credentials: [{ pass: pw }] } });

function withUid<T extends Application | Device>(doc: T, uid: string): T {
  doc.metadata.uid = uid;
  return doc;
}

export function httpDocs(): Array<Application | Device> {
  return [
    withUid(app('app1'), 'uid-app1'),
    withUid(device('app1', 'device1', pass('hey')), 'uid-device1'),
    device('app1', 'aliased', { ...pass('pw'), alias: ['serial-42'] }),
    device('app1', 'userdev', { authentication: { credentials: [{ user: { username: 'alice', password: 'wonder' } }] } }),
    withUid(device('app1', 'gateway1', pass('gw')), 'uid-gateway1'),
    withUid(device('app1', 'sensor1', { gatewaySelector: { matchNames: ['gateway1'] } }), 'uid-sensor1'),
    device('app1', 'sensor2', {}),
    device('app1', 'off', { ...pass('hey'), core: { disabled: true } }),
    app('offapp', { core: { disabled: true } }),
    device('offapp', 'd', pass('hey')),
  ];
}

export interface HttpFixture {
  endpoint: HttpEndpoint;
  bus: RecordingBus;
  registry: MemoryRegistry;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  addresses: HttpAddresses;
  post(path: string, init?: { body?: string | Uint8Array; headers?: Record<string, string>; user?: string }): Promise<Response>;
  close(): Promise<void>;
}

export const basic = (user: string): string => `Basic ${Buffer.from(user).toString('base64')}`;

export async function httpFixture(options: Partial<HttpEndpointOptions> = {}, docs = httpDocs()): Promise<HttpFixture> {
  const bus = new RecordingBus();
  const registry = memoryRegistry(docs);
  let n = 0;
  const endpoint = createHttpEndpoint({ bus, registry, host: '127.0.0.1', port: 0, newId: () => `id-${++n}`, ...options });
  const addr = await endpoint.listen();
  const port = addr.http!.port;
  const url = `http://127.0.0.1:${port}`;
  return {
    endpoint, bus, registry, url, port, addresses: addr,
    post: (path, init = {}) => fetch(url + path, {
      method: 'POST',
      headers: { ...(init.user !== undefined ? { authorization: basic(init.user) } : {}), ...init.headers },
      ...(init.body !== undefined ? { body: init.body as BodyInit } : {}),
    }),
    close: () => endpoint.close(),
  };
}

export interface CurlResult { status: number; headers: Record<string, string>; body: string }

/** Runs curl with `args`; the status, the response headers (lower-case names) and the body. */
export function curl(args: string[]): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-i', ...args], { timeout: 20_000, encoding: 'utf8' }, (err, stdout) => {
      if (err) { reject(err); return; }
      const split = stdout.indexOf('\r\n\r\n');
      const head = stdout.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(head[0]!.split(' ')[1]), headers, body: stdout.slice(split + 4) });
    });
  });
}

/** A raw publish through normalize and content-type: what the application receives (id `final`). */
export async function finalEvent(registry: RegistryReader, e: CloudEvent, now = 0): Promise<CloudEvent> {
  const ctx = { registry, clock: { now: () => now }, logger: silentLogger, instance: 'drogue', newId: () => 'final' };
  return applyContentType(await normalizePublish(e, ctx));
}
