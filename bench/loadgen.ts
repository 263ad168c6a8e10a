// The load generator: its own process (pinned to its own core by bench/run.ts), driving the
// system under test over raw sockets. It takes one job as JSON in argv[2], prints JSON lines
// (bench/protocol.ts) on stdout, and exits when the job is done or its time limit passed.

import readline from 'node:readline';
import type { Job, LoadgenMessage, Measurement } from './protocol.ts';
import { connections, ingestAtRate, ingestQos0, ingestQos1, pushSink, integrationSubscriber } from './loadgen/scenarios.ts';
import { ingestHttp } from './loadgen/http.ts';
import { commandRoundTrip } from './loadgen/commands.ts';

function say(message: LoadgenMessage): void {
  process.stdout.write(JSON.stringify(message) + '\n');
}

/** Resolves when the orchestrator writes `release` on stdin (or stdin ends). */
function released(): Promise<void> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.on('line', (line) => { if (line.trim() === 'release') { rl.close(); resolve(); } });
    rl.on('close', () => resolve());
  });
}

const started = (): void => say({ event: 'started' });

async function run(job: Job): Promise<Measurement> {
  switch (job.scenario) {
    case 'qos0': say({ event: 'ready' }); return ingestQos0(job, started);
    case 'qos1': say({ event: 'ready' }); return ingestQos1(job, started);
    case 'qos1-rate': say({ event: 'ready' }); return ingestAtRate(job, started);
    case 'http': say({ event: 'ready' }); return ingestHttp(job, started);
    case 'connections':
      say({ event: 'ready' });
      return connections(job, async (connected) => { say({ event: 'idle', connected }); await released(); },
        started, (connected) => say({ event: 'reconnected', connected }));
    case 'push-sink': return pushSink(job, () => { say({ event: 'ready', sinkPort: job.sinkPort }); started(); });
    case 'command-rtt': say({ event: 'ready' }); return commandRoundTrip(job, started);
    case 'integration': return integrationSubscriber(job, () => { say({ event: 'ready' }); started(); });
  }
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
// A hard stop a little after the job's own limit, whatever happens.
setTimeout(() => { say({ event: 'error', message: 'load generator time limit' }); process.exit(2); }, (job.scenario === 'connections' ? 2 : 1) * job.timeLimitMs + 60_000).unref();
run(job).then(
  (measurement) => { say({ event: 'result', measurement }); process.exit(0); },
  (e: unknown) => { say({ event: 'error', message: e instanceof Error ? e.message : String(e) }); process.exit(1); },
);
