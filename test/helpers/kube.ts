// A real kube-apiserver (on etcd) for the tests, with the Knative CRDs of ../shared/crds applied.
// The suite's runner (scripts/test.sh) starts one and sets MOORING_TEST_KUBECONFIG; a test file
// run alone provisions (the first time on a machine this builds kube-apiserver: minutes) and starts
// its own through scripts/kube/kube.sh, killed at exit. Each test works in a namespace of its own.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { killAtExit, runServerScript } from './local-server.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(ROOT, 'scripts/kube/kube.sh');
const RUN_DIR = join(process.env.MOORING_KUBE_HOME ?? join(ROOT, '.cache/kube'), 'run');
/** CI checks the shared material out beside the clone (as test/knative/manifests.test.ts expects). */
export const CRD_DIR = resolve(ROOT, '../shared/crds');

const kubeSh = (args: string[], timeoutMs: number): Promise<string> => runServerScript(SCRIPT, ROOT, args, timeoutMs);

/** Runs kubectl against `kubeconfig`; resolves with stdout, rejects with stderr. */
export function kubectl(kubeconfig: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

let shared: Promise<string> | undefined;

/** The kubeconfig of the test apiserver, the Knative CRDs established. */
export function ensureKube(): Promise<string> {
  shared ??= (async () => {
    let kubeconfig = process.env.MOORING_TEST_KUBECONFIG?.trim();
    if (!kubeconfig) {
      const id = `test-${process.pid}`;
      await kubeSh(['provision'], 3_600_000);
      kubeconfig = await kubeSh(['start', id], 300_000);
      killAtExit(RUN_DIR, id);
    }
    await kubectl(kubeconfig, ['apply', '-f', CRD_DIR]);
    await kubectl(kubeconfig, ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=120s'], 150_000);
    return kubeconfig;
  })();
  return shared;
}

/** A KubeConfig for the test apiserver. */
export async function testKubeConfig(): Promise<KubeConfig> {
  const kc = new KubeConfig();
  kc.loadFromFile(await ensureKube());
  return kc;
}

/** Creates a namespace no other test uses; returns its name. */
export async function uniqueNamespace(kc: KubeConfig, prefix = 't'): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}
