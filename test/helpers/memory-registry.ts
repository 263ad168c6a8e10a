// An in-memory RegistryReader for tests: a fixed list of Application and Device documents, with
// findDevice by name, alias, or the username of a `unique` user credential (as the port says).
// `set(docs)` replaces the contents and notifies onChange listeners.

import type { Application, Credential, Device, RegistryReader } from '../../functions/ports/registry.ts';

export interface MemoryRegistry extends RegistryReader {
  set(docs: Array<Application | Device>): void;
}

function credentialsOf(device: Device): Credential[] {
  const spec = device.spec as Device['spec'] & { credentials?: Credential[] };
  return spec.authentication?.credentials ?? spec.credentials ?? [];
}

export function memoryRegistry(initial: Array<Application | Device> = []): MemoryRegistry {
  let apps = new Map<string, Application>();
  let devices = new Map<string, Map<string, Device>>();
  const listeners = new Set<() => void>();

  const load = (docs: Array<Application | Device>): void => {
    apps = new Map();
    devices = new Map();
    for (const doc of docs) {
      if (doc.kind === 'Application') apps.set(doc.metadata.name, doc);
      else {
        let m = devices.get(doc.metadata.application);
        if (!m) devices.set(doc.metadata.application, (m = new Map()));
        m.set(doc.metadata.name, doc);
      }
    }
  };
  load(initial);

  return {
    async getApplication(name) { return apps.get(name); },
    async getDevice(application, name) { return devices.get(application)?.get(name); },
    async findDevice(application, nameOrAlias) {
      const m = devices.get(application);
      if (!m) return undefined;
      const byName = m.get(nameOrAlias);
      if (byName) return byName;
      for (const d of m.values()) if (d.spec.alias?.includes(nameOrAlias)) return d;
      for (const d of m.values()) {
        for (const c of credentialsOf(d)) {
          if ('user' in c && c.user.unique === true && c.user.username === nameOrAlias) return d;
        }
      }
      return undefined;
    },
    async listApplications() { return [...apps.values()]; },
    async listDevices(application) { return [...(devices.get(application)?.values() ?? [])]; },
    onChange(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    set(docs) {
      load(docs);
      for (const l of listeners) l();
    },
  };
}

/** Shorthand documents for tests. */
export function app(name: string, spec: Application['spec'] = {}): Application {
  return { kind: 'Application', metadata: { name }, spec };
}

export function device(application: string, name: string, spec: Device['spec'] = {}): Device {
  return { kind: 'Device', metadata: { name, application }, spec };
}
