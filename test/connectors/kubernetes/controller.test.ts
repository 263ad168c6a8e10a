// The Trigger controller against a real kube-apiserver (scripts/kube/kube.sh) with the Knative
// CRDs, and a registry on DynamoDB Local written by another store (the management API's), so the
// controller sees the changes through the DynamoDB change feed, as a controller process would.
// The last test runs it with nothing but the service account and RBAC of deploy/controller.yaml.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import {
  APPLICATION_LABEL, MANAGED_BY, MANAGED_BY_LABEL, startTriggerController, TRIGGER_FINALIZER, TRIGGER_READY, TriggersApi,
  type Condition, type TriggerController, type TriggerObject,
} from '../../../connectors/kubernetes/index.ts';
import { BackendRegistryStore } from '../../../connectors/registry/index.ts';
import type { Application } from '../../../functions/ports/registry.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';
import { waitFor } from '../../helpers/http-app.ts';
import { ensureKube, kubectl, testKubeConfig, uniqueNamespace } from '../../helpers/kube.ts';
import { openBackend, uniquePrefix } from '../dynamodb/helper.ts';

const WAIT = 60_000;

async function setup() {
  const kc = await testKubeConfig();
  const namespace = await uniqueNamespace(kc, 'ctl');
  const prefix = uniquePrefix('kube');
  const api = new BackendRegistryStore(await openBackend(prefix));
  const controllerStore = new BackendRegistryStore(await openBackend(prefix));
  return { kc, namespace, api, controllerStore };
}

const app = (name: string, url?: string): Parameters<BackendRegistryStore['createApplication']>[0] => ({
  metadata: { name }, spec: url ? { knative: { endpoint: { url } } } : {},
});
const condition = (a: Application | undefined): Condition | undefined =>
  (a?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === TRIGGER_READY);

function uriOf(t: TriggerObject | undefined): string | undefined {
  return (t?.spec?.subscriber as { uri?: string } | undefined)?.uri;
}

test('create, change, delete: the Trigger follows the application (and is put back when deleted by hand); the finalizer holds the delete until it is gone', async () => {
  const { kc, namespace, api, controllerStore } = await setup();
  const triggers = new TriggersApi(kc, namespace);
  let controller: TriggerController | undefined;
  try {
    controller = await startTriggerController({ registry: controllerStore, triggers });
    await api.createApplication(app('shop', 'http://shop.example/events'));

    const created = await waitFor('Trigger app-shop', () => triggers.get('app-shop'), WAIT);
    assert.equal(created.spec?.broker, 'mooring');
    assert.equal(uriOf(created), 'http://shop.example/events');
    const filters = created.spec?.filters as Array<Record<string, unknown>>;
    assert.equal(filters[0], { exact: { application: 'shop' } });
    assert.equal(created.metadata.labels?.[APPLICATION_LABEL], 'shop');
    assert.equal(created.metadata.labels?.[MANAGED_BY_LABEL], MANAGED_BY);

    const ready = await waitFor('TriggerReady=True', async () => {
      const a = await api.getApplication('shop');
      return condition(a)?.status === 'True' && a;
    }, WAIT);
    assert.ok(ready.metadata.finalizers?.includes(TRIGGER_FINALIZER), 'finalizer set');
    await controller.idle();

    assert.is((created.spec?.delivery as { timeout?: string }).timeout, 'PT10S', 'the template\'s timeout without one of the endpoint');
    // Change the endpoint (and its timeout, Drogue's humantime): the Trigger follows, replaced once.
    await api.updateApplication({ metadata: ready.metadata, spec: { knative: { endpoint: { url: 'http://shop.example/v2', timeout: '2500ms' } } }, status: ready.status });
    const changed = await waitFor('the new subscriber', async () => {
      const t = await triggers.get('app-shop');
      return uriOf(t) === 'http://shop.example/v2' && t;
    }, WAIT);
    assert.is((changed.spec?.delivery as { timeout?: string }).timeout, 'PT2.5S', 'the endpoint\'s timeout is the delivery timeout');
    await controller.idle();

    // Deleted by hand: the watch puts it back (no resync).
    const byHand = new TriggersApi(kc, namespace);
    assert.ok(await byHand.delete('app-shop'));
    await waitFor('the Trigger back', async () => uriOf(await triggers.get('app-shop')) === 'http://shop.example/v2', WAIT);
    await controller.idle();

    // Delete: the Trigger goes, then the finalizer, then the application.
    await api.deleteApplication('shop');
    await waitFor('the Trigger gone', async () => (await triggers.get('app-shop')) === undefined, WAIT);
    await waitFor('the application gone (finalizer released)', async () => (await api.getApplication('shop')) === undefined, WAIT);
    await controller.idle();
    console.log(`controller: trigger writes ${JSON.stringify(triggers.writes)}, registry writes ${controller.registryWrites}, failures ${controller.failures}, registry races ${controller.conflicts}`);
    assert.equal(triggers.writes, { created: 2, replaced: 1, deleted: 1 });
    assert.equal(controller.failures, 0);
  } finally {
    await controller?.close();
    await api.close();
    await controllerStore.close();
  }
});

