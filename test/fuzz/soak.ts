// The soak: the fuzzers' Mooring (harness.ts) under a steady mixed load for a fixed time:
// MQTT connects and disconnects (v3.1.1 and v5 in turn, each publishing once), a QoS 1 publisher
// (the control client), a QoS 0 publisher, HTTP publishes, and commands through the management
// API to a connected device. Every interval it reports RSS, heap (live, after a full collection)
// and event-loop lag (p99, max); at the end the loss counts and the slope of the live heap over
// the second half (flat is the goal).

import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { ControlClient, collect, countingLogger, mib, startTarget, type FailureCount } from './harness.ts';

export interface SoakOptions {
  seconds: number;
  intervalSeconds?: number;
  /** Called with each interval's line as it is measured. */
  onInterval?: (line: string) => void;
}

export interface SoakInterval { atS: number; rssMiB: number; heapMiB: number; lagP99Ms: number; lagMaxMs: number }

export interface SoakReport extends FailureCount {
  seconds: number;
  intervals: SoakInterval[];
  connects: number;
  connectFailures: number;
  qos1: { sent: number; lost: number };
  qos0: { sent: number; lost: number };
  http: { sent: number; accepted: number; lost: number };
  commands: { sent: number; answered: number; received: number };
  /** Live heap over the second half: least-squares slope, MiB per minute. */
  heapSlopeMiBPerMin: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i]! - mx) * (ys[i]! - my); den += (xs[i]! - mx) ** 2; }
  return den === 0 ? 0 : num / den;
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const report: SoakReport = {
    crashes: 0, examples: [], seconds: 0, intervals: [], connects: 0, connectFailures: 0,
    qos1: { sent: 0, lost: 0 }, qos0: { sent: 0, lost: 0 }, http: { sent: 0, accepted: 0, lost: 0 },
    commands: { sent: 0, answered: 0, received: 0 }, heapSlopeMiBPerMin: 0,
  };
  const target = await startTarget({ devices: 8, logger: countingLogger(report) });
  const { mooring, sink } = target;
  const mqttPort = mooring.mqtt.mqtt!.port;
  const httpUrl = `http://127.0.0.1:${mooring.httpAddresses.http!.port}/v1/soak`;
  const commandUrl = `${mooring.api!.url}/api/command/v1alpha1/apps/fuzzapp/devices/fuzz0?command=ping`;
  const apiAuth = `Basic ${Buffer.from(`${target.token.username}:${target.token.token}`).toString('base64')}`;
  const deviceAuth = `Basic ${Buffer.from('control2@app1:pw').toString('base64')}`;
  const end = Date.now() + opts.seconds * 1000;
  const running = (): boolean => Date.now() < end;

  // The command receiver: connected throughout, subscribed to its inbox.
  const receiver = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, username: 'fuzz0@fuzzapp', password: 'pw', protocolVersion: 5, reconnectPeriod: 0 });
  const commandsSeen = new Set<string>();
  receiver.on('message', (_t, payload) => commandsSeen.add(payload.toString()));
  await receiver.subscribeAsync('command/inbox/#', { qos: 1 });
  const qos0 = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, username: 'control2@app1', password: 'pw', protocolVersion: 4, reconnectPeriod: 0 });
  const control = new ControlClient(sink, 20);
  await control.start(mqttPort);

  const loops = [
    (async () => { // connect, publish once, disconnect
      for (let i = 0; running(); i++) {
        try {
          const c = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, username: `fuzz${1 + (i % 7)}@fuzzapp`, password: 'pw', protocolVersion: i % 2 === 0 ? 5 : 4, reconnectPeriod: 0, connectTimeout: 30_000 });
          report.connects++;
          await c.publishAsync('churn', `c-${i}`, { qos: 1 });
          await c.endAsync();
        } catch { report.connectFailures++; }
        await sleep(100);
      }
    })(),
    (async () => { // QoS 0
      while (running()) {
        const body = `q0-${report.qos0.sent++}`;
        sink.expect(body);
        await qos0.publishAsync('soak', body, { qos: 0 });
        await sleep(20);
      }
    })(),
    (async () => { // HTTP
      while (running()) {
        const body = `http-${report.http.sent++}`;
        sink.expect(body);
        const res = await fetch(httpUrl, { method: 'POST', headers: { authorization: deviceAuth, 'content-type': 'text/plain' }, body }).catch(() => undefined);
        if (res?.status === 202) report.http.accepted++;
        await res?.arrayBuffer();
        await sleep(20);
      }
    })(),
    (async () => { // commands
      while (running()) {
        const body = `cmd-${report.commands.sent++}`;
        const res = await fetch(commandUrl, { method: 'POST', headers: { authorization: apiAuth, 'content-type': 'text/plain' }, body }).catch(() => undefined);
        if (res?.status === 202 && res.headers.get('mooring-command-outcome') === 'delivered') report.commands.answered++;
        await res?.arrayBuffer();
        await sleep(100);
      }
    })(),
  ];

  const started = Date.now();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const intervalMs = (opts.intervalSeconds ?? 10) * 1000;
  const sampler = (async () => {
    while (running()) {
      await sleep(Math.min(intervalMs, Math.max(0, end - Date.now())));
      collect();
      const s: SoakInterval = {
        atS: Math.round((Date.now() - started) / 1000), rssMiB: mib(process.memoryUsage.rss()), heapMiB: Math.round(process.memoryUsage().heapUsed / 10485.76) / 100,
        lagP99Ms: Math.round(lag.percentile(99) / 1e4) / 100, lagMaxMs: Math.round(lag.max / 1e4) / 100,
      };
      lag.reset();
      report.intervals.push(s);
      opts.onInterval?.(`soak t=${s.atS}s rss=${s.rssMiB}MiB heap=${s.heapMiB}MiB lag p99=${s.lagP99Ms}ms max=${s.lagMaxMs}ms connects=${report.connects} qos1=${control.tally.sent} qos0=${report.qos0.sent} http=${report.http.sent} commands=${report.commands.sent}`);
    }
  })();
  await Promise.all([...loops, sampler]);
  lag.disable();

  const tally = await control.stop();
  report.qos1 = { sent: tally.sent, lost: tally.lost };
  const missing = sink.missingByPrefix();
  report.qos0.lost = missing['q0'] ?? 0;
  report.http.lost = missing['http'] ?? 0;
  // Commands in flight when the loop stopped: give them the same bounded wait.
  const deadline = Date.now() + 30_000;
  while (commandsSeen.size < report.commands.answered && Date.now() < deadline) await sleep(50);
  report.commands.received = commandsSeen.size;
  await receiver.endAsync();
  await qos0.endAsync();
  report.seconds = Math.round((Date.now() - started) / 1000);
  const half = report.intervals.slice(Math.floor(report.intervals.length / 2));
  report.heapSlopeMiBPerMin = Math.round(slope(half.map((s) => s.atS / 60), half.map((s) => s.heapMiB)) * 100) / 100;
  await target.close();
  return report;
}

export function soakSummary(r: SoakReport): string {
  const lagP99 = Math.max(...r.intervals.map((s) => s.lagP99Ms));
  const lagMax = Math.max(...r.intervals.map((s) => s.lagMaxMs));
  return `soak: seconds=${r.seconds} connects=${r.connects} connectFailures=${r.connectFailures} crashes=${r.crashes} `
    + `qos1 sent=${r.qos1.sent} lost=${r.qos1.lost} qos0 sent=${r.qos0.sent} lost=${r.qos0.lost} http sent=${r.http.sent} accepted=${r.http.accepted} lost=${r.http.lost} `
    + `commands sent=${r.commands.sent} answered=${r.commands.answered} received=${r.commands.received}\n`
    + `  rss MiB first=${r.intervals[0]?.rssMiB} last=${r.intervals.at(-1)?.rssMiB} heap MiB first=${r.intervals[0]?.heapMiB} last=${r.intervals.at(-1)?.heapMiB} `
    + `heap slope (second half)=${r.heapSlopeMiBPerMin} MiB/min lag p99 max=${lagP99}ms lag max=${lagMax}ms`
    + (r.examples.length > 0 ? `\n  ${r.examples.join('\n  ')}` : '');
}
