// Every manifest in knative/ (templates rendered with sample values) validates against the
// openAPIV3Schema of its kind and version in ../shared/crds/, the way the API server would with
// strict field validation: unknown fields are errors except under x-kubernetes-preserve-unknown-fields.
// Then every document of knative/ and deploy/ goes to a real kube-apiserver (the CRDs installed)
// with `kubectl apply --dry-run=server`, and the controller's RBAC is checked there.

import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { parseManifests, renderTemplate, type Manifest } from '../../connectors/knative/triggers.ts';
import { VARIABLES } from '../../cli/config.ts';
import { kubectl, testKubeConfig, uniqueNamespace, ensureKube } from '../helpers/kube.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const crdDir = path.resolve(repoRoot, '../shared/crds');
const knativeDir = path.join(repoRoot, 'knative');
const deployDir = path.join(repoRoot, 'deploy');
const SAMPLE = { app: 'my-app-1', endpoint: 'https://app.example.com/events', instance: 'gateway-0' };

/** Turns a CRD structural schema into a JSON Schema Ajv can enforce strictly. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  const src = node as Record<string, unknown>;
  for (const [k, v] of Object.entries(src)) {
    if (k.startsWith('x-kubernetes-') || k === 'description') continue;
    // `properties` maps names to schemas: recurse into the schemas, keep the names.
    out[k] = k === 'properties'
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([p, s]) => [p, toJsonSchema(s)]))
      : toJsonSchema(v);
  }
  if (src['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  // Structural schemas prune unknown fields; strict field validation (kubectl's default) rejects them.
  if (src.properties !== undefined && src.additionalProperties === undefined && src['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

/** Kinds that are not CRDs but appear beside them. */
const CORE_SCHEMAS: Record<string, object> = {
  'v1/ConfigMap': {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata'],
    additionalProperties: false,
    properties: {
      apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' },
      data: { type: 'object', additionalProperties: { type: 'string' } },
      binaryData: { type: 'object', additionalProperties: { type: 'string' } },
      immutable: { type: 'boolean' },
    },
  },
};

async function loadValidators(): Promise<Map<string, ValidateFunction>> {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  const validators = new Map<string, ValidateFunction>();
  for (const file of (await readdir(crdDir)).filter((f) => f.endsWith('.yaml')).sort()) {
    const crd = parse(await readFile(path.join(crdDir, file), 'utf8')) as {
      kind: string;
      spec: { group: string; names: { kind: string }; versions: Array<{ name: string; served?: boolean; schema?: { openAPIV3Schema?: object } }> };
    };
    if (crd.kind !== 'CustomResourceDefinition') continue;
    for (const version of crd.spec.versions) {
      if (!version.served || !version.schema?.openAPIV3Schema) continue;
      const schema = toJsonSchema(version.schema.openAPIV3Schema) as Record<string, unknown>;
      // The API server supplies apiVersion, kind and metadata at the root of every custom resource.
      const root = (schema.properties ?? {}) as Record<string, unknown>;
      schema.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...root };
      schema.required = ['apiVersion', 'kind', 'metadata', ...((schema.required as string[] | undefined) ?? [])];
      // Unknown formats (e.g. Kubernetes' own) must not fail compilation.
      for (const f of formatsIn(schema)) if (!ajv.formats[f]) ajv.addFormat(f, true);
      validators.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, ajv.compile(schema));
    }
  }
  for (const [key, schema] of Object.entries(CORE_SCHEMAS)) validators.set(key, ajv.compile(schema));
  return validators;
}

function formatsIn(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => formatsIn(n, found));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'format' && typeof v === 'string') found.add(v);
      else formatsIn(v, found);
    }
  }
  return found;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(p)));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

// Kubernetes object names: DNS-1123 labels for Knative Services and Triggers (≤ 63), subdomains otherwise.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

test('the CRD folder ../shared/crds exists beside the repository', () => {
  assert.ok(existsSync(crdDir), `missing ${crdDir}: the manifests are validated against the CRDs in ../shared/crds (CI checks it out beside the clone)`);
});