test('a restart resyncs without duplicate work, and catches up with what changed while it was down', async () => {
  const { kc, namespace, api, controllerStore } = await setup();
  const first = new TriggersApi(kc, namespace);
  let controller = await startTriggerController({ registry: controllerStore, triggers: first });
  try {
    for (const n of ['a', 'b', 'c']) await api.createApplication(app(n, `http://${n}.example/`));
    await api.createApplication(app('quiet'));
    await waitFor('three Triggers ready', async () => {
      const apps = await Promise.all(['a', 'b', 'c'].map((n) => api.getApplication(n)));
      return apps.every((a) => condition(a)?.status === 'True');
    }, WAIT);
    await controller.idle();
    const before = { ...first.writes, registry: controller.registryWrites };
    await controller.close();

    // A restart with nothing changed: no Trigger and no registry write.
    const second = new TriggersApi(kc, namespace);
    controller = await startTriggerController({ registry: controllerStore, triggers: second });
    await controller.idle();
    console.log(`first run ${JSON.stringify(before)}; restart: trigger writes ${JSON.stringify(second.writes)}, registry writes ${controller.registryWrites}`);
    assert.equal(second.writes, { created: 0, replaced: 0, deleted: 0 });
    assert.equal(controller.registryWrites, 0);
    // A further resync does nothing either (nothing thrashes).
    await controller.resync();
    assert.equal(second.writes, { created: 0, replaced: 0, deleted: 0 });
    assert.equal(controller.registryWrites, 0);
    await controller.close();

    // While it is down: b loses its endpoint, c is deleted (held by the finalizer), a Trigger of c is edited by hand.
    const b = (await api.getApplication('b'))!;
    await api.updateApplication({ metadata: b.metadata, spec: {}, status: b.status });
    await api.deleteApplication('c');
    assert.ok((await api.getApplication('c'))?.metadata.deletionTimestamp, 'c waits for the controller');
    const third = new TriggersApi(kc, namespace);
    const a = (await third.get('app-a'))!;
    await third.replace('app-a', { ...a, spec: { ...a.spec, subscriber: { uri: 'http://tampered.example/' } } });
    third.writes.replaced = 0;

    controller = await startTriggerController({ registry: controllerStore, triggers: third });
    await controller.idle();
    console.log(`after downtime: trigger writes ${JSON.stringify(third.writes)}, registry writes ${controller.registryWrites}`);
    assert.equal(uriOf(await third.get('app-a')), 'http://a.example/');
    assert.is(await third.get('app-b'), undefined);
    assert.is(await third.get('app-c'), undefined);
    assert.is(await api.getApplication('c'), undefined);
    const bNow = await api.getApplication('b');
    assert.not.ok(bNow?.metadata.finalizers?.includes(TRIGGER_FINALIZER), 'b released');
    assert.is(condition(bNow), undefined);
    assert.is((await api.getApplication('quiet'))?.metadata.finalizers, undefined, 'an application without endpoint is left alone');
    assert.equal(third.writes, { created: 0, replaced: 1, deleted: 2 });
    const owned = await third.list(`${MANAGED_BY_LABEL}=${MANAGED_BY}`);
    assert.equal(owned.map((t) => t.metadata.name), ['app-a']);
  } finally {
    await controller.close();
    await api.close();
    await controllerStore.close();
  }
});

