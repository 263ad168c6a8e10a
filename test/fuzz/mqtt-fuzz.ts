// The MQTT fuzzer: a Mooring composed in-process (as the e2e tests do: startMooring on the memory
// bus, a recording application as the sink), `lanes` connections at a time sending mutated MQTT
// 3.1.1 and 5 packets, each followed by a PINGREQ, while a control client publishes QoS 1
// throughout. Per packet, mqtt-packet's own verdict on the bytes (mqtt-packets.ts, `oracle`) is
// compared with what the server did: a malformed packet MUST close the connection; a packet the
// server serves is answered with well-formed packets, DISCONNECT only last, one CONNACK at most.

import { connect, type Socket } from 'node:net';
import { generate, parser, type Packet } from 'mqtt-packet';
import { ControlClient, MemoryWatch, countingLogger, finishRun, mib, startTarget } from './harness.ts';
import { Rng, connectPacket, mutate, oracle, validPacket, PINGREQ, type Verdict, type Version } from './mqtt-packets.ts';

export interface FuzzOptions {
  packets: number;
  lanes?: number;
  seed?: number;
  /** Progress lines every this many packets (0: none). */
  progressEvery?: number;
}

export interface FuzzReport {
  packets: number;
  connections: number;
  /** How connections ended: server closed (with the v5 DISCONNECT code, or 'none'), or dropped by us. */
  closedByServer: number;
  disconnectCodes: Record<string, number>;
  droppedIncomplete: number;
  answered: number;
  verdicts: Record<string, number>;
  /** Internal failures logged by the gateway (a handler throwing): must be 0. */
  crashes: number;
  /** Spec violations seen, with the first examples. */
  violations: number;
  examples: string[];
  control: { sent: number; delivered: number; lost: number };
  rssMiB: { before: number; peak: number; after: number };
  /** V8 heap in use before and after (what a leak would grow). */
  heapMiB: { before: number; after: number };
  seconds: number;
}

const ANSWER_TIMEOUT_MS = 10_000;

/** What the server did with one mutated packet (plus the PINGREQ after it). */
interface Outcome { kind: 'answered' | 'closed' | 'stalled'; disconnect?: number; bad?: string }

/** One fuzzing connection: writes, and reads the server's answers with a parser of its version. */
class Lane {
  private sock!: Socket;
  private out: Packet[] = [];
  private closed = false;
  private wake: (() => void) | undefined;
  private parseError: string | undefined;

  open(port: number): Promise<void> {
    this.out = []; this.closed = false; this.parseError = undefined;
    const sock = connect(port, '127.0.0.1');
    this.sock = sock;
    sock.setNoDelay(true);
    // A dropped connection's late 'close' must not mark its successor closed.
    sock.on('close', () => { if (this.sock === sock) { this.closed = true; this.wake?.(); } });
    sock.on('error', () => { /* a reset is a close */ });
    return new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  }

  listen(v: number): void {
    const p = parser({ protocolVersion: v });
    p.on('packet', (x: Packet) => { this.out.push(x); this.wake?.(); });
    p.on('error', (e: Error) => { this.parseError ??= e.message; });
    this.sock.on('data', (b: Buffer) => p.parse(b));
  }

  write(b: Buffer): void { if (!this.closed) this.sock.write(b); }
  drop(): void { this.sock.destroy(); }

  /** Waits until `n` packets of `cmd` arrived (all of them, with n = Infinity: a close) or the connection closes. */
  async until(cmd: string, n = 1): Promise<Outcome> {
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    for (;;) {
      const bad = this.check();
      if (bad !== undefined) return { kind: 'closed', bad };
      let seen = 0;
      const i = this.out.findIndex((p) => p.cmd === cmd && ++seen === n);
      if (i >= 0) { this.seen.push(...this.out.splice(0, i + 1)); return { kind: 'answered' }; }
      if (this.closed) {
        this.seen.push(...this.out.splice(0));
        const d = this.seen.at(-1);
        return { kind: 'closed', ...(d?.cmd === 'disconnect' ? { disconnect: d.reasonCode ?? 0 } : {}) };
      }
      if (Date.now() > deadline) return { kind: 'stalled' };
      await new Promise<void>((resolve) => { this.wake = resolve; setTimeout(resolve, 50); });
      this.wake = undefined;
    }
  }

  /** Everything the server sent on this connection so far. */
  seen: Packet[] = [];

  /** The server's output must parse, carry one CONNACK at most, and end at a DISCONNECT. */
  private check(): string | undefined {
    if (this.parseError !== undefined) return `server sent bytes that do not parse: ${this.parseError}`;
    const all = [...this.seen, ...this.out];
    if (all.filter((p) => p.cmd === 'connack').length > 1) return 'two CONNACKs';
    const d = all.findIndex((p) => p.cmd === 'disconnect');
    if (d >= 0 && d < all.length - 1) return `a packet after DISCONNECT: ${all[d + 1]!.cmd}`;
    return undefined;
  }

  reset(): void { this.seen = []; }
}

