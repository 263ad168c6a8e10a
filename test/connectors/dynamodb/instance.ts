// One Mooring registry instance in a child process, for the two-instance test
// (test/e2e/registry-two-instances.test.ts): a BackendRegistryStore over DynamoDB and the authz
// function's authenticate with that store as its RegistryReader, behind a decision cache emptied
// on every registry change (as the connectors cache their decisions). Commands arrive as JSON
// lines on stdin; each answer is a JSON line `{"id", "ok", "result" | "error"}` on stdout.
//   node tsx instance.ts <endpoint> <tablePrefix> <instanceId>
// Imported rather than run (a test runner loading every file of this directory), it does nothing.

import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DynamoRegistryBackend } from '../../../connectors/dynamodb/index.ts';
import { BackendRegistryStore } from '../../../connectors/registry/store.ts';
import { authenticate, type AuthenticateOutcome } from '../../../functions/authz/index.ts';
import { systemClock } from '../../../functions/ports/runtime.ts';
import type { Device } from '../../../functions/ports/registry.ts';

type Command =
  | { id: number; op: 'createApplication'; name: string }
  | { id: number; op: 'createDevice'; application: string; name: string; password: string }
  | { id: number; op: 'setPassword'; application: string; name: string; password: string }
  | { id: number; op: 'authenticate'; username: string; password: string }
  | { id: number; op: 'stats' }
  | { id: number; op: 'close' };

const out = (msg: unknown) => process.stdout.write(`${JSON.stringify(msg)}\n`);

async function main(endpoint: string, tablePrefix: string, instanceId: string): Promise<void> {
  const backend = await DynamoRegistryBackend.open({ endpoint, tablePrefix, instanceId });
  const store = new BackendRegistryStore(backend);
  const decisions = new Map<string, AuthenticateOutcome>();
  let changes = 0;
  let cacheHits = 0;
  backend.onChanges((c) => {
    changes++;
    decisions.clear();
    out({ event: 'changes', origins: c.map((x) => x.origin), paths: c.map((x) => x.path) });
  });

  const run = async (cmd: Command): Promise<unknown> => {
    switch (cmd.op) {
      case 'createApplication':
        return (await store.createApplication({ metadata: { name: cmd.name } })).metadata.name;
      case 'createDevice':
        return (await store.createDevice({
          metadata: { name: cmd.name, application: cmd.application },
          spec: { authentication: { credentials: [{ pass: cmd.password }] } },
        })).metadata.name;
      case 'setPassword': {
        const current = await store.getDevice(cmd.application, cmd.name);
        if (!current) throw new Error('no such device');
        const spec: Device['spec'] = { ...current.spec, authentication: { credentials: [{ pass: cmd.password }] } };
        return (await store.updateDevice({ metadata: { name: cmd.name, application: cmd.application }, spec })).metadata.generation;
      }
      case 'authenticate': {
        const key = `${cmd.username}\0${cmd.password}`;
        let outcome = decisions.get(key);
        if (outcome) cacheHits++;
        else {
          outcome = await authenticate({ username: cmd.username, password: cmd.password }, store, systemClock);
          decisions.set(key, outcome);
        }
        return outcome.ok ? 'ok' : outcome.reason;
      }
      case 'stats':
        return { changes, cacheHits, polls: backend.feedPolls };
      case 'close':
        await store.close();
        setTimeout(() => process.exit(0), 10);
        return 'closed';
    }
  };

  createInterface({ input: process.stdin }).on('line', (line) => {
    const cmd = JSON.parse(line) as Command;
    run(cmd).then(
      (result) => out({ id: cmd.id, ok: true, result }),
      (err: Error & { code?: string }) => out({ id: cmd.id, ok: false, error: err.code ?? err.message }),
    );
  });
  out({ event: 'ready', instanceId });
}

if (process.argv[1] !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  const [endpoint, tablePrefix, instanceId] = process.argv.slice(2);
  main(endpoint!, tablePrefix!, instanceId!).catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
