// The controller of the cluster mode: turns the registry's applications into their push Triggers
// (knative/templates/app-trigger.yaml, rendered by connectors/knative/triggers.ts as the embedded
// broker renders it) in one namespace. It watches the registry's changes (the store's change
// notifications: local writes, and on DynamoDB other instances' writes through the stream) and
// reconciles each changed application, one at a time, failed ones again with a backoff; it
// watches its Triggers too, so one edited or deleted by hand is put back at once; a resync
// of every application and every owned Trigger runs at start (after a restart) and every
// `resyncMs`. Like Drogue's topic operator it puts a finalizer on the application, so deleting
// the application removes its Trigger first, and writes a condition (`TriggerReady`, as Drogue's
// `KafkaReady`) into `status.conditions`. Nothing is written when the Trigger, the finalizer and
// the condition already are what they should be.

import { isMooringError } from '../../events/errors.ts';
import type { Application, RegistryStore } from '../../functions/ports/registry.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';
import { renderAppTriggerManifest, type Manifest } from '../knative/triggers.ts';
import { pushEndpointOf, triggerTimeoutOf, type PushEndpoint } from '../push-sink/index.ts';
import { apiMessage, apiStatus, type TriggerObject, type TriggersApi } from './triggers-api.ts';

/** The finalizer the controller holds on an application with a Trigger (Drogue's operators: `kafka-topic`). */
export const TRIGGER_FINALIZER = 'knative-trigger';
export const TRIGGER_READY = 'TriggerReady';
export const APPLICATION_LABEL = 'mooring.io/application';
export const APPLICATION_UID_LABEL = 'mooring.io/application-uid';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'mooring-controller';
/** Kubernetes label values: at most 63 characters (registry names may have 64). */
const LABEL_VALUE = /^(?=.{0,63}$)(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface ControllerOptions {
  registry: RegistryStore;
  triggers: TriggersApi;
  logger?: Logger;
  /** Full resync period (ms); 0: only at start. */
  resyncMs?: number;
  /** The app-trigger template (default knative/templates/app-trigger.yaml). */
  template?: string;
  now?: () => Date;
}

export interface TriggerController {
  /** Registry writes the controller made (finalizers, status). */
  readonly registryWrites: number;
  /** Reconciles that failed (and were queued again with a backoff). */
  readonly failures: number;
  /** Registry writes that lost a race with another writer (redone at once on the fresh record). */
  readonly conflicts: number;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
  /** Reconciles every application and every owned Trigger now. */
  resync(): Promise<void>;
  close(): Promise<void>;
}

/** Is `want` contained in `have`: every field of `want` equal in `have` (the server may add defaults). */
export function containedIn(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => containedIn(w, have[i]));
  }
  if (want !== null && typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want).every(([k, v]) => containedIn(v, (have as Record<string, unknown>)[k]));
  }
  return want === have;
}

const sameCondition = (a: Condition | undefined, b: Condition) =>
  a !== undefined && a.status === b.status && a.reason === b.reason && a.message === b.message;

/** `status.conditions` with `next` set (its transition time kept when the status did not change), or undefined when nothing changes. */
export function withCondition(status: Application['status'], next: Condition | undefined, type: string): Condition[] | undefined {
  const conditions = Array.isArray(status?.conditions) ? (status.conditions as Condition[]) : [];
  const cur = conditions.find((c) => c?.type === type);
  if (next === undefined) return cur ? conditions.filter((c) => c !== cur) : undefined;
  if (sameCondition(cur, next)) return undefined;
  const merged = { ...next, lastTransitionTime: cur?.status === next.status ? cur.lastTransitionTime ?? next.lastTransitionTime : next.lastTransitionTime };
  return cur ? conditions.map((c) => (c === cur ? merged : c)) : [...conditions, merged];
}

const errorMessage = (err: unknown) => apiMessage(err).slice(0, 300);

