// The Knative Triggers of one namespace through the Kubernetes API (@kubernetes/client-node):
// read, list by label, create, replace, delete, each write counted (the controller's tests count
// them to prove it does no work when nothing changed). A 404 on read or delete is an absent
// Trigger, not an error.

import { ApiException, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import type { Manifest } from '../knative/triggers.ts';

const GROUP = 'eventing.knative.dev';
const VERSION = 'v1';
const PLURAL = 'triggers';

/** A Trigger as the API server returns it. */
export interface TriggerObject extends Manifest {
  metadata: NonNullable<Manifest['metadata']> & { name: string; resourceVersion?: string; uid?: string };
}

export interface WriteCounts { created: number; replaced: number; deleted: number }

/** A KubeConfig from a kubeconfig file, else the pod's service account (in the cluster). */
export function loadKubeConfig(kubeconfigPath: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromCluster();
  return kc;
}

/** The HTTP status of a failed API call, if it was one. */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** What the API server said: the `message` of its Status body, else the error's message. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown };
      if (typeof status?.message === 'string') return status.message;
    } catch { /* not JSON */ }
  }
  return err instanceof Error ? err.message : String(err);
}

export class TriggersApi {
  readonly namespace: string;
  readonly writes: WriteCounts = { created: 0, replaced: 0, deleted: 0 };
  readonly #api: CustomObjectsApi;
  readonly #kc: KubeConfig;

  constructor(kc: KubeConfig, namespace: string) {
    this.namespace = namespace;
    this.#kc = kc;
    this.#api = kc.makeApiClient(CustomObjectsApi);
  }

  /**
   * Watches the Triggers matching `labelSelector` from now on: `onChange` for each added, modified
   * or deleted one, `onEnd` when the watch ends (the server closes watches after a while; an error).
   * Returns the stop function.
   */
  async watch(labelSelector: string, onChange: (trigger: TriggerObject) => void, onEnd: (err: unknown) => void): Promise<() => void> {
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(this.namespace)}/${PLURAL}`;
    const controller = await new Watch(this.#kc).watch(path, { labelSelector, allowWatchBookmarks: false },
      (_phase, obj) => { if (obj && typeof obj === 'object' && (obj as TriggerObject).metadata) onChange(obj as TriggerObject); },
      onEnd);
    return () => controller.abort();
  }

  #where() { return { group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL }; }

  async get(name: string): Promise<TriggerObject | undefined> {
    try {
      return await this.#api.getNamespacedCustomObject({ ...this.#where(), name }) as TriggerObject;
    } catch (err) {
      if (apiStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async list(labelSelector: string): Promise<TriggerObject[]> {
    const list = await this.#api.listNamespacedCustomObject({ ...this.#where(), labelSelector }) as { items?: TriggerObject[] };
    return list.items ?? [];
  }

  async create(body: Manifest): Promise<TriggerObject> {
    const created = await this.#api.createNamespacedCustomObject({ ...this.#where(), body }) as TriggerObject;
    this.writes.created++;
    return created;
  }

  /** Replaces the Trigger; `body.metadata.resourceVersion` makes it conditional (409 when it moved). */
  async replace(name: string, body: Manifest): Promise<TriggerObject> {
    const replaced = await this.#api.replaceNamespacedCustomObject({ ...this.#where(), name, body }) as TriggerObject;
    this.writes.replaced++;
    return replaced;
  }

  /** Deletes it; false when it was not there. */
  async delete(name: string): Promise<boolean> {
    try {
      await this.#api.deleteNamespacedCustomObject({ ...this.#where(), name });
      this.writes.deleted++;
      return true;
    } catch (err) {
      if (apiStatus(err) === 404) return false;
      throw err;
    }
  }
}