test('a Trigger the API server refuses: TriggerReady=False with its reason, written once; the delete still completes', async () => {
  const { kc, namespace, api, controllerStore } = await setup();
  const triggers = new TriggersApi(kc, namespace);
  const controller = await startTriggerController({ registry: controllerStore, triggers });
  try {
    // Registry names may have 64 characters, label values 63: the API server answers 422.
    const long = `x${'y'.repeat(63)}`;
    await api.createApplication(app(long, 'http://long.example/'));
    const refused = await waitFor('TriggerReady=False', async () => {
      const c = condition(await api.getApplication(long));
      return c?.status === 'False' && c;
    }, WAIT);
    console.log(`refused: ${refused.reason} ${refused.message?.slice(0, 140)}`);
    assert.is(refused.reason, 'TriggerRejected');
    assert.match(refused.message ?? '', /^422: Trigger\.eventing\.knative\.dev "app-x+y+" is invalid: metadata\.labels: Invalid value/);
    await controller.idle();
    const writes = controller.registryWrites;
    await controller.resync();
    assert.is(controller.registryWrites, writes, 'the same refusal is not written again');
    // Its delete is not held up by the finalizer: there is no Trigger to remove.
    await api.deleteApplication(long);
    await waitFor('the refused application gone', async () => (await api.getApplication(long)) === undefined, WAIT);
  } finally {
    await controller.close();
    await api.close();
    await controllerStore.close();
  }
});

test('with only the RBAC of deploy/controller.yaml (its service account\'s token), the controller does all of its work', async () => {
  const { kc, namespace, api, controllerStore } = await setup();
  const kubeconfig = await ensureKube();
  await kubectl(kubeconfig, ['apply', '-n', namespace, '-f', join(fileURLToPath(new URL('../../../deploy/', import.meta.url)), 'controller.yaml')]);
  const token = (await kubectl(kubeconfig, ['create', 'token', 'mooring-controller', '-n', namespace])).trim();
  const cluster = kc.getCurrentCluster()!;
  const asController = new KubeConfig();
  asController.loadFromOptions({
    clusters: [cluster], users: [{ name: 'controller', token }],
    contexts: [{ name: 'controller', cluster: cluster.name, user: 'controller', namespace }], currentContext: 'controller',
  });
  const triggers = new TriggersApi(asController, namespace);
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (o: object | string, m?: string) => { warnings.push(`${m ?? ''} ${JSON.stringify(o)}`); } };
  const controller = await startTriggerController({ registry: controllerStore, triggers, logger });
  try {
    await api.createApplication(app('rbac', 'http://rbac.example/'));
    await waitFor('Trigger app-rbac', () => triggers.get('app-rbac'), WAIT);
    const a = await waitFor('TriggerReady', async () => { const x = await api.getApplication('rbac'); return condition(x)?.status === 'True' && x; }, WAIT);
    await api.updateApplication({ metadata: a.metadata, spec: { knative: { endpoint: { url: 'http://rbac.example/v2' } } }, status: a.status });
    await waitFor('the new subscriber', async () => uriOf(await triggers.get('app-rbac')) === 'http://rbac.example/v2', WAIT);
    await api.deleteApplication('rbac');
    await waitFor('the application gone', async () => (await api.getApplication('rbac')) === undefined, WAIT);
    await controller.idle();
    console.log(`as the service account: trigger writes ${JSON.stringify(triggers.writes)}, failures ${controller.failures}, registry races ${controller.conflicts}`);
    assert.equal(triggers.writes, { created: 1, replaced: 1, deleted: 1 });
    assert.is(controller.failures, 0, warnings.join('\n'));
    // And nothing beyond its namespace.
    const elsewhere = new TriggersApi(asController, 'default');
    const refused = await elsewhere.list(`${MANAGED_BY_LABEL}=${MANAGED_BY}`).then(() => 0, (e: unknown) => (e as { code?: number }).code);
    assert.is(refused, 403);
  } finally {
    await controller.close();
    await api.close();
    await controllerStore.close();
  }
});

test.run();
