// Reads the Triggers in knative/ (the one routing truth) for the embedded broker, and renders the
// per-application push Trigger from knative/templates/app-trigger.yaml. A Trigger without its own
// delivery settings inherits its Broker's field by field, as the Knative Kafka Broker merges them.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { DeliverySpec, Destination, SubscriptionsFilter, TriggerSpec } from '../../functions/ports/bus.ts';

/** The repository's knative/ folder. */
export const KNATIVE_DIR = fileURLToPath(new URL('../../knative/', import.meta.url));
export const APP_TRIGGER_TEMPLATE = path.join(KNATIVE_DIR, 'templates', 'app-trigger.yaml');

/** A Kubernetes document as read from YAML. */
export interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [other: string]: unknown;
}

export interface LoadOptions {
  /** Namespace for documents without one (default `default`). */
  namespace?: string;
}

/** Every document of every `*.yaml` file directly in `dir` (templates/ is not read), with its origin. */
export async function readManifests(dir: string = KNATIVE_DIR): Promise<Array<{ file: string; index: number; doc: Manifest }>> {
  const files = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(dir, e.name))
    .sort();
  const out: Array<{ file: string; index: number; doc: Manifest }> = [];
  for (const file of files) {
    parseManifests(await readFile(file, 'utf8'), file).forEach((doc, index) => out.push({ file, index, doc }));
  }
  return out;
}

