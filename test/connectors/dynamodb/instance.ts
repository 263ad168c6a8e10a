// One Mooring registry instance in a child process, for the two-instance test
// (test/e2e/registry-two-instances.test.ts): a BackendRegistryStore over DynamoDB and the authz
// function's authenticate with that store as its RegistryReader, behind a decision cache emptied
// on every registry change (as the connectors cache their decisions). Commands arrive as JSON
// lines on stdin; each answer is a JSON line `{"id", "ok", "result" | "error"}` on stdout.
//   node tsx instance.ts <endpoint> <tablePrefix> <instanceId>

import { createInterface } from 'node:readline';
import { DynamoRegistryBackend } from '../../../connectors/dynamodb/index.ts';
import { BackendRegistryStore } from '../../../connectors/registry/store.ts';
import { authenticate } from '../../../functions/authz/index.ts';
import type { AuthenticateOutcome } from '../../../functions/authz/index.ts';
import { systemClock } from '../../../functions/ports/runtime.ts';
import type { Device } from '../../../functions/ports/registry.ts';

const [endpoint, tablePrefix, instanceId] = process.argv.slice(2);
const backend = await DynamoRegistryBackend.open({ endpoint: endpoint!, tablePrefix: tablePrefix!, instanceId: instanceId! });
const store = new BackendRegistryStore(backend);
const decisions = new Map<string, AuthenticateOutcome>();
let changes = 0;
let cacheHits = 0;
backend.onChanges((c) => {
  changes++;
  decisions.clear();
  process.stdout.write(`${JSON.stringify({ event: 'changes', origins: c.map((x) => x.origin), paths: c.map((x) => x.path) })}\n`);
});

type Command =
  | { id: number; op: 'createApplication'; name: string }
  | { id: number; op: 'createDevice'; application: string; name: string; password: string }
  | { id: number; op: 'setPassword'; application: string; name: string; password: string }
  | { id: number; op: 'authenticate'; username: string; password: string }
  | { id: number; op: 'stats' }
  | { id: number; op: 'close' };

async function run(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'createApplication':
      return (await store.createApplication({ metadata: { name: cmd.name } })).metadata.name;
    case 'createDevice':
      return (await store.createDevice({ metadata: { name: cmd.name, application: cmd.application }, spec: { authentication: { credentials: [{ pass: cmd.password }] } } })).metadata.name;
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
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = JSON.parse(line) as Command;
  run(cmd).then(
    (result) => process.stdout.write(`${JSON.stringify({ id: cmd.id, ok: true, result })}\n`),
    (err: Error & { code?: string }) => process.stdout.write(`${JSON.stringify({ id: cmd.id, ok: false, error: err.code ?? err.message })}\n`),
  );
});
process.stdout.write(`${JSON.stringify({ event: 'ready', instanceId })}\n`);