export async function startTriggerController(o: ControllerOptions): Promise<TriggerController> {
  const { registry, triggers } = o;
  const logger = o.logger ?? silentLogger;
  const now = o.now ?? (() => new Date());
  const pending = new Set<string>();
  const retries = new Map<string, { attempts: number; timer?: NodeJS.Timeout }>();
  let registryWrites = 0;
  let failures = 0;
  let conflicts = 0;
  let running: Promise<void> | undefined;
  let closed = false;
  const idleWaiters: Array<() => void> = [];

  /** The application's Triggers; none when its name cannot be a label value (then no Trigger of it was ever accepted). */
  const ownedTriggers = async (app: string): Promise<TriggerObject[]> =>
    (LABEL_VALUE.test(app) ? triggers.list(`${MANAGED_BY_LABEL}=${MANAGED_BY},${APPLICATION_LABEL}=${app}`) : []);

  async function desiredTrigger(app: Application, endpoint: PushEndpoint): Promise<Manifest> {
    const manifest = await renderAppTriggerManifest({ app: app.metadata.name, endpoint: endpoint.url, timeout: triggerTimeoutOf(endpoint) }, o.template);
    const metadata = manifest.metadata ?? {};
    return {
      ...manifest,
      metadata: {
        ...metadata,
        namespace: triggers.namespace,
        labels: { ...metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY, [APPLICATION_UID_LABEL]: app.metadata.uid ?? '' },
      },
    };
  }

  /** Creates or replaces the Trigger unless the one there already is it; deletes other owned Triggers of the application. */
  async function applyTrigger(app: Application, want: Manifest): Promise<void> {
    const name = want.metadata?.name ?? '';
    const have = await triggers.get(name);
    if (!have) await triggers.create(want);
    else if (!containedIn(want.spec, have.spec) || !containedIn(want.metadata?.labels, have.metadata.labels)
      || !containedIn(want.metadata?.annotations ?? {}, have.metadata.annotations ?? {})) {
      const body: TriggerObject = { ...want, metadata: { ...want.metadata, name, resourceVersion: have.metadata.resourceVersion } };
      await triggers.replace(name, body);
    }
    for (const t of await ownedTriggers(app.metadata.name)) if (t.metadata.name !== name) await triggers.delete(t.metadata.name);
  }

  async function deleteTriggers(app: string): Promise<void> {
    for (const t of await ownedTriggers(app)) await triggers.delete(t.metadata.name);
  }

  /** Writes the finalizer and the condition when they differ from the application's (a lost race throws MOORING_CONFLICT: reconciled again). */
  async function updateApplication(app: Application, finalizer: boolean, condition: Condition | undefined): Promise<void> {
    const has = app.metadata.finalizers?.includes(TRIGGER_FINALIZER) ?? false;
    const conditions = withCondition(app.status, condition, TRIGGER_READY);
    if (has === finalizer && conditions === undefined) return;
    const finalizers = finalizer
      ? [...(app.metadata.finalizers ?? []), ...(has ? [] : [TRIGGER_FINALIZER])]
      : (app.metadata.finalizers ?? []).filter((f) => f !== TRIGGER_FINALIZER);
    const metadata = { ...app.metadata, finalizers };
    const status = conditions === undefined ? app.status : { ...app.status, conditions };
    registryWrites++;
    await registry.updateApplication({ metadata, spec: app.spec, ...(status ? { status } : {}) });
  }

  async function reconcile(name: string): Promise<void> {
    const app = await registry.getApplication(name);
    if (!app) return deleteTriggers(name);
    const endpoint = pushEndpointOf(app);
    if (!endpoint) {
      await deleteTriggers(name);
      // Being deleted: releasing the finalizer lets the registry remove it. Otherwise: no Trigger, no condition.
      return updateApplication(app, false, undefined);
    }
    // The finalizer first, so that a delete from now on waits for the Trigger's removal.
    if (!app.metadata.finalizers?.includes(TRIGGER_FINALIZER)) return updateApplication(app, true, undefined).then(() => reconcile(name));
    const at = now().toISOString().replace(/\.\d+Z$/, 'Z');
    let condition: Condition = { type: TRIGGER_READY, status: 'True', lastTransitionTime: at, reason: 'TriggerApplied' };
    try {
      await applyTrigger(app, await desiredTrigger(app, endpoint));
    } catch (err) {
      const status = apiStatus(err);
      // The API server refused the Trigger itself (invalid, forbidden): say so; anything else is retried.
      if (status === undefined || status === 409 || status === 429 || status >= 500) throw err;
      condition = { type: TRIGGER_READY, status: 'False', lastTransitionTime: at, reason: 'TriggerRejected', message: `${status}: ${errorMessage(err)}` };
    }
    await updateApplication(app, true, condition);
  }

  function settleIdle(): void {
    if (running || pending.size > 0) return;
    for (const w of idleWaiters.splice(0)) w();
  }

  function enqueue(name: string): void {
    if (closed) return;
    pending.add(name);
    if (!running) running = work().finally(() => { running = undefined; settleIdle(); });
  }

  async function work(): Promise<void> {
    while (pending.size > 0 && !closed) {
      const name = pending.values().next().value as string;
      pending.delete(name);
      try {
        await reconcile(name);
        const r = retries.get(name);
        if (r) { clearTimeout(r.timer); retries.delete(name); }
      } catch (err) {
        // A write that lost a race with another writer is redone at once on the fresh record.
        if (isMooringError(err, 'MOORING_CONFLICT')) { conflicts++; pending.add(name); continue; }
        failures++;
        const r = retries.get(name) ?? { attempts: 0 };
        r.attempts++;
        const delay = Math.min(30_000, 250 * 2 ** Math.min(r.attempts, 7));
        logger.warn({ application: name, err: errorMessage(err), retryInMs: delay }, 'trigger reconcile failed');
        clearTimeout(r.timer);
        r.timer = setTimeout(() => enqueue(name), delay);
        r.timer.unref();
        retries.set(name, r);
      }
    }
  }

  async function resync(): Promise<void> {
    const names = new Set((await registry.listApplications()).map((a) => a.metadata.name));
    for (const t of await triggers.list(`${MANAGED_BY_LABEL}=${MANAGED_BY}`)) {
      const app = t.metadata.labels?.[APPLICATION_LABEL];
      if (app) names.add(app);
    }
    for (const name of names) enqueue(name);
    await idle();
  }

  function idle(): Promise<void> {
    if (!running && pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  const unsubscribe = registry.onChanges((changes) => {
    for (const c of changes) if (c.kind === 'application') enqueue(c.application);
  });
  // Owned Triggers changed by someone else (edited, deleted by hand) are reconciled at once; the
  // watch is opened again (after a pause) whenever it ends, followed by a resync for what it missed.
  let stopWatch: (() => void) | undefined;
  const watch = (): void => {
    if (closed) return;
    triggers.watch(`${MANAGED_BY_LABEL}=${MANAGED_BY}`, (t) => {
      const app = t.metadata.labels?.[APPLICATION_LABEL];
      if (app) enqueue(app);
    }, (err) => {
      stopWatch = undefined;
      if (closed) return;
      if (err) logger.warn({ err: errorMessage(err) }, 'trigger watch ended');
      const again = setTimeout(() => { watch(); resync().catch(() => undefined); }, err ? 2_000 : 100);
      again.unref();
    }).then((stop) => { if (closed) stop(); else stopWatch = stop; }, (err: unknown) => {
      logger.warn({ err: errorMessage(err) }, 'trigger watch failed');
      const again = setTimeout(() => { watch(); resync().catch(() => undefined); }, 5_000);
      again.unref();
    });
  };
  watch();
  const timer = o.resyncMs ? setInterval(() => { resync().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'resync failed')); }, o.resyncMs) : undefined;
  timer?.unref();
  await resync();

  return {
    get registryWrites() { return registryWrites; },
    get failures() { return failures; },
    get conflicts() { return conflicts; },
    idle,
    resync,
    async close() {
      closed = true;
      unsubscribe();
      stopWatch?.();
      if (timer) clearInterval(timer);
      for (const r of retries.values()) clearTimeout(r.timer);
      pending.clear();
      await running;
    },
  };
}

export type { TriggerObject };
