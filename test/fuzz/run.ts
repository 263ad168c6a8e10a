// `npm run fuzz -- --packets 1000000 [--lanes 24] [--seed 1]`: the MQTT fuzzer of the suite
// (test/fuzz/mqtt.test.ts) run longer by hand; prints the counts and exits non-zero on a crash,
// a spec violation or a lost control message.

import { parseArgs } from 'node:util';
import { runMqttFuzz, summary } from './mqtt-fuzz.ts';

const { values } = parseArgs({ options: { packets: { type: 'string', default: '1000000' }, lanes: { type: 'string', default: '24' }, seed: { type: 'string', default: '1' } } });
const report = await runMqttFuzz({ packets: Number(values.packets), lanes: Number(values.lanes), seed: Number(values.seed), progressEvery: Math.min(50_000, Math.ceil(Number(values.packets) / 10)) });
console.log(summary(report));
process.exit(report.crashes === 0 && report.violations === 0 && report.control.lost === 0 ? 0 : 1);