test('every knative/ manifest validates against the schema of its kind', async () => {
  assert.ok(existsSync(crdDir), `missing ${crdDir}`);
  const validators = await loadValidators();
  const files = await yamlFiles(knativeDir);
  assert.ok(files.length >= 5, `expected the knative/ manifests, found ${files.length}`);
  const failures: string[] = [];
  let checked = 0;
  const kinds = new Set<string>();
  for (const file of files) {
    const rel = path.relative(repoRoot, file);
    const text = await readFile(file, 'utf8');
    const docs: Manifest[] = rel.includes(`${path.sep}templates${path.sep}`) ? renderTemplate(text, SAMPLE, rel) : parseManifests(text, rel);
    assert.ok(docs.length > 0, `${rel} has no documents`);
    docs.forEach((doc, i) => {
      const where = `${rel} #${i + 1} ${doc.kind ?? '?'} ${doc.metadata?.name ?? '?'}`;
      checked++;
      const validate = validators.get(`${doc.apiVersion}/${doc.kind}`);
      if (!validate) {
        failures.push(`${where}: unknown apiVersion/kind ${doc.apiVersion}/${doc.kind} (known: ${[...validators.keys()].join(', ')})`);
        return;
      }
      kinds.add(`${doc.apiVersion}/${doc.kind}`);
      const name = doc.metadata?.name;
      if (typeof name !== 'string' || !DNS_LABEL.test(name) || name.length > 63) failures.push(`${where}: metadata.name is not a DNS-1123 label`);
      if (JSON.stringify(doc).includes('{{')) failures.push(`${where}: unrendered placeholder`);
      if (!validate(doc)) {
        for (const e of validate.errors ?? []) failures.push(`${where}: ${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
      }
    });
  }
  assert.equal(failures, [], failures.join('\n'));
  for (const kind of ['eventing.knative.dev/v1/Broker', 'eventing.knative.dev/v1/Trigger', 'serving.knative.dev/v1/Service', 'eventing.knative.dev/v1alpha1/KafkaSink']) {
    assert.ok(kinds.has(kind), `no ${kind} manifest`);
  }
  assert.ok(checked >= 8, `checked ${checked} documents`);
});

test('the schema check catches a misspelled field and a wrong type', async () => {
  const validators = await loadValidators();
  const trigger = validators.get('eventing.knative.dev/v1/Trigger')!;
  assert.ok(trigger({ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't' }, spec: { broker: 'b', subscriber: { uri: 'http://x' } } }));
  assert.not.ok(trigger({ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't' }, spec: { broker: 'b', subscriber: { url: 'http://x' } } }));
  assert.not.ok(trigger({ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't' }, spec: { broker: 'b', filters: 'x', subscriber: { uri: 'u' } } }));
  const sink = validators.get('eventing.knative.dev/v1alpha1/KafkaSink')!;
  assert.not.ok(sink({ apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'KafkaSink', metadata: { name: 's' }, spec: { topic: 't' } }));
});

test('the Services run the one Mooring image as `function` with MOORING_FUNCTION, probes and autoscaling', async () => {
  const docs = parseManifests(await readFile(path.join(knativeDir, 'services.yaml'), 'utf8'), 'services.yaml');
  assert.equal(docs.map((d) => d.metadata?.name).sort(), ['authz', 'content-type', 'normalize']);
  for (const d of docs) {
    const template = (d.spec as { template: { metadata: { annotations: Record<string, string> }; spec: { containers: Array<Record<string, unknown>> } } }).template;
    for (const a of ['min-scale', 'max-scale', 'target']) assert.type(template.metadata.annotations[`autoscaling.knative.dev/${a}`], 'string', `${d.metadata?.name} ${a}`);
    const c = template.spec.containers[0] as { image: string; args: string[]; env: Array<{ name: string; value: string }>; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } } };
    assert.match(c.image, /^ghcr\.io\/mooring\/mooring(:|$)/);
    assert.equal(c.args, ['function']);
    assert.ok(c.env.some((e) => e.name === 'MOORING_FUNCTION' && e.value === d.metadata?.name));
    // Only variables the configuration module knows, with values its checks accept.
    for (const e of c.env) {
      const v = VARIABLES.find((x) => x.name === e.name);
      assert.ok(v, `${d.metadata?.name}: ${e.name} is not a Mooring variable (cli/config.ts)`);
      v.parse(e.value, e.name);
    }
    assert.is(c.readinessProbe.httpGet.path, '/health/readiness');
    assert.is(c.livenessProbe.httpGet.path, '/health/liveness');
  }
});

test('the Broker is a Kafka Broker configured by kafka-broker-config', async () => {
  const docs = parseManifests(await readFile(path.join(knativeDir, 'broker.yaml'), 'utf8'), 'broker.yaml');
  const broker = docs.find((d) => d.kind === 'Broker')!;
  assert.is(broker.metadata?.name, 'mooring');
  assert.is(broker.metadata?.annotations?.['eventing.knative.dev/broker.class'], 'Kafka');
  const config = (broker.spec as { config: { kind: string; name: string } }).config;
  assert.equal([config.kind, config.name], ['ConfigMap', 'kafka-broker-config']);
  assert.ok(docs.some((d) => d.kind === 'ConfigMap' && d.metadata?.name === 'kafka-broker-config'));
});

/** Every document of knative/ and deploy/, templates rendered with SAMPLE. */
async function allDocuments(): Promise<Array<{ where: string; doc: Manifest }>> {
  const out: Array<{ where: string; doc: Manifest }> = [];
  for (const file of [...(await yamlFiles(knativeDir)), ...(await yamlFiles(deployDir))]) {
    const rel = path.relative(repoRoot, file);
    const text = await readFile(file, 'utf8');
    const docs = rel.includes(`${path.sep}templates${path.sep}`) ? renderTemplate(text, SAMPLE, rel) : parseManifests(text, rel);
    docs.forEach((doc, i) => out.push({ where: `${rel} #${i + 1} ${doc.kind ?? '?'} ${doc.metadata?.name ?? '?'}`, doc }));
  }
  return out;
}

test('the API server accepts every document of knative/ and deploy/ (kubectl apply --dry-run=server)', async () => {
  const kubeconfig = await ensureKube();
  const namespace = await uniqueNamespace(await testKubeConfig(), 'manifests');
  const docs = await allDocuments();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-manifests-'));
  try {
    const file = path.join(dir, 'all.json');
    await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs.map((d) => d.doc) }));
    const out = await kubectl(kubeconfig, ['apply', '--dry-run=server', '--validate=strict', '-n', namespace, '-f', file, '-o', 'name']);
    const accepted = out.split('\n').filter(Boolean);
    const kinds = new Set(docs.map((d) => d.doc.kind));
    console.log(`server dry-run: ${accepted.length} of ${docs.length} documents accepted (${[...kinds].sort().join(', ')})`);
    assert.is(accepted.length, docs.length, accepted.join('\n'));
    for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'Role', 'RoleBinding', 'ServiceAccount', 'ConfigMap', 'Trigger', 'Broker']) {
      assert.ok(kinds.has(kind), `no ${kind} document`);
    }
    // The check can fail: a misspelled field is refused by the server.
    const bad = docs.find((d) => d.doc.kind === 'Deployment')!.doc;
    await writeFile(file, JSON.stringify({ ...bad, spec: { ...bad.spec, replica: 2 } }));
    const refused = await kubectl(kubeconfig, ['apply', '--dry-run=server', '--validate=strict', '-n', namespace, '-f', file]).then(() => '', (e: Error) => e.message);
    assert.match(refused, /unknown field "spec.replica"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('deploy/: only Mooring variables, with values its checks accept; the gateway listens on 1883/8883/8083', async () => {
  const docs = (await allDocuments()).filter((d) => d.where.startsWith('deploy'));
  const check = (name: string, value: string, where: string) => {
    const v = VARIABLES.find((x) => x.name === name);
    assert.ok(v, `${where}: ${name} is not a Mooring variable (cli/config.ts)`);
    v.parse(value, name);
  };
  for (const { where, doc } of docs) {
    if (doc.kind === 'ConfigMap') for (const [k, v] of Object.entries(doc.data as Record<string, string>)) check(k, v, where);
    const containers = (doc.spec as { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } } | undefined)?.template?.spec?.containers ?? [];
    for (const c of containers) for (const e of c.env ?? []) check(e.name, e.value ?? 'x', where);
  }
  const service = docs.find((d) => d.doc.kind === 'Service' && d.doc.metadata?.name === 'mooring-gateway')!.doc;
  assert.equal((service.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port), [1883, 8883, 8083]);
});

test('the controller\'s RBAC: exactly what it needs on Triggers of its namespace, nothing else', async () => {
  const kubeconfig = await ensureKube();
  const namespace = await uniqueNamespace(await testKubeConfig(), 'rbac');
  await kubectl(kubeconfig, ['apply', '-n', namespace, '-f', path.join(deployDir, 'controller.yaml')]);
  const as = `system:serviceaccount:${namespace}:mooring-controller`;
  const can = async (verb: string, resource: string, ns = namespace) =>
    (await kubectl(kubeconfig, ['auth', 'can-i', verb, resource, '-n', ns, '--as', as]).catch((e: Error) => e.message)).trim().startsWith('yes');
  const allowed: string[] = [];
  for (const verb of ['get', 'list', 'watch', 'create', 'update', 'delete']) if (await can(verb, 'triggers.eventing.knative.dev')) allowed.push(verb);
  assert.equal(allowed, ['get', 'list', 'watch', 'create', 'update', 'delete']);
  const denied = [
    await can('get', 'secrets'), await can('create', 'deployments.apps'), await can('patch', 'triggers.eventing.knative.dev'),
    await can('get', 'triggers.eventing.knative.dev', 'default'), await can('create', 'brokers.eventing.knative.dev'),
  ];
  console.log(`rbac: allowed ${allowed.join(',')}; denied ${denied.filter((d) => !d).length} of ${denied.length} others`);
  assert.equal(denied, [false, false, false, false, false]);
});

test.run();
