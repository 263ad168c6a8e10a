// The HTTP fuzzer: the fuzzers' Mooring (harness.ts), `lanes` connections at a time, each sending
// one mutated request (http-requests.ts; two when a second is pipelined behind it) to the device
// endpoint or the management API, then closing its sending side and reading until the server
// closes. Whatever came back must be well-formed HTTP/1.1 responses; every 4xx/5xx body the JSON
// error shape ({"error", "message"}; the management API may answer Drogue's empty 400/404); a 5xx
// to bad input is a violation (504 MOORING_TIMEOUT excepted: a command nobody replied to); a
// connection must be closed once its requests are answered. A control client publishes QoS 1
// throughout and must lose nothing.

import { connect } from 'node:net';
import { Rng } from './mqtt-packets.ts';
import { ControlClient, MemoryWatch, countingLogger, finishRun, mib, startTarget, type ControlTally, type FailureCount } from './harness.ts';
import { mayBeIncomplete, mutatedRequest, serialize, type MutationName } from './http-requests.ts';

export interface HttpFuzzOptions {
  requests: number;
  lanes?: number;
  seed?: number;
  /** Progress lines every this many requests (0: none). */
  progressEvery?: number;
}

export interface HttpFuzzReport extends FailureCount {
  requests: number;
  connections: number;
  /** Answers by status; `none`: the connection closed with no answer (e.g. node drops a CONNECT). */
  statuses: Record<string, number>;
  /** Requests carrying each mutation. */
  mutations: Partial<Record<MutationName, number>>;
  violations: number;
  control: ControlTally;
  rssMiB: { before: number; peak: number; after: number };
  heapMiB: { before: number; after: number };
  seconds: number;
}

interface Response { status: number; headers: Record<string, string>; body: Buffer }

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The responses in `data`, in order; `error` when the bytes are not well-formed HTTP/1.1 responses. */
export function parseResponses(data: Buffer, isHead: boolean[]): { responses: Response[]; error?: string } {
  const responses: Response[] = [];
  let off = 0;
  while (off < data.length) {
    const end = data.indexOf('\r\n\r\n', off);
    if (end < 0) return { responses, error: `truncated head: ${JSON.stringify(data.subarray(off, off + 80).toString('latin1'))}` };
    const [statusLine, ...lines] = data.subarray(off, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?$/.exec(statusLine!);
    if (!m) return { responses, error: `bad status line ${JSON.stringify(statusLine)}` };
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      if (colon <= 0 || !TOKEN.test(name)) return { responses, error: `bad header line ${JSON.stringify(line)}` };
      headers[name] = line.slice(colon + 1).trim();
    }
    const status = Number(m[1]);
    let p = end + 4;
    if (status < 200) { off = p; continue; }
    let body: Buffer = Buffer.alloc(0);
    const length = headers['content-length'] === undefined ? NaN : Number(headers['content-length']);
    if (status === 204 || status === 304 || (isHead[responses.length] === true && !(headers.connection === 'close' && p + length === data.length))) {
      // No body; but a HEAD request node could not parse is answered like any other (with a
      // body, then the connection ends): the server cannot know it was a HEAD.
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = data.indexOf('\r\n', p);
        if (eol < 0) return { responses, error: 'truncated chunk size' };
        const size = parseInt(data.subarray(p, eol).toString('latin1'), 16);
        if (!Number.isFinite(size)) return { responses, error: 'bad chunk size' };
        p = eol + 2;
        if (size === 0) {
          const trailers = data.indexOf('\r\n', p);
          if (trailers < 0) return { responses, error: 'truncated chunked trailer' };
          p = trailers + 2;
          break;
        }
        if (p + size + 2 > data.length) return { responses, error: 'truncated chunk' };
        parts.push(data.subarray(p, p + size));
        p += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (!Number.isSafeInteger(n) || n < 0) return { responses, error: `bad content-length ${headers['content-length']}` };
      if (p + n > data.length) return { responses, error: `truncated body: ${data.length - p} of ${n} bytes` };
      body = data.subarray(p, p + n);
      p += n;
    } else {
      body = data.subarray(p);
      p = data.length;
    }
    responses.push({ status, headers, body });
    off = p;
  }
  return { responses };
}

/** What one answer breaks, if anything. */
export function judgeResponse(r: Response, port: 'device' | 'api', head: boolean): string | undefined {
  if (r.status < 400) return undefined;
  if (r.body.length === 0) {
    return port === 'api' || head ? undefined : `${r.status} with an empty body`;
  }
  let v: unknown;
  try { v = JSON.parse(r.body.toString('utf8')); } catch { return `${r.status} body is not JSON: ${JSON.stringify(r.body.subarray(0, 120).toString('utf8'))}`; }
  const e = v as { error?: unknown; message?: unknown };
  if (typeof v !== 'object' || v === null || typeof e.error !== 'string' || typeof e.message !== 'string') {
    return `${r.status} body is not the error shape: ${r.body.subarray(0, 160).toString('utf8')}`;
  }
  if (r.status >= 500 && !(r.status === 504 && e.error === 'MOORING_TIMEOUT')) return `${r.status} to bad input: ${r.body.subarray(0, 200).toString('utf8')}`;
  return undefined;
}

interface Exchange { data: Buffer; reset: boolean; stalled: boolean; refused: boolean }

/**
 * Sends `bytes` (in one to three writes) and reads until `expect` answers arrived (then drops the
 * connection) or the server closes. With `expect` 'close' the sending side is closed after the
 * bytes (they may be an incomplete request): node then drops requests not answered yet, so the
 * server may close without an answer.
 */
