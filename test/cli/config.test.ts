// The configuration module (cli/config.ts): every variable parsed and checked at start-up, bad
// values refused with MOORING_INVALID_CONFIG naming the variable; it is the only product file
// that reads the environment; README.md's configuration table lists exactly its variables.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configFromEnv, configWarnings, describeStartError, PARTS, partsFromArgs, RENAMED, VARIABLES, type Variable } from '../../cli/config.ts';
import { isMooringError } from '../../events/errors.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function refused(env: Record<string, string>): string {
  try {
    configFromEnv(env);
  } catch (err) {
    assert.ok(isMooringError(err, 'MOORING_INVALID_CONFIG'), String(err));
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

test('defaults: the README\'s ports, embedded mode, the demo registry, frozen', () => {
  const c = configFromEnv({});
  assert.is(c.mqttPort, 1883);
  assert.is(c.mqttsPort, 8883);
  assert.is(c.mqttWsPort, 8083);
  assert.is(c.ingressPort, 8081);
  assert.is(c.demoSinkPort, 8089);
  assert.is(c.httpPort, 8088);
  assert.is(c.httpsPort, 8443);
  assert.is(c.kafkaBrokers, undefined);
  assert.is(c.kafkaAppTopics, false);
  assert.is(c.registryPath, undefined);
  assert.is(c.dataDir, './.mooring');
  assert.is(c.instance, 'drogue');
  assert.is(c.logLevel, 'info');
  assert.is(c.maxPacketSize, 16 * 1024);
  assert.is(c.maxConnections, 19_000);
  assert.is(c.knativeDir, join(ROOT, 'knative'));
  assert.is(c.functionName, undefined);
  assert.is(c.port, 8080);
  assert.ok(Object.isFrozen(c));
});

test('set values are parsed; an empty value counts as unset; overrides win', () => {
  const c = configFromEnv({
    MOORING_MQTT_PORT: '0', MOORING_MQTT_MAX_CONNECTIONS: '5', MOORING_LOG_LEVEL: 'debug', MOORING_HOST: '',
    MOORING_FUNCTION: 'normalize', PORT: '9090', MOORING_KNATIVE_DIR: '/k', MOORING_REGISTRY: 'r.yaml',
  }, { instance: 'test' });
  assert.is(c.mqttPort, 0);
  assert.is(c.maxConnections, 5);
  assert.is(c.logLevel, 'debug');
  assert.is(c.host, '0.0.0.0');
  assert.is(c.functionName, 'normalize');
  assert.is(c.port, 9090);
  assert.is(c.knativeDir, '/k');
  assert.is(c.registryPath, 'r.yaml');
  assert.is(c.instance, 'test');
});

test('Kafka brokers are a comma-separated list', () => {
  assert.equal(configFromEnv({ MOORING_KAFKA_BROKERS: 'a:9092, b:9092,' }).kafkaBrokers, ['a:9092', 'b:9092']);
  assert.is(configFromEnv({ MOORING_KAFKA_BROKERS: 'a:9092', MOORING_KAFKA_APP_TOPICS: 'true' }).kafkaAppTopics, true);
});

test('bad values are refused with MOORING_INVALID_CONFIG naming the variable', () => {
  for (const name of ['MOORING_MQTT_PORT', 'MOORING_MQTTS_PORT', 'MOORING_MQTT_WS_PORT', 'MOORING_INGRESS_PORT', 'MOORING_DEMO_SINK_PORT', 'PORT']) {
    for (const bad of ['70000', 'x', '-1', '1.5', '0x50']) assert.match(refused({ [name]: bad }), name, `${name}=${bad}`);
  }
  for (const name of ['MOORING_MQTT_MAX_PACKET_SIZE', 'MOORING_MQTT_MAX_CONNECTIONS']) {
    for (const bad of ['0', 'lots', '-5', '2.5']) assert.match(refused({ [name]: bad }), name, `${name}=${bad}`);
  }
  assert.match(refused({ MOORING_LOG_LEVEL: 'loud' }), 'MOORING_LOG_LEVEL');
  assert.match(refused({ MOORING_LOG_LEVEL: 'INFO' }), 'MOORING_LOG_LEVEL');
  assert.match(refused({ MOORING_KAFKA_BROKERS: 'kafka' }), 'MOORING_KAFKA_BROKERS');
  assert.match(refused({ MOORING_KAFKA_BROKERS: ',' }), 'MOORING_KAFKA_BROKERS');
  assert.match(refused({ MOORING_TLS_CERT: 'cert.pem' }), 'MOORING_TLS_KEY');
  assert.match(refused({ MOORING_KAFKA_APP_TOPICS: '1' }), 'MOORING_KAFKA_BROKERS');
  assert.match(refused({ MOORING_KAFKA_BROKERS: 'k:9092', MOORING_KAFKA_APP_TOPICS: 'maybe' }), 'MOORING_KAFKA_APP_TOPICS');
  assert.match(refused({ MOORING_MQTT_PORT: 'x' }), 'got "x"');
});

test('an entry point prints the code and the message of a configuration error', () => {
  try {
    configFromEnv({ PORT: 'eighty' });
    assert.unreachable();
  } catch (err) {
    assert.match(describeStartError(err), /^MOORING_INVALID_CONFIG: PORT must be a port number/);
  }
});

test('a renamed variable set under its old name only is warned about (it is not read)', () => {
  assert.equal(configWarnings({ LOG_LEVEL: 'debug' }), ['LOG_LEVEL is set but not read; Mooring reads MOORING_LOG_LEVEL (set it instead)']);
  assert.equal(configWarnings({ LOG_LEVEL: 'debug', MOORING_LOG_LEVEL: 'warn' }), []);
  assert.equal(configWarnings({}), []);
  assert.is(configFromEnv({ LOG_LEVEL: 'debug' }).logLevel, 'info', 'the old name is not read');
  for (const now of Object.values(RENAMED)) assert.ok(VARIABLES.some((v) => v.name === now), now);
});

test('the entry point\'s parts: none or `all` is every part, a list by commas or words, an unknown name refused', () => {
  assert.equal([...partsFromArgs([])], [...PARTS]);
  assert.equal([...partsFromArgs(['all'])], [...PARTS]);
  assert.equal([...partsFromArgs(['gateway,http'])], ['gateway', 'http']);
  assert.equal([...partsFromArgs(['api', 'integrations'])], ['api', 'integrations']);
  try {
    partsFromArgs(['gateway', 'mqtt']);
    assert.unreachable('an unknown part was accepted');
  } catch (err) {
    assert.ok(isMooringError(err) && err.code === 'MOORING_INVALID_CONFIG' && err.message.includes('"mqtt"'), String(err));
  }
});

test('every variable\'s default passes its own check', () => {
  for (const v of VARIABLES) if (v.default !== undefined) v.parse(v.default, v.name);
  assert.is(new Set(VARIABLES.map((v) => v.name)).size, VARIABLES.length, 'names are unique');
  assert.is(new Set(VARIABLES.map((v) => v.key)).size, VARIABLES.length, 'fields are unique');
});

// Product code (cli, connectors, functions, events) gets configuration as options; only the
// configuration module reads the environment. bench/ and scripts/ are tooling and read their own.
const ENV_READ = /\bprocess\s*(\.\s*env\b|\[\s*['"`]env['"`]\s*\])|from\s+['"](node:)?process['"]|require\(\s*['"](node:)?process['"]\s*\)/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.(ts|js|cjs|mjs)$/.test(e.name) ? [path] : [];
  });
}

