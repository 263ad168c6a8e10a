// docs/asyncapi.yaml cannot drift from the code: the AsyncAPI parser accepts it without an error,
// every example address of a channel is accepted by the code's own topic parser for its form (and
// read the way the document says), every topic form the code accepts has a channel, and the
// servers' ports are cli/config.ts's defaults.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { DiagnosticSeverity, fromFile, Parser } from '@asyncapi/parser';
import { dialectFromString, parseTopic } from '../../functions/normalize/topic.ts';
import { REPLY_PREFIX } from '../../functions/command-dispatch/replies.ts';
import { commandTopic, parseCommandFilter, topicFor, type CommandSubscription } from '../../connectors/mqtt/commands.ts';
import { APP_PREFIXES, parseCommandTopic, parseStreamFilter } from '../../connectors/mqtt-integration/filters.ts';
import { VARIABLES } from '../../cli/config.ts';

const file = fileURLToPath(new URL('../../docs/asyncapi.yaml', import.meta.url));

interface Form { kind: string; dialect?: string; prefixes?: string[]; share?: 'none' | string[]; channel?: boolean }
interface Channel {
  address: string;
  parameters?: Record<string, { examples?: string[] }>;
  'x-mooring-form': Form;
  'x-mooring-filters'?: string[];
  'x-mooring-published-on'?: string;
}
const doc = parseYaml(readFileSync(file, 'utf8')) as { channels: Record<string, Channel>; servers: Record<string, { host: string; 'x-mooring-port-variable': string }> };
const channels = Object.entries(doc.channels);

/** Every address the parameters' examples give: the cartesian product, with the values used. */
function expand(c: Channel, address = c.address): { topic: string; values: Record<string, string> }[] {
  let out = [{ topic: address, values: {} as Record<string, string> }];
  for (const [name, p] of Object.entries(c.parameters ?? {})) {
    if (!address.includes(`{${name}}`)) continue;
    const examples = p.examples ?? [];
    assert.ok(examples.length > 0, `${c.address}: parameter ${name} has no example`);
    out = out.flatMap((o) => examples.map((e) => ({ topic: o.topic.replace(`{${name}}`, e), values: { ...o.values, [name]: e } })));
  }
  return out;
}

/** The address as a pattern: a parameter is one level, several when an example has a `/`, maybe empty when an example is. */
function pattern(c: Channel): RegExp {
  const re = c.address.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{(\w+)\\?\}|\{(\w+)\}/g, (_m, a: string | undefined, b: string | undefined) => {
    const ex = c.parameters?.[(a ?? b)!]?.examples ?? [];
    if (ex.some((e) => e.includes('/'))) return '.+';
    return ex.includes('') ? '[^/]*' : '[^/]+';
  });
  return new RegExp(`^${re}$`);
}

const ofKind = (kind: string) => channels.filter(([, c]) => c['x-mooring-form'].kind === kind);
const opt = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

test('the AsyncAPI parser accepts docs/asyncapi.yaml without an error and resolves the event schemas', async () => {
  const { document, diagnostics } = await fromFile(new Parser(), file).parse();
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  assert.equal(errors.map((d) => `${d.path.join('.')}: ${d.message}`), []);
  assert.ok(document !== undefined);
  assert.equal(document.version(), '3.0.0');
  const event = document.allMessages().all().find((m) => m.id() === 'deviceEvent')!.payload()!.json() as Record<string, unknown>;
  assert.equal((event.properties as Record<string, { const?: string }>).type!.const, 'io.drogue.event.v1');
  // The nested reference (cloudevent.json) is resolved too.
  const base = (event.allOf as { properties?: Record<string, unknown> }[])[0]!;
  assert.ok(base.properties?.specversion !== undefined, 'cloudevent.json not resolved');
  console.log(`asyncapi: ${diagnostics.length} diagnostics, 0 errors, ${document.channels().length} channels, ${document.operations().length} operations, ${document.allMessages().length} messages`);
});

test('every example address of a device publish channel is accepted by parseTopic in its dialect', () => {
  let n = 0;
  for (const [id, c] of ofKind('device-publish')) {
    const dialect = dialectFromString(c['x-mooring-form'].dialect!);
    assert.ok(dialect !== undefined, `${id}: unknown dialect`);
    for (const { topic, values } of expand(c)) {
      const r = parseTopic(topic, dialect);
      assert.ok(r.ok, `${id}: ${topic} refused`);
      if (!r.ok) continue;
      assert.equal(r.device, opt(values.device), `${id}: ${topic} device`);
      assert.equal(r.channel, values.channel ?? values.topic, `${id}: ${topic} channel`);
      n++;
    }
  }
  console.log(`device publish examples accepted: ${n}`);
});

test('every form parseTopic accepts, in every dialect, has a channel', () => {
  const probes = ['t', 't/d', '/t', 't/', 'a/b/c', '/a/b', 'a//b'];
  let n = 0;
  for (const dialect of ['drogue/v1', 'plainTopic', 'plainTopic;devicePrefix']) {
    for (const topic of probes) {
      if (!parseTopic(topic, dialectFromString(dialect)).ok) continue;
      const matching = ofKind('device-publish').filter(([, c]) => c['x-mooring-form'].dialect === dialect && pattern(c).test(topic));
      assert.ok(matching.length > 0, `${dialect}: ${topic} is accepted but no channel documents it`);
      n++;
    }
  }
  console.log(`accepted device topics with a channel: ${n}`);
});

