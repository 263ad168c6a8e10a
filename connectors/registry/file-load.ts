// What a load of the registry file (the first one, or a hand edit) means for the stored records:
// server-set metadata filled in where the file lacks it (uid, creationTimestamp, generation,
// resourceVersion), plain passwords hashed, trust anchor status recomputed, and, against the
// records in force, what changed: a changed resource gets a new resourceVersion (generation +1
// on spec changes) and one change per path; unchanged ones keep their version. Whatever the file
// does not say yet is written back into it (file.ts).

import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Application, ApplicationAccess, Device, MemberRole, RegistryChange } from '../../functions/ports/registry.ts';
import type { StoredApplication, StoredDevice } from './backend.ts';
import { changedPaths, hashCredentials, newVersion, timestamp } from './rules.ts';
import { applicationStatus } from './trust-anchors.ts';
import type { RegistryContent } from './validate.ts';
import { accessForFile, applicationKey, deviceKey, type DocLocation } from './yaml-docs.ts';

export interface Rewrite {
  loc: DocLocation;
  resource: Application | Device;
  access?: ApplicationAccess;
  /** A short-form device whose spec is unchanged: only its metadata is written. */
  keepShort: boolean;
}

export interface Settled {
  applications: StoredApplication[];
  devices: StoredDevice[];
  changes: RegistryChange[];
  rewrites: Rewrite[];
}

const ROLES: readonly MemberRole[] = ['admin', 'manager', 'reader'];
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `access` key of an application document; a default one (keeping the previous version) when absent. */
function readAccess(raw: unknown, prev: ApplicationAccess | undefined): ApplicationAccess {
  if (!isObj(raw)) return { members: {}, resourceVersion: prev && !accessForFile(prev) ? prev.resourceVersion : newVersion() };
  const members: ApplicationAccess['members'] = {};
  if (isObj(raw.members)) {
    for (const [user, m] of Object.entries(raw.members)) {
      const role = isObj(m) ? m.role : undefined;
      if (typeof role === 'string' && (ROLES as readonly string[]).includes(role)) members[user] = { role: role as MemberRole };
    }
  }
  const access: ApplicationAccess = {
    members, resourceVersion: typeof raw.resourceVersion === 'string' ? raw.resourceVersion : prev?.resourceVersion ?? newVersion(),
  };
  if (typeof raw.owner === 'string') access.owner = raw.owner;
  if (typeof raw.transferOwner === 'string') access.transferOwner = raw.transferOwner;
  return access;
}

interface Outcome<T> { resource: T; revision: number; paths: string[]; rewrite: boolean }

/** Server-set metadata and the change against the record in force. */
function settle<T extends Application | Device>(derived: T, fromFile: T, prev: { resource: T; revision: number } | undefined, accessChanged: boolean): Outcome<T> {
  const md = derived.metadata;
  const same = prev !== undefined && (md.uid === undefined || md.uid === prev.resource.metadata.uid);
  md.uid ??= same ? prev.resource.metadata.uid : undefined;
  md.uid ??= randomUUID();
  md.creationTimestamp ??= (same ? prev.resource.metadata.creationTimestamp : undefined) ?? timestamp();
  let paths: string[];
  let revision: number;
  if (same) {
    paths = changedPaths(prev.resource, derived);
    const old = prev.resource.metadata;
    if (paths.length === 0) {
      md.generation = old.generation ?? 0;
      md.resourceVersion = old.resourceVersion ?? newVersion();
      revision = prev.revision + (accessChanged ? 1 : 0);
    } else {
      md.generation = (old.generation ?? 0) + (paths.some((p) => p.startsWith('.spec')) ? 1 : 0);
      md.resourceVersion = newVersion();
      revision = prev.revision + 1;
    }
  } else {
    md.generation ??= 0;
    md.resourceVersion ??= newVersion();
    revision = 0;
    paths = ['.'];
  }
  return { resource: derived, revision, paths, rewrite: !isDeepStrictEqual(derived, fromFile) };
}

/**
 * Settles validated `content` of the documents located by `where` against the records in force
 * (`prev`; none on the first load, which reports no changes).
 */
export async function settleContent(
  content: RegistryContent,
  where: ReadonlyMap<string, DocLocation & { raw: Obj }>,
  prev: { applications: readonly StoredApplication[]; devices: readonly StoredDevice[] } | undefined,
): Promise<Settled> {
  const prevApps = new Map((prev?.applications ?? []).map((a) => [a.resource.metadata.name, a]));
  const prevDevices = new Map((prev?.devices ?? []).map((d) => [deviceKey(d.resource.metadata.application, d.resource.metadata.name), d]));
  const out: Settled = { applications: [], devices: [], changes: [], rewrites: [] };
  const report = (r: Application | Device, revision: number, paths: readonly string[]) => {
    if (!prev) return;
    for (const path of paths) {
      out.changes.push({
        kind: r.kind === 'Application' ? 'application' : 'device', application: r.kind === 'Application' ? r.metadata.name : r.metadata.application!,
        ...(r.kind === 'Device' ? { device: r.metadata.name } : {}), uid: r.metadata.uid!, revision, path, origin: 'local',
      });
    }
  };

  for (const app of content.applications) {
    const name = app.metadata.name;
    const loc = where.get(applicationKey(name))!;
    const before = prevApps.get(name);
    prevApps.delete(name);
    const access = readAccess(loc.raw.access, before?.access);
    const derived: Application = structuredClone(app);
    const status = applicationStatus(derived.spec, derived.status);
    if (status) derived.status = status;
    else delete derived.status;
    const o = settle(derived, app, before, before !== undefined && !isDeepStrictEqual(before.access, access));
    const fileAccess = isObj(loc.raw.access) ? loc.raw.access : undefined;
    const rewrite = o.rewrite || !isDeepStrictEqual(fileAccess, accessForFile(access));
    out.applications.push({ resource: o.resource, access, revision: o.revision });
    report(o.resource, o.revision, o.paths);
    if (rewrite) out.rewrites.push({ loc, resource: o.resource, access, keepShort: false });
  }

  for (const dev of content.devices) {
    const key = deviceKey(dev.metadata.application, dev.metadata.name);
    const loc = where.get(key)!;
    const before = prevDevices.get(key);
    prevDevices.delete(key);
    const derived: Device = structuredClone(dev);
    derived.spec = (await hashCredentials(derived.spec, before?.resource.spec)).spec;
    const o = settle(derived, dev, before, false);
    out.devices.push({ resource: o.resource, revision: o.revision });
    report(o.resource, o.revision, o.paths);
    const keepShort = isDeepStrictEqual(o.resource.spec, dev.spec) && !o.resource.status && !o.resource.metadata.finalizers && !o.resource.metadata.deletionTimestamp;
    if (o.rewrite) out.rewrites.push({ loc, resource: o.resource, keepShort });
  }

  for (const gone of [...prevApps.values(), ...prevDevices.values()]) report(gone.resource, gone.revision + 1, ['.']);
  return out;
}