test('no product file outside cli/config.ts reads process.env', () => {
  const files = ['cli', 'connectors', 'functions', 'events'].flatMap((d) => sources(join(ROOT, d)));
  assert.ok(files.length > 20, 'the scan sees the product code');
  const readers = files.map((f) => relative(ROOT, f)).filter((f) => f !== join('cli', 'config.ts') && ENV_READ.test(readFileSync(join(ROOT, f), 'utf8')));
  assert.equal(readers, []);
  assert.ok(ENV_READ.test(readFileSync(join(ROOT, 'cli/config.ts'), 'utf8')), 'the scan recognises a read');
});

/** The README's configuration table: one row per variable, `| \`NAME\` | default | meaning |`. */
function readmeRows(): Array<{ name: string; default: string; meaning: string }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Configuration'));
  assert.ok(section, 'README.md has a "## Configuration" section');
  const lines = section.split('\n').filter((l) => l.startsWith('|'));
  assert.match(lines[0] ?? '', /^\| *variable *\| *default *\| *meaning *\|$/);
  return lines.slice(2).map((line) => {
    // Cells are split on `|` outside backticks (a meaning may quote code).
    const cells = line.slice(1, line.endsWith('|') ? -1 : undefined).split(/\|(?=(?:[^`]*`[^`]*`)*[^`]*$)/).map((c) => c.trim());
    assert.is(cells.length, 3, `three cells: ${line}`);
    const [name = '', dflt = '', meaning = ''] = cells;
    const m = /^`([A-Z0-9_]+)`$/.exec(name);
    assert.ok(m, `one variable name in backticks per row: ${line}`);
    return { name: m[1] as string, default: dflt, meaning };
  });
}

function shownDefault(v: Variable): string {
  return v.shownDefault ?? (v.default === undefined ? '(none)' : `\`${v.default}\``);
}

test('README.md\'s configuration table lists exactly the module\'s variables, with their defaults and meanings', () => {
  const rows = readmeRows();
  const expected = VARIABLES.map((v) => `| \`${v.name}\` | ${shownDefault(v)} | ${v.description} |`).join('\n');
  assert.equal(rows.map((r) => r.name), VARIABLES.map((v) => v.name), `the rows, in order, should be:\n${expected}`);
  for (const v of VARIABLES) {
    const row = rows.find((r) => r.name === v.name)!;
    assert.is(row.default, shownDefault(v), `${v.name}'s default`);
    assert.is(row.meaning, v.description, `${v.name}'s meaning`);
  }
});

test.run();