export async function runMqttFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const lanes = opts.lanes ?? 24;
  const rng = new Rng(opts.seed ?? 1);
  const report: FuzzReport = {
    packets: 0, connections: 0, closedByServer: 0, disconnectCodes: {}, droppedIncomplete: 0, answered: 0,
    verdicts: {}, crashes: 0, violations: 0, examples: [], control: { sent: 0, delivered: 0, lost: 0 },
    rssMiB: { before: 0, peak: 0, after: 0 }, heapMiB: { before: 0, after: 0 }, seconds: 0,
  };
  const target = await startTarget({ devices: lanes, logger: countingLogger(report) });
  const port = target.mooring.mqtt.mqtt!.port;
  const started = Date.now();
  const memory = new MemoryWatch();
  // The control client: QoS 1 publishes, one at a time, for as long as the fuzzing runs.
  const control = new ControlClient(target.sink);
  await control.start(port);

  const violation = (what: string): void => {
    report.violations++;
    if (report.examples.length < 10) report.examples.push(what);
  };

  const runLane = async (index: number): Promise<void> => {
    const device = `fuzz${index}@fuzzapp`;
    const lane = new Lane();
    while (report.packets < opts.packets) {
      const v: Version = rng.int(2) === 0 ? 4 : 5;
      await lane.open(port);
      lane.reset();
      report.connections++;
      let version: Version = v;
      if (rng.int(8) === 0) {
        // A mutated CONNECT as the first packet: the server's answer is in the version it read.
        const m = mutate(rng, generate(connectPacket(rng, v, device), { protocolVersion: v }), v, device);
        const verdict = oracle(m.bytes, v);
        const first = verdict.packets[0];
        version = first?.cmd === 'connect' && first.protocolVersion === 5 ? 5 : 4;
        lane.listen(version);
        if (!await judge(lane, m.name, m.bytes, verdict)) continue;
      } else {
        lane.listen(v);
        lane.write(generate(connectPacket(rng, v, device), { protocolVersion: v }));
        const ack = await lane.until('connack');
        if (ack.kind !== 'answered') { violation(`valid CONNECT not accepted: ${ack.kind} ${ack.bad ?? ''}`); lane.drop(); continue; }
      }
      for (;;) {
        if (report.packets >= opts.packets) { lane.drop(); break; }
        const m = mutate(rng, validPacket(rng, version, device), version, device);
        if (!await judge(lane, m.name, m.bytes, oracle(m.bytes, version))) break;
      }
    }
  };

  /**
   * Sends one mutated packet and a PINGREQ; false when the connection is over. A malformed packet
   * must close the connection (whatever it answered before); a parsed one gets a PINGRESP for each
   * PINGREQ among its frames, or a close (the server may refuse on a rule mqtt-packet does not check).
   */
  const judge = async (lane: Lane, name: string, bytes: Buffer, o: { verdict: Verdict; packets: Packet[] }): Promise<boolean> => {
    report.packets++;
    report.verdicts[o.verdict] = (report.verdicts[o.verdict] ?? 0) + 1;
    if (opts.progressEvery && report.packets % opts.progressEvery === 0) {
      console.log(`fuzz: ${report.packets} packets, ${report.connections} connections, ${mib(process.memoryUsage.rss())} MiB RSS`);
    }
    lane.write(Buffer.concat([bytes, PINGREQ]));
    const hex = bytes.toString('hex').slice(0, 120);
    if (o.verdict === 'incomplete') {
      // The server waits for the rest of a frame (or refused its size from the header): nothing to
      // wait for; the connection is dropped here.
      report.droppedIncomplete++;
      lane.drop();
      return false;
    }
    let pings = o.verdict === 'malformed' ? Infinity : o.packets.filter((p) => p.cmd === 'pingreq').length;
    if (pings === 0) {
      // Our PINGREQ became part of the mutated packet's last frame: ask again.
      lane.write(PINGREQ);
      pings = 1;
    }
    const r = await lane.until('pingresp', pings);
    if (r.bad !== undefined) violation(`${name}: ${r.bad} (${hex})`);
    if (r.kind === 'stalled') {
      violation(`${name}: ${o.verdict === 'malformed' ? 'malformed packet not closed' : 'no PINGRESP and no close'} within ${ANSWER_TIMEOUT_MS} ms (${hex})`);
      lane.drop();
      return false;
    }
    if (r.kind === 'closed') {
      report.closedByServer++;
      const code = r.disconnect === undefined ? 'none' : `0x${r.disconnect.toString(16)}`;
      report.disconnectCodes[code] = (report.disconnectCodes[code] ?? 0) + 1;
      return false;
    }
    report.answered++;
    return true;
  };

  try {
    await Promise.all(Array.from({ length: lanes }, (_, i) => runLane(i)));
  } finally {
    await finishRun(report, { target, control, memory, started, violation });
  }
  return report;
}

export function summary(r: FuzzReport): string {
  return `mqtt fuzz: packets=${r.packets} connections=${r.connections} answered=${r.answered} closedByServer=${r.closedByServer} `
    + `droppedIncomplete=${r.droppedIncomplete} crashes=${r.crashes} violations=${r.violations} `
    + `control sent=${r.control.sent} lost=${r.control.lost} rss MiB before=${r.rssMiB.before} peak=${r.rssMiB.peak} after=${r.rssMiB.after} heap MiB before=${r.heapMiB.before} after=${r.heapMiB.after} `
    + `seconds=${r.seconds}\n  verdicts ${JSON.stringify(r.verdicts)} disconnect codes ${JSON.stringify(r.disconnectCodes)}`
    + (r.examples.length > 0 ? `\n  ${r.examples.join('\n  ')}` : '');
}
