// infra/terraform with a real OpenTofu (scripts/tofu/tofu.sh: built from the Go module proxy, the
// providers from its filesystem mirror): every module and example is formatted; the modules whose
// providers can be had here init and validate; the knative module applies exactly the documents of
// knative/*.yaml and deploy/*.yaml (one source); and the local example (knative + kafka modules) is
// applied to the suite's real kube-apiserver (Knative CRDs installed) and to a real Kafka, then
// destroyed, checking the objects and topics exist after the apply and are gone after the destroy.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { VARIABLES } from '../../cli/config.ts';
import { parseManifests, type Manifest } from '../../connectors/knative/triggers.ts';
import { startOwnKafka, type OwnKafka } from '../helpers/kafka.ts';
import { ensureKube, kubectl, testKubeConfig, uniqueNamespace } from '../helpers/kube.ts';
import { copyRoot, moduleSource, ROOT, TERRAFORM_DIR, terraformDirs, tofu, tofuDestroyOk, tofuOk } from '../helpers/tofu.ts';

/** Every document of knative/*.yaml and deploy/*.yaml (not templates/) by apiVersion/kind/name. */
async function fileDocuments(): Promise<Map<string, Manifest>> {
  const out = new Map<string, Manifest>();
  for (const dir of ['knative', 'deploy']) {
    for (const f of (await readdir(join(ROOT, dir))).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      for (const doc of parseManifests(await readFile(join(ROOT, dir, f), 'utf8'), `${dir}/${f}`)) {
        const key = `${doc.apiVersion}/${doc.kind}/${doc.metadata?.name}`;
        assert.not.ok(out.has(key), `${key} twice`);
        out.set(key, doc);
      }
    }
  }
  return out;
}

/** The paths (a.b[0].c) where two JSON values differ, with both values. */
function diffPaths(a: unknown, b: unknown, at = ''): Array<{ path: string; from: unknown; to: unknown }> {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) return [{ path: at, from: a, to: b }];
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k));
  }
  return [{ path: at, from: a, to: b }];
}

/** The module's documents, parsed from its `manifests` output (JSON of key → YAML text). */
const parsedOutput = (json: string): Map<string, Manifest> =>
  new Map(Object.entries(JSON.parse(json) as Record<string, string>).map(([k, y]) => [k, parse(y) as Manifest]));

