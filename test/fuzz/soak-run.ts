// `npm run soak -- --minutes 10 [--interval 10]`: the soak of the suite (test/fuzz/soak.test.ts)
// run longer by hand; prints each interval and the summary, exits non-zero on a loss, a crash or
// an unanswered command.

import { parseArgs } from 'node:util';
import { runSoak, soakSummary } from './soak.ts';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, interval: { type: 'string', default: '10' } } });
const r = await runSoak({ seconds: Number(values.minutes) * 60, intervalSeconds: Number(values.interval), onInterval: (line) => console.log(line) });
console.log(soakSummary(r));
const ok = r.crashes === 0 && r.qos1.lost === 0 && r.http.lost === 0 && r.commands.answered === r.commands.sent && r.commands.received === r.commands.answered;
process.exit(ok ? 0 : 1);
