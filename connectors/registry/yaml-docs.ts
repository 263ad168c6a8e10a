// The registry file's YAML documents, edited in place: a written resource updates the document
// it came from node by node (unchanged nodes, their comments and their style stay as they are),
// a new resource is appended as a new document, a removed one's document goes. The seed's short
// device form is kept while only its metadata changes; otherwise it becomes the long form.

import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isNode, isScalar, isSeq, type Node, type ParsedNode } from 'yaml';
import type { Application, ApplicationAccess, Device } from '../../functions/ports/registry.ts';

export type Doc = Document<ParsedNode | Node, true> | Document;

/** Where a resource lives: its document, the item when the document is a list, its form. */
export interface DocLocation {
  doc: number;
  item?: number;
  short: boolean;
}

export const applicationKey = (name: string) => `A\u0000${name}`;
export const deviceKey = (application: string, name: string) => `D\u0000${application}\u0000${name}`;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The resources of already validated documents (as validate.ts tells kinds and forms apart), by key. */
export function locate(docs: readonly Doc[]): Map<string, DocLocation & { raw: Obj }> {
  const out = new Map<string, DocLocation & { raw: Obj }>();
  docs.forEach((doc, i) => {
    const js: unknown = doc.toJS();
    const items = Array.isArray(js) ? js : [js];
    items.forEach((raw: unknown, j) => {
      if (!isObj(raw)) return;
      const short = raw.metadata === undefined;
      const md = (short ? raw : raw.metadata) as Obj;
      const kind = raw.kind ?? (short && raw.application !== undefined ? 'Device' : undefined);
      const loc = { doc: i, ...(Array.isArray(js) ? { item: j } : {}), short, raw };
      if (kind === 'Application') out.set(applicationKey(String(md.name)), loc);
      else if (kind === 'Device') out.set(deviceKey(String(md.application), String(md.name)), loc);
    });
  });
  return out;
}

/** Access as the file keeps it (an `access` key beside `metadata`), only when it says something. */
export function accessForFile(access: ApplicationAccess): Obj | undefined {
  if (access.owner === undefined && access.transferOwner === undefined && Object.keys(access.members).length === 0) return undefined;
  return { ...access, members: structuredClone(access.members) };
}

/** The long form of a resource as a plain object, fields in Drogue's order. */
export function longForm(resource: Application | Device, access?: ApplicationAccess): Obj {
  const out: Obj = { kind: resource.kind, metadata: structuredClone(resource.metadata), spec: structuredClone(resource.spec) };
  if (resource.status) out.status = structuredClone(resource.status);
  const a = access && accessForFile(access);
  if (a) out.access = a;
  return out;
}

const SHORT_METADATA = ['uid', 'creationTimestamp', 'generation', 'resourceVersion', 'labels', 'annotations'] as const;

/** Sets `value` at `path`, reusing the nodes that already hold equal content. */
function assign(doc: Doc, path: readonly (string | number)[], value: unknown): void {
  const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (isNode(node) && isDeepStrictEqual(node.toJSON(), value)) return;
  if (isMap(node) && isObj(value)) {
    for (const pair of [...node.items]) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key === 'string' && !Object.hasOwn(value, key)) node.delete(key);
    }
    for (const [k, v] of Object.entries(value)) {
      // An empty mapping is what an absent or empty (`spec:`) value already says.
      const held = node.get(k, true);
      if (isObj(v) && Object.keys(v).length === 0 && (held === undefined || (isScalar(held) && held.value === null))) continue;
      if (v === undefined) node.delete(k);
      else if (node.has(k)) assign(doc, [...path, k], v);
      else node.set(k, doc.createNode(v));
    }
    return;
  }
  if (isSeq(node) && Array.isArray(value) && node.items.length === value.length) {
    value.forEach((v, i) => assign(doc, [...path, i], v));
    return;
  }
  const created = doc.createNode(value);
  if (isNode(node)) {
    // Keep the comments of the node that is replaced.
    created.commentBefore = node.commentBefore;
    created.comment = node.comment;
  }
  if (path.length === 0) doc.contents = created;
  else doc.setIn(path, created);
}

/**
 * Writes `resource` into its document. `keepShort`: the resource's spec and status are what the
 * short form already says, so only its top-level metadata is updated.
 */
export function writeResource(doc: Doc, loc: DocLocation, resource: Application | Device, access: ApplicationAccess | undefined, keepShort: boolean): void {
  const prefix = loc.item === undefined ? [] : [loc.item];
  if (loc.short && keepShort) {
    for (const f of SHORT_METADATA) {
      const v = resource.metadata[f];
      if (v === undefined) doc.deleteIn([...prefix, f]);
      else assign(doc, [...prefix, f], v);
    }
    return;
  }
  const target = longForm(resource, access);
  if (loc.short) {
    const node = prefix.length === 0 ? doc.contents : doc.getIn(prefix, true);
    const created = doc.createNode(target);
    if (isNode(node)) created.commentBefore = node.commentBefore;
    if (prefix.length === 0) doc.contents = created;
    else doc.setIn(prefix, created);
    return;
  }
  assign(doc, prefix, target);
}

/** The file text of `docs`, `---` between documents. */
export function render(docs: readonly Doc[]): string {
  return docs.map((d, i) => {
    const s = d.toString();
    return i === 0 || s.startsWith('---') ? s : `---\n${s}`;
  }).join('');
}

export function newDocument(resource: Application | Device, access?: ApplicationAccess): Doc {
  return new Document(longForm(resource, access));
}

/** Removes the resources at `locs`: list items, then whole documents, from the back. */
export function removeResources(docs: Doc[], locs: readonly DocLocation[]): void {
  const sorted = [...locs].sort((a, b) => b.doc - a.doc || (b.item ?? -1) - (a.item ?? -1));
  for (const loc of sorted) {
    if (loc.item !== undefined) docs[loc.doc]?.deleteIn([loc.item]);
    else docs.splice(loc.doc, 1);
  }
}
