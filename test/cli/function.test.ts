// The functions entry point (the image started as `function`): one program serves any function,
// chosen by MOORING_FUNCTION, on PORT, under the Knative Serving contract (binary CloudEvent in,
// reply out, health, drain).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { publishEvent } from '../../events/constructors.ts';
import { encodeHttpBinary } from '../../events/bindings/http.ts';
import { freePort, startChild, type Child } from '../helpers/process.ts';

let dir: string;
let child: Child | undefined;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mooring-fn-'));
  writeFileSync(join(dir, 'registry.yaml'),
    'kind: Application\nmetadata:\n  name: app1\nspec: {}\n---\nkind: Device\nmetadata:\n  name: dev1\n  application: app1\nspec: {}\n');
});
test.after(async () => {
  await child?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('MOORING_FUNCTION=normalize serves normalize: a raw publish in, Drogue\'s device event out', async () => {
  const port = await freePort();
  // As the image runs it: node itself, so SIGTERM reaches the server (no npm in between).
  child = startChild(process.execPath, ['--import', 'tsx', 'cli/function.ts'], {
    MOORING_FUNCTION: 'normalize', PORT: String(port), MOORING_REGISTRY: join(dir, 'registry.yaml'), MOORING_LOG_LEVEL: 'warn',
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${base}/health/readiness`).then((r) => r.status, () => 0);
    if (ready === 200) break;
    if (Date.now() > deadline) throw new Error(`not ready:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const { headers, body } = encodeHttpBinary(publishEvent({
    id: randomUUID(), time: new Date().toISOString(), application: 'app1', sender: 'dev1', topic: 'temp',
    payload: Buffer.from('21'), qos: 0,
  }));
  const res = await fetch(base, { method: 'POST', headers, body: Buffer.from(body) });
  assert.is(res.status, 200);
  assert.is(res.headers.get('ce-type'), 'io.drogue.event.v1');
  assert.is(res.headers.get('ce-subject'), 'temp');
  assert.is(res.headers.get('ce-device'), 'dev1');
  assert.is(await res.text(), '21');

  const bad = await fetch(base, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
  assert.is(bad.status, 400, 'not a CloudEvent');

  // /metrics beside the function: the two events above, by outcome, and the process's own series.
  const scrape = await fetch(`${base}/metrics`);
  assert.is(scrape.status, 200);
  const text = await scrape.text();
  const sample = (outcome: string): number => Number(new RegExp(`^mooring_function_events_total\\{function="normalize",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  console.log(`  function metrics: replied=${sample('replied')} invalid=${sample('invalid')} failed=${sample('failed')}`);
  assert.is(sample('replied'), 1);
  assert.is(sample('invalid'), 1);
  assert.is(sample('failed'), 0);
  assert.match(text, /^mooring_process_resident_memory_bytes \d+/m);
  assert.is(await child.stop('SIGTERM'), 0, 'drains and exits 0 on SIGTERM');
});

test.run();
