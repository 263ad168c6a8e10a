// The manifests start containers the way the image's entry point (Dockerfile, cli/serve.ts)
// expects: one image for every Mooring container, a first argument that names a part it serves,
// a function Service naming a function that exists, container ports that are the defaults of
// cli/config.ts (or set through the environment), and runAsUser equal to the image's USER.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseManifests, type Manifest } from '../../connectors/knative/triggers.ts';
import { configFromEnv, partsFromArgs, type Config } from '../../cli/config.ts';
import { FUNCTION_MODULES } from '../../functions/runtime/main.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const IMAGE = 'ghcr.io/mooring/mooring:latest';

interface Container {
  name: string; image: string; args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string }>;
  readinessProbe?: { httpGet?: { port?: number | string } };
}
interface Workload { origin: string; runAsUser: number | undefined; container: Container }

function workloads(): Workload[] {
  const files = [
    ...readdirSync(join(ROOT, 'deploy')).filter((f) => f.endsWith('.yaml')).map((f) => join('deploy', f)),
    ...readdirSync(join(ROOT, 'knative')).filter((f) => f.endsWith('.yaml')).map((f) => join('knative', f)),
  ];
  const out: Workload[] = [];
  for (const file of files) {
    for (const doc of parseManifests(readFileSync(join(ROOT, file), 'utf8'), file) as Manifest[]) {
      const pod = (doc.spec as { template?: { spec?: { containers?: Container[]; securityContext?: { runAsUser?: number } } } } | undefined)?.template?.spec;
      for (const container of pod?.containers ?? []) {
        out.push({ origin: `${file} ${doc.kind}/${doc.metadata?.name}`, runAsUser: pod?.securityContext?.runAsUser, container });
      }
    }
  }
  return out;
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

test('the Dockerfile\'s entry point is the compiled cli/serve.ts, run as a numeric non-root user', () => {
  assert.match(dockerfile, /^ENTRYPOINT \["node", "dist\/cli\/serve\.js"\]$/m);
  assert.ok(readdirSync(join(ROOT, 'cli')).includes('serve.ts'));
  assert.match(dockerfile, /^USER 10001:10001$/m);
  assert.match(dockerfile, /npm ci --omit=dev/);
});

test('every Mooring container uses the one image with a part the entry point serves', () => {
  const all = workloads();
  const mooring = all.filter((w) => w.container.image.startsWith('ghcr.io/mooring/'));
  const parts: Record<string, number> = {};
  for (const { origin, container, runAsUser } of mooring) {
    assert.is(container.image, IMAGE, origin);
    const args = container.args ?? [];
    const first = args[0] ?? 'all';
    parts[first] = (parts[first] ?? 0) + 1;
    const env: Record<string, string> = Object.fromEntries((container.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])));
    const config: Readonly<Config> = configFromEnv(env);
    const ports = new Set((container.ports ?? []).map((p) => p.containerPort));
    if (first === 'function') {
      assert.ok(config.functionName !== undefined && config.functionName in FUNCTION_MODULES, `${origin}: MOORING_FUNCTION ${config.functionName}`);
      assert.ok(ports.has(config.port), `${origin}: PORT ${config.port}`);
    } else if (first === 'controller') {
      assert.ok(ports.has(config.port), `${origin}: PORT ${config.port}`);
    } else {
      const served = partsFromArgs(args); // throws for a name the entry point does not serve
      assert.ok(ports.has(config.ingressPort), `${origin}: the ingress (health, metrics) on ${config.ingressPort}`);
      if (served.has('gateway')) for (const p of [config.mqttPort, config.mqttsPort, config.mqttWsPort]) assert.ok(ports.has(p), `${origin}: MQTT port ${p}`);
      if (served.has('http')) assert.ok(ports.has(config.httpPort), `${origin}: HTTP port ${config.httpPort}`);
      if (served.has('api')) assert.ok(ports.has(config.apiPort), `${origin}: API port ${config.apiPort}`);
      if (served.has('integrations')) {
        for (const p of [config.mqttIntegrationPort, config.mqttIntegrationTlsPort, config.mqttIntegrationWsPort, config.wsIntegrationPort]) assert.ok(ports.has(p), `${origin}: integration port ${p}`);
      }
    }
    if (runAsUser !== undefined) assert.is(runAsUser, 10001, origin);
  }
  console.log(`manifests: ${mooring.length} Mooring containers of ${all.length}, by part ${JSON.stringify(parts)}`);
  assert.ok(mooring.length >= 8 && parts.function! >= 3 && parts.gateway === 1 && parts.controller === 1);
  assert.equal([parts.http, parts.api, parts.integrations], [1, 1, 1], 'a Deployment each for the HTTP endpoint, the API and the integrations');
});

test('every manifest names the same Kafka: the gateway\'s config, the Broker and the dead-letter KafkaSink', () => {
  const servers = new Map<string, string>();
  for (const dir of ['deploy', 'knative']) {
    for (const file of readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of parseManifests(readFileSync(join(ROOT, dir, file), 'utf8'), file) as Manifest[]) {
        const where = `${dir}/${file} ${doc.kind}/${doc.metadata?.name}`;
        const data = (doc as { data?: Record<string, string> }).data ?? {};
        if (data.MOORING_KAFKA_BROKERS !== undefined) servers.set(where, data.MOORING_KAFKA_BROKERS);
        if (data['bootstrap.servers'] !== undefined) servers.set(where, data['bootstrap.servers']);
        const sink = (doc.spec as { bootstrapServers?: string[] } | undefined)?.bootstrapServers;
        if (doc.kind === 'KafkaSink' && sink) servers.set(where, sink.join(','));
      }
    }
  }
  console.log(`kafka addresses: ${JSON.stringify(Object.fromEntries(servers))}`);
  assert.ok(servers.size >= 3, 'the gateway config, the Broker config and the KafkaSink name Kafka');
  assert.is(new Set(servers.values()).size, 1, 'one Kafka address everywhere');
});

test.run();