test('the command inbox channels are the topics the gateway delivers on, for the filters they list', () => {
  const self = 'gw';
  const kinds = new Set<string>();
  let n = 0;
  for (const [id, c] of ofKind('command-inbox')) {
    const filters = c['x-mooring-filters'] ?? [];
    assert.ok(filters.length > 0, `${id}: no filters`);
    for (const { topic, values } of expand(c)) {
      const device = values.device ?? self;
      assert.equal(topic, commandTopic(device === self ? undefined : device, values.command!), id);
      for (const f of filters) {
        const sub = parseCommandFilter(f.replace('sensor-1', device));
        assert.ok(sub !== undefined, `${id}: filter ${f} refused`);
        kinds.add(sub.kind);
        assert.equal(topicFor(new Map<string, CommandSubscription>([[f, sub]]), self, device, values.command!), topic, `${id}: ${f}`);
        n++;
      }
    }
  }
  for (const probe of ['command/inbox//#', 'command/inbox/#', 'command/inbox/+/#', 'command/inbox/d/#']) kinds.delete(parseCommandFilter(probe)!.kind);
  assert.equal([...kinds], [], 'filter kinds the code does not accept');
  assert.equal(new Set(ofKind('command-inbox').flatMap(([, c]) => c['x-mooring-filters']!.map((f) => parseCommandFilter(f)!.kind))).size, 3, 'own, all and device filters documented');
  for (const [id, c] of ofKind('command-inbox-request')) {
    for (const { topic, values } of expand(c)) assert.equal(topic, `${commandTopic(opt(values.device), values.command!)}/${values.request}`, id);
  }
  const replies = ofKind('command-reply');
  assert.equal(replies.length, 1);
  for (const { topic, values } of expand(replies[0]![1])) {
    assert.ok(topic.startsWith(REPLY_PREFIX));
    assert.equal(topic.slice(REPLY_PREFIX.length), values.request);
  }
  console.log(`command inbox (filter, example) pairs checked: ${n}`);
});

test('every integration stream example (each alias and share form) is accepted by parseStreamFilter as documented', () => {
  let n = 0;
  for (const [id, c] of ofKind('integration-stream')) {
    const form = c['x-mooring-form'];
    for (const prefix of form.prefixes!) {
      assert.ok(APP_PREFIXES.has(prefix), `${id}: ${prefix} is not an alias the code accepts`);
      for (const share of form.share === 'none' ? [undefined] : form.share!) {
        const address = c.address.replace(/^\$share\//, share === undefined ? '$share/' : `${share}/`).replace(/(^|\/)app\//, `$1${prefix}/`);
        for (const { topic, values } of expand(c, address)) {
          const f = parseStreamFilter(topic);
          assert.ok(f.ok, `${id}: ${topic} refused`);
          if (!f.ok) continue;
          assert.equal([f.application, f.channel, f.group], [values.application, values.channel, values.group], topic);
          const publishedOn = c['x-mooring-published-on'] ?? c.address;
          assert.equal(f.topic, expand(c, publishedOn.replace(/^app\//, `${prefix}/`)).find((e) => Object.entries(e.values).every(([k, v]) => values[k] === v))!.topic, topic);
          n++;
        }
      }
    }
  }
  console.log(`integration filter examples accepted: ${n}`);
});

test('every stream filter shape the integration accepts has a channel', () => {
  let n = 0;
  const prefixes = [...APP_PREFIXES, 'apps', 'b'];
  for (const prefix of prefixes) {
    for (const share of ['', '$share/g/', '$shared/g/', '$sharex/g/']) {
      for (const channel of ['', '/ch', '/ch/x']) {
        const filter = `${share}${prefix}/my-app${channel}`;
        const f = parseStreamFilter(filter);
        if (!f.ok) continue;
        const documented = ofKind('integration-stream').some(([, c]) => {
          const form = c['x-mooring-form'];
          const shareOk = f.group === undefined ? form.share === 'none' : form.share !== 'none' && form.share!.includes(share.split('/')[0]!);
          return form.prefixes!.includes(prefix) && shareOk && form.channel === (f.channel !== undefined);
        });
        assert.ok(documented, `${filter} is accepted but no channel documents it`);
        n++;
      }
    }
  }
  assert.is(n, APP_PREFIXES.size * 3 * 2);
  console.log(`accepted stream filter shapes with a channel: ${n}`);
});

test('the integration command channel is what parseCommandTopic accepts', () => {
  const commands = ofKind('integration-command');
  assert.equal(commands.length, 1);
  const c = commands[0]![1];
  let n = 0;
  for (const { topic, values } of expand(c)) {
    for (const t of [topic, topic.replace(/^command\//, 'COMMAND/')]) {
      assert.equal(parseCommandTopic(t), { application: values.application, device: values.device, command: values.command }, t);
      n++;
    }
  }
  assert.ok(pattern(c).test('command/a/d/c') && parseCommandTopic('command/a/d/c') !== undefined);
  console.log(`integration command examples accepted: ${n}`);
});

test('the servers are the MQTT listeners with cli/config.ts default ports', () => {
  const mqttPorts = VARIABLES.filter((v) => /^MOORING_MQTT.*_PORT$|^MOORING_MQTTS_PORT$/.test(v.name));
  assert.ok(mqttPorts.length >= 6);
  const servers = Object.values(doc.servers);
  for (const v of mqttPorts) {
    const s = servers.find((x) => x['x-mooring-port-variable'] === v.name);
    assert.ok(s !== undefined, `no server for ${v.name}`);
    assert.equal(s.host.split(':')[1], v.default, v.name);
  }
  assert.is(servers.length, mqttPorts.length);
  console.log(`servers checked against config: ${servers.length}`);
});

test.run();
