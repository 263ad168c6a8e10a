// `npm run controller` as a process, as the controller's Deployment runs it: on the DynamoDB
// registry and a real kube-apiserver; an application created through another store (the API's)
// gets its Trigger; /health/readiness answers once the first resync is done; /metrics counts the
// write; SIGTERM stops it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TriggersApi } from '../../connectors/kubernetes/index.ts';
import { BackendRegistryStore } from '../../connectors/registry/index.ts';
import { openBackend, uniquePrefix, ensureDynamo } from '../connectors/dynamodb/helper.ts';
import { waitFor } from '../helpers/http-app.ts';
import { ensureKube, testKubeConfig, uniqueNamespace } from '../helpers/kube.ts';
import { freePort, startChild } from '../helpers/process.ts';

test('the controller process: ready after its resync, reconciles, counts its writes in /metrics, stops on SIGTERM', async () => {
  const kubeconfig = await ensureKube();
  const kc = await testKubeConfig();
  const namespace = await uniqueNamespace(kc, 'proc');
  const prefix = uniquePrefix('ctlproc');
  const api = new BackendRegistryStore(await openBackend(prefix));
  const port = await freePort();
  const child = startChild(process.execPath, ['--import', 'tsx', 'cli/controller.ts'], {
    MOORING_DYNAMODB_ENDPOINT: await ensureDynamo(), MOORING_DYNAMODB_TABLE_PREFIX: prefix, MOORING_KUBECONFIG: kubeconfig,
    MOORING_KUBE_NAMESPACE: namespace, PORT: String(port), MOORING_HOST: '127.0.0.1', MOORING_LOG_LEVEL: 'warn',
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor('readiness 200', async () => (await fetch(`${base}/health/readiness`).then((r) => r.status, () => 0)) === 200, 90_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${child.output()}`); });
    assert.is((await fetch(`${base}/health/liveness`)).status, 200);

    await api.createApplication({ metadata: { name: 'proc-app' }, spec: { knative: { endpoint: { url: 'http://proc.example/' } } } });
    const triggers = new TriggersApi(kc, namespace);
    const trigger = await waitFor('Trigger app-proc-app', () => triggers.get('app-proc-app'), 60_000);
    assert.equal(trigger.spec?.subscriber, { uri: 'http://proc.example/' });

    const scrape = async () => (await (await fetch(`${base}/metrics`)).text());
    const text = await waitFor('the create counted', async () => {
      const t = await scrape();
      return /^mooring_controller_trigger_writes_total\{operation="create"\} 1$/m.test(t) && t;
    }, 30_000);
    const line = (name: string) => text.split('\n').find((l) => l.startsWith(name)) ?? '(missing)';
    console.log(`controller /metrics: ${line('mooring_controller_trigger_writes_total{operation="create"}')}; ${line('mooring_controller_registry_writes_total')}; ${line('mooring_controller_reconcile_failures_total')}`);
    assert.match(text, /^mooring_controller_trigger_writes_total\{operation="replace"\} 0$/m);
    assert.match(text, /^mooring_controller_reconcile_failures_total 0$/m);
    assert.is(await child.stop('SIGTERM'), 0);
  } finally {
    await child.stop('SIGKILL');
    await api.close();
  }
});

test.run();