export function exchange(port: number, bytes: Buffer, pieces: number, expect: number | 'close', heads: boolean[], timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let reset = false;
    let connected = false;
    let done = false;
    const timer = setTimeout(() => { finish(true); sock.destroy(); }, timeoutMs);
    const finish = (stalled: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), reset, stalled, refused: !connected });
    };
    sock.on('data', (b: Buffer) => {
      chunks.push(b);
      if (expect === 'close') return;
      const got = parseResponses(Buffer.concat(chunks), heads);
      if (got.error === undefined && got.responses.length >= expect) { finish(false); sock.destroy(); }
    });
    sock.on('error', () => { reset = true; });
    sock.on('close', () => finish(false));
    sock.on('connect', () => {
      connected = true;
      let at = 0;
      for (let i = 1; i <= pieces; i++) {
        const to = i === pieces ? bytes.length : Math.floor((bytes.length * i) / pieces);
        sock.write(bytes.subarray(at, to));
        at = to;
      }
      if (expect === 'close') sock.end();
    });
  });
}

export async function runHttpFuzz(opts: HttpFuzzOptions): Promise<HttpFuzzReport> {
  const lanes = opts.lanes ?? 16;
  const devices = 8;
  const rng = new Rng(opts.seed ?? 1);
  const report: HttpFuzzReport = {
    requests: 0, connections: 0, statuses: {}, mutations: {}, crashes: 0, violations: 0, examples: [],
    control: { sent: 0, delivered: 0, lost: 0 }, rssMiB: { before: 0, peak: 0, after: 0 }, heapMiB: { before: 0, after: 0 }, seconds: 0,
  };
  const target = await startTarget({ devices, logger: countingLogger(report) });
  const ports = { device: target.mooring.httpAddresses.http!.port, api: target.mooring.api!.port };
  const started = Date.now();
  const memory = new MemoryWatch();
  const control = new ControlClient(target.sink);
  await control.start(target.mooring.mqtt.mqtt!.port);
  const ctx = { devices, token: target.token };
  const violation = (what: string): void => {
    report.violations++;
    // One example per kind (its first words), so a frequent one does not hide the others.
    const kind = what.slice(0, 40);
    if (report.examples.length < 20 && !report.examples.some((e) => e.startsWith(kind))) report.examples.push(what);
  };

  const lane = async (): Promise<void> => {
    while (report.requests < opts.requests) {
      const q = mutatedRequest(rng, ctx);
      const { bytes, requests } = serialize(rng, q);
      for (const n of q.names) report.mutations[n] = (report.mutations[n] ?? 0) + 1;
      const before = report.requests;
      report.requests += requests;
      report.connections++;
      if (opts.progressEvery && Math.floor(report.requests / opts.progressEvery) > Math.floor(before / opts.progressEvery)) {
        console.log(`http fuzz: ${report.requests} requests, ${mib(process.memoryUsage.rss())} MiB RSS`);
      }
      const heads = [bytes.subarray(0, 5).toString('latin1') === 'HEAD ', q.trailer?.subarray(0, 5).toString('latin1') === 'HEAD '];
      const complete = !mayBeIncomplete(q);
      const x = await exchange(ports[q.port], bytes, 1 + rng.int(3), complete ? requests : 'close', heads, (q.waitS * 2 + 20) * 1000);
      const what = `${q.port} ${q.names.join('+') || 'valid'} ${JSON.stringify(bytes.subarray(0, 160).toString('latin1'))}`;
      if (x.refused) { violation(`connection refused: ${what}`); continue; }
      if (x.stalled) { violation(`no answer and no close within ${q.waitS * 2 + 20} s: ${what}`); continue; }
      const parsed = parseResponses(x.data, heads);
      // A reset may cut the last answer short (the server closed with request bytes unread).
      if (parsed.error !== undefined && !(x.reset && parsed.error.startsWith('truncated'))) {
        violation(`${parsed.error}: ${what}`);
        if (process.env.FUZZ_DEBUG_DUMP) console.log(`SENT ${JSON.stringify(bytes.toString('latin1'))}\nGOT ${JSON.stringify(x.data.toString('latin1'))}`);
      }
      if (parsed.responses.length === 0) {
        report.statuses.none = (report.statuses.none ?? 0) + 1;
        if (process.env.FUZZ_DEBUG_NONE) console.log(`none: ${complete ? 'complete ' : ''}${x.reset ? 'reset ' : ''}${what}`);
      }
      parsed.responses.forEach((r, i) => {
        report.statuses[r.status] = (report.statuses[r.status] ?? 0) + 1;
        const bad = judgeResponse(r, q.port, heads[i] === true);
        if (bad !== undefined) violation(`${bad}: ${what}`);
      });
    }
  };

  try {
    await Promise.all(Array.from({ length: lanes }, () => lane()));
  } finally {
    await finishRun(report, { target, control, memory, started, violation });
  }
  return report;
}

export function httpSummary(r: HttpFuzzReport): string {
  return `http fuzz: requests=${r.requests} connections=${r.connections} crashes=${r.crashes} violations=${r.violations} `
    + `control sent=${r.control.sent} lost=${r.control.lost} rss MiB before=${r.rssMiB.before} peak=${r.rssMiB.peak} after=${r.rssMiB.after} `
    + `heap MiB before=${r.heapMiB.before} after=${r.heapMiB.after} seconds=${r.seconds}\n  statuses ${JSON.stringify(r.statuses)}\n  mutations ${JSON.stringify(r.mutations)}`
    + (r.examples.length > 0 ? `\n  ${r.examples.join('\n  ')}` : '');
}