/** The documents of a multi-document YAML text; throws naming `origin` on a syntax error. */
export function parseManifests(text: string, origin: string): Manifest[] {
  const docs: Manifest[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    if (d.errors.length > 0) throw new Error(`${origin}, document ${i + 1}: ${d.errors[0]?.message}`);
    const value: unknown = d.toJS();
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${origin}, document ${i + 1}: not a mapping`);
    docs.push(value as Manifest);
  });
  return docs;
}

/** The Triggers of `dir` as TriggerSpecs, Broker delivery defaults applied. */
export async function loadTriggers(dir: string = KNATIVE_DIR, options: LoadOptions = {}): Promise<TriggerSpec[]> {
  const manifests = await readManifests(dir);
  const brokers = brokerDeliveries(manifests.map((m) => m.doc), options);
  return manifests
    .filter((m) => m.doc.kind === 'Trigger')
    .map((m) => withBrokerDelivery(toTriggerSpec(m.doc, `${path.basename(m.file)} document ${m.index + 1}`, options), brokers));
}

/** Broker `namespace/name` → its spec.delivery. */
export function brokerDeliveries(docs: Manifest[], options: LoadOptions = {}): Map<string, DeliverySpec> {
  const out = new Map<string, DeliverySpec>();
  for (const doc of docs) {
    if (doc.kind !== 'Broker' || !doc.metadata?.name) continue;
    const delivery = doc.spec?.delivery;
    if (delivery && typeof delivery === 'object') {
      out.set(`${doc.metadata.namespace ?? options.namespace ?? 'default'}/${doc.metadata.name}`, delivery as DeliverySpec);
    }
  }
  return out;
}

/** Knative Kafka Broker: each delivery field the Trigger leaves out comes from its Broker. */
export function withBrokerDelivery(trigger: TriggerSpec, brokers: Map<string, DeliverySpec>): TriggerSpec {
  const defaults = brokers.get(`${trigger.namespace}/${trigger.broker}`);
  if (!defaults) return trigger;
  return { ...trigger, delivery: { ...defaults, ...trigger.delivery } };
}

/** A Trigger document as a TriggerSpec; throws naming `origin` and the field on a bad document. */
export function toTriggerSpec(doc: Manifest, origin: string, options: LoadOptions = {}): TriggerSpec {
  const fail = (what: string): never => { throw new Error(`${origin}: Trigger ${doc.metadata?.name ?? '(no name)'}: ${what}`); };
  if (doc.kind !== 'Trigger') fail(`kind is ${String(doc.kind)}, not Trigger`);
  const name = doc.metadata?.name;
  if (typeof name !== 'string' || name === '') return fail('metadata.name is missing');
  const spec = doc.spec ?? fail('spec is missing');
  const broker = spec.broker;
  if (typeof broker !== 'string' || broker === '') return fail('spec.broker is missing');
  const subscriber = spec.subscriber as Destination | undefined;
  if (!subscriber || typeof subscriber !== 'object' || (!subscriber.ref && !subscriber.uri)) return fail('spec.subscriber needs a ref or a uri');
  const trigger: TriggerSpec = {
    name,
    namespace: doc.metadata?.namespace ?? options.namespace ?? 'default',
    broker,
    subscriber,
  };
  const filter = spec.filter as TriggerSpec['filter'] | undefined;
  if (filter !== undefined) {
    const attrs = filter?.attributes;
    if (attrs !== undefined && (typeof attrs !== 'object' || attrs === null || Object.values(attrs).some((v) => typeof v !== 'string'))) {
      fail('spec.filter.attributes must map attribute names to strings');
    }
    trigger.filter = filter;
  }
  if (spec.filters !== undefined) {
    if (!Array.isArray(spec.filters)) fail('spec.filters must be a list');
    trigger.filters = spec.filters as SubscriptionsFilter[];
  }
  if (spec.delivery !== undefined) trigger.delivery = spec.delivery as DeliverySpec;
  return trigger;
}

export interface AppTriggerValues {
  /** The application name ({{app}}). */
  app: string;
  /** Its push endpoint URL ({{endpoint}}). */
  endpoint: string;
  /**
   * The endpoint's own timeout (`spec.knative.endpoint.timeout`) as an ISO 8601 duration: it
   * replaces the template's per-attempt `delivery.timeout`, so the cluster's Knative waits as long
   * as the embedded push sink does.
   */
  timeout?: string | undefined;
}

const PLACEHOLDER = /\{\{\s*([a-z]+)\s*\}\}/g;

/**
 * The template's documents with every `{{name}}` replaced in string values (keys too). Values are
 * substituted after parsing, so no value can inject YAML structure. Throws on an unknown placeholder.
 */
export function renderTemplate(text: string, values: Readonly<Record<string, string>>, origin = 'template'): Manifest[] {
  const substitute = (s: string): string => s.replace(PLACEHOLDER, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`${origin}: no value for {{${key}}}`);
    return v;
  });
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return substitute(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [substitute(k), walk(x)]));
    }
    return v;
  };
  return parseManifests(text, origin).map((d) => walk(d) as Manifest);
}

/** The push Trigger manifest of one application (what connectors/kubernetes applies). */
export async function renderAppTriggerManifest(values: AppTriggerValues, template: string = APP_TRIGGER_TEMPLATE): Promise<Manifest> {
  const docs = renderTemplate(await readFile(template, 'utf8'), { app: values.app, endpoint: values.endpoint }, template);
  const trigger = docs.find((d) => d.kind === 'Trigger');
  if (!trigger) throw new Error(`${template}: no Trigger document`);
  if (values.timeout !== undefined) {
    const spec = trigger.spec ?? {};
    trigger.spec = { ...spec, delivery: { ...(spec.delivery as Record<string, unknown> | undefined), timeout: values.timeout } };
  }
  return trigger;
}

/** The push Trigger of one application as the embedded broker runs it. */
export async function renderAppTrigger(
  values: AppTriggerValues,
  options: LoadOptions & { template?: string; brokers?: Map<string, DeliverySpec> } = {},
): Promise<TriggerSpec> {
  const manifest = await renderAppTriggerManifest(values, options.template);
  const spec = toTriggerSpec(manifest, options.template ?? APP_TRIGGER_TEMPLATE, options);
  return options.brokers ? withBrokerDelivery(spec, options.brokers) : spec;
}
