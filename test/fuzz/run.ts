// `npm run fuzz -- --packets 1000000 [--lanes 24] [--seed 1]`: the MQTT fuzzer of the suite
// (test/fuzz/mqtt.test.ts) run longer by hand; `--http-requests 200000` runs the HTTP fuzzer
// (test/fuzz/http.test.ts) too, or alone when --packets is not given. Prints the counts and exits
// non-zero on a crash, a violation or a lost control message.

import { parseArgs } from 'node:util';
import { runMqttFuzz, summary } from './mqtt-fuzz.ts';
import { httpSummary, runHttpFuzz } from './http-fuzz.ts';

const { values } = parseArgs({ options: { packets: { type: 'string' }, 'http-requests': { type: 'string', default: '0' }, lanes: { type: 'string' }, seed: { type: 'string', default: '1' } } });
const httpRequests = Number(values['http-requests']);
const packets = Number(values.packets ?? (httpRequests > 0 ? 0 : 1_000_000));
const seed = Number(values.seed);
const lanes = values.lanes === undefined ? undefined : Number(values.lanes);
let ok = true;
if (packets > 0) {
  const report = await runMqttFuzz({ packets, lanes, seed, progressEvery: Math.min(50_000, Math.ceil(packets / 10)) });
  console.log(summary(report));
  ok &&= report.crashes === 0 && report.violations === 0 && report.control.lost === 0;
}
if (httpRequests > 0) {
  const report = await runHttpFuzz({ requests: httpRequests, lanes, seed, progressEvery: Math.min(20_000, Math.ceil(httpRequests / 10)) });
  console.log(httpSummary(report));
  ok &&= report.crashes === 0 && report.violations === 0 && report.control.lost === 0;
}
process.exit(ok ? 0 : 1);