test('every module and example is formatted (tofu fmt -check), and the check can fail', async () => {
  const dirs = await terraformDirs();
  const failures: string[] = [];
  for (const dir of dirs) {
    const r = await tofu(dir, ['fmt', '-check', '-diff']);
    if (r.code !== 0) failures.push(`${dir.slice(ROOT.length + 1)}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  }
  console.log(`tofu fmt -check: ${dirs.length - failures.length} of ${dirs.length} directories formatted`);
  assert.equal(failures, [], failures.join('\n'));
  assert.ok(dirs.length >= 6, `found ${dirs.length} module and example directories`);
  const bad = await mkdtemp(join(os.tmpdir(), 'mooring-tofu-fmt-'));
  try {
    await writeFile(join(bad, 'main.tf'), 'variable "x" {\ntype=string\n}\n');
    const r = await tofu(bad, ['fmt', '-check']);
    assert.is(r.code, 3, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /main\.tf/);
  } finally {
    await rm(bad, { recursive: true, force: true });
  }
});

test('the knative and kafka modules init from the filesystem mirror and validate; a bad variable is refused', async () => {
  const root = await mkdtemp(join(os.tmpdir(), 'mooring-tofu-validate-'));
  try {
    await writeFile(join(root, 'main.tf'), [
      `module "knative" {\n  source    = "${moduleSource(root, 'knative')}"\n  namespace = "mooring"\n}`,
      `module "kafka" {\n  source    = "${moduleSource(root, 'kafka')}"\n  namespace = "mooring"\n}`,
    ].join('\n'));
    const init = await tofuOk(root, ['init', '-backend=false']);
    assert.match(init, /gavinbunney\/kubectl v1\.19\.0/);
    assert.match(init, /mongey\/kafka v0\.13\.1/i);
    assert.match(await tofuOk(root, ['validate']), /Success/);
    // A validation block at work: a namespace that is no DNS-1123 label.
    await writeFile(join(root, 'main.tf'), `module "knative" {\n  source    = "${moduleSource(root, 'knative')}"\n  namespace = "Not_A_Label"\n}\n`);
    const bad = await tofu(root, ['plan', '-input=false']);
    assert.is.not(bad.code, 0);
    assert.match(bad.stderr, /namespace: a DNS-1123 label/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the knative module applies every document of knative/*.yaml and deploy/*.yaml unchanged, and nothing else', async () => {
  const root = await mkdtemp(join(os.tmpdir(), 'mooring-tofu-console-'));
  try {
    await writeFile(join(root, 'main.tf'), `module "knative" {\n  source    = "${moduleSource(root, 'knative')}"\n  namespace = "mooring"\n}\n`);
    await tofuOk(root, ['init', '-backend=false']);
    const out = JSON.parse(await tofuOk(root, ['console'], 300_000, 'jsonencode(module.knative.manifests)\n')) as string;
    const applied = parsedOutput(out);
    const files = await fileDocuments();
    assert.equal([...applied.keys()].sort(), [...files.keys()].sort());
    const diffs = [...files].flatMap(([k, doc]) => diffPaths(doc, applied.get(k)).map((d) => `${k} ${d.path}`));
    console.log(`knative module: ${applied.size} documents, ${files.size} in knative/ and deploy/, ${diffs.length} differences`);
    assert.equal(diffs, []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the local example applies to a real kube-apiserver and Kafka, and destroy removes it all', async () => {
  const kubeconfig = await ensureKube();
  const namespace = await uniqueNamespace(await testKubeConfig(), 'tofu');
  let kafka: OwnKafka | undefined;
  const root = await copyRoot(join(TERRAFORM_DIR, 'examples/local'));
  const list = join(root, 'objects.json');
  try {
    kafka = await startOwnKafka('tofu');
    const vars = {
      kubeconfig, namespace, create_namespace: false, wait_for_rollout: false,
      kafka_bootstrap_servers: ['kafka.tofu-test.svc:9092'], kafka_admin_servers: kafka.brokers, replication_factor: 1,
      dynamodb_endpoint: 'http://dynamodb-local.mooring:8000', images: { 'ghcr.io/mooring/mooring': 'registry.example/mooring:1.2.3' },
    };
    await writeFile(join(root, 'test.auto.tfvars.json'), JSON.stringify(vars));
    await tofuOk(root, ['init', '-backend=false']);
    await tofuOk(root, ['validate']);
    await tofuOk(root, ['apply', '-auto-approve', '-input=false'], 900_000);

    // Every document is in the namespace, with the variables' changes and no others.
    const applied = parsedOutput(JSON.stringify(JSON.parse(await tofuOk(root, ['output', '-json', 'manifests']))));
    const files = await fileDocuments();
    assert.equal([...applied.keys()].sort(), [...files.keys()].sort());
    await writeFile(list, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...applied.values()] }));
    const live = JSON.parse(await kubectl(kubeconfig, ['get', '-n', namespace, '-f', list, '-o', 'json'])) as { items: Manifest[] };
    assert.is(live.items.length, files.size);
    const changed = [...files].flatMap(([k, doc]) => diffPaths(doc, applied.get(k)).map((d) => `${k} ${d.path}=${JSON.stringify(d.to)}`)).sort();
    console.log(`tofu apply: ${live.items.length} objects in ${namespace}; changed by the variables: ${changed.length}`);
    assert.equal(changed, [
      'apps/v1/Deployment/mooring-api spec.template.spec.containers[0].image="registry.example/mooring:1.2.3"',
      'apps/v1/Deployment/mooring-controller spec.template.spec.containers[0].image="registry.example/mooring:1.2.3"',
      'apps/v1/Deployment/mooring-gateway spec.template.spec.containers[0].image="registry.example/mooring:1.2.3"',
      'apps/v1/Deployment/mooring-http spec.template.spec.containers[0].image="registry.example/mooring:1.2.3"',
      'apps/v1/Deployment/mooring-integrations spec.template.spec.containers[0].image="registry.example/mooring:1.2.3"',
      'eventing.knative.dev/v1alpha1/KafkaSink/mooring-dead-letter spec.bootstrapServers[0]="kafka.tofu-test.svc:9092"',
      // The function Services run the one image too (Dockerfile, started as `function`).
      'serving.knative.dev/v1/Service/authz spec.template.spec.containers[0].image="registry.example/mooring:1.2.3"',
      'serving.knative.dev/v1/Service/content-type spec.template.spec.containers[0].image="registry.example/mooring:1.2.3"',
      'serving.knative.dev/v1/Service/normalize spec.template.spec.containers[0].image="registry.example/mooring:1.2.3"',
      'v1/ConfigMap/kafka-broker-config data.bootstrap.servers="kafka.tofu-test.svc:9092"',
      'v1/ConfigMap/kafka-broker-config data.default.topic.partitions="4"',
      'v1/ConfigMap/kafka-broker-config data.default.topic.replication.factor="1"',
      'v1/ConfigMap/mooring-config data.MOORING_DYNAMODB_ENDPOINT="http://dynamodb-local.mooring:8000"',
      'v1/ConfigMap/mooring-config data.MOORING_KAFKA_BROKERS="kafka.tofu-test.svc:9092"',
    ].sort());
    const liveConfig = live.items.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'mooring-config')!;
    assert.is((liveConfig.data as Record<string, string>).MOORING_DYNAMODB_ENDPOINT, 'http://dynamodb-local.mooring:8000');
    assert.ok(live.items.every((o) => o.metadata?.namespace === namespace));
    // What the variables put in mooring-config are Mooring variables with values its checks accept.
    for (const [k, v] of Object.entries(liveConfig.data as Record<string, string>)) {
      const variable = VARIABLES.find((x) => x.name === k);
      assert.ok(variable, `mooring-config: ${k} is not a Mooring variable (cli/config.ts)`);
      variable.parse(v, k);
    }

    // The topics, with their partitions and retention.
    const admin = new Kafka({ clientId: 'tofu-test', brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = [`knative-broker-${namespace}-mooring`, 'mooring-dead-letter'];
      const meta = await admin.fetchTopicMetadata({ topics });
      const configs = await admin.describeConfigs({
        includeSynonyms: false, resources: topics.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms'] })),
      });
      const got = topics.map((t) => [t, meta.topics.find((m) => m.name === t)?.partitions.length,
        configs.resources.find((c) => c.resourceName === t)?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue]);
      console.log(`kafka topics: ${JSON.stringify(got)}`);
      assert.equal(got, [[topics[0], 4, '86400000'], [topics[1], 1, '1209600000']]);

      await tofuDestroyOk(root, 900_000);
      const left = (await kubectl(kubeconfig, ['get', '-n', namespace, '-f', list, '--ignore-not-found', '-o', 'name'])).trim();
      assert.is(left, '', `left after destroy:\n${left}`);
      // Topic deletion completes in the background: bounded wait.
      let remaining: string[] = topics;
      for (const until = Date.now() + 60_000; remaining.length > 0 && Date.now() < until;) {
        const names = new Set(await admin.listTopics());
        remaining = topics.filter((t) => names.has(t));
        if (remaining.length > 0) await new Promise((r) => setTimeout(r, 500));
      }
      console.log(`tofu destroy: 0 of ${files.size} objects left, ${remaining.length} of ${topics.length} topics left`);
      assert.equal(remaining, []);
    } finally {
      await admin.disconnect();
    }
  } finally {
    await tofu(root, ['destroy', '-auto-approve', '-input=false'], 900_000).catch(() => undefined);
    await kafka?.close();
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
