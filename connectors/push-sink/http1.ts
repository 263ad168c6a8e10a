// A lean HTTP/1.1 client for plain-http push endpoints: keep-alive connections per origin (at most
// `maxSockets`, LIFO reuse, FIFO wait), one request at a time per connection (no pipelining: a
// POST is not idempotent), each request written as ONE buffer (one write syscall), the response
// framed by RFC 9112 §6.3 (no body for 1xx/204/304, chunked, Content-Length, or until close).
// Why not node's http.request: profiling the embedded pipeline showed its per-request machinery
// (ClientRequest, agent bookkeeping, header objects, IncomingMessage) costing more than all of
// Mooring's own work per event; the bytes on the wire are the same. HTTPS stays on node's client.

import net from 'node:net';

export interface Http1Response {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", " (as node does). */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Where requests go: resolved once per endpoint. */
export interface Http1Origin {
  readonly host: string;
  readonly port: number;
}

export interface Http1PoolOptions {
  /** Connections per origin (default 16); further requests wait in arrival order. */
  maxSockets?: number;
  /** Idle connections are closed after this (default 4 s). */
  idleSocketMs?: number;
  /** Largest response body accepted (default 1 MiB). */
  maxResponseBytes?: number;
}

/** A failed exchange; `stale` = a reused connection closed before any byte of the response. */
export class Http1Error extends Error {
  constructor(message: string, readonly stale = false, readonly tooLarge = false) { super(message); }
}

export type Http1Callback = (err: Http1Error | undefined, res?: Http1Response) => void;

/** A request that can be cancelled (timeout): its connection is destroyed. */
export interface Http1Request {
  cancel(): void;
}

const MAX_HEAD = 64 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const enum Body { None, Length, Chunked, UntilClose }

interface Job {
  readonly bytes: Buffer;
  readonly done: Http1Callback;
  conn: Conn | undefined;
  cancelled: boolean;
}

class Conn implements Http1Request {
  readonly socket: net.Socket;
  job: Job | undefined;
  /** Requests this connection has carried: a failure before any response byte on a reused one is stale. */
  uses = 0;
  idleSince = 0;
  private buf: Buffer | undefined;
  private got = false;
  // Response being read.
  private status = 0;
  private headers: Record<string, string> = {};
  private keepAlive = true;
  private mode = Body.None;
  private remaining = 0;
  private chunks: Buffer[] = [];
  private size = 0;
  /** Chunked: true while reading a chunk's data (then `remaining` bytes + CRLF). */
  private inChunk = false;
  /** Set when the whole response has been read. */
  private done = false;

  constructor(readonly pool: OriginPool) {
    this.socket = net.connect({ host: pool.origin.host, port: pool.origin.port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => { /* 'close' follows and fails the job */ });
    this.socket.on('close', () => this.onClose());
  }

  start(job: Job): void {
    this.job = job;
    job.conn = this;
    this.uses++;
    this.got = false;
    this.status = 0;
    this.done = false;
    this.socket.write(job.bytes);
  }

  cancel(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.job === undefined) { this.socket.destroy(); return; } // unsolicited bytes
    this.got = true;
    let data = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    this.buf = undefined;
    let res: Http1Response | undefined;
    while (data.length > 0 && res === undefined) {
      const used = this.status === 0 ? this.readHead(data) : this.readBody(data);
      if (used < 0) return; // failed and destroyed
      if (used === 0) { this.buf = data; return; }
      data = data.subarray(used);
      if (this.done) res = this.finish();
    }
    if (res === undefined) return;
    const job = this.job!;
    this.job = undefined;
    // Bytes beyond the response, or the server's wish: the connection is not reused.
    if (data.length > 0 || !this.keepAlive) this.socket.destroy(); else this.pool.release(this);
    if (!job.cancelled) job.done(undefined, res);
  }

  /** Parses a status line and headers; 0 when incomplete. */
  private readHead(data: Buffer): number {
    const end = data.indexOf(CRLFCRLF);
    if (end < 0) {
      if (data.length > MAX_HEAD) return this.fail('response head too large');
      return 0;
    }
    const lines = data.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!);
    if (!m) return this.fail('not an HTTP/1.x response');
    const status = Number(m[2]);
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers[name];
      headers[name] = prev === undefined ? value : `${prev}, ${value}`;
    }
    const used = end + 4;
    // §15.2: informational responses precede the final one.
    if (status >= 100 && status < 200 && status !== 101) return used;
    this.status = status;
    this.headers = headers;
    const connection = headers.connection?.toLowerCase();
    this.keepAlive = m[1] === '1' ? connection !== 'close' : connection === 'keep-alive';
    this.chunks = [];
    this.size = 0;
    const te = headers['transfer-encoding']?.toLowerCase();
    if (status === 204 || status === 304) {
      this.mode = Body.None;
    } else if (te !== undefined && te.endsWith('chunked')) {
      this.mode = Body.Chunked;
      this.inChunk = false;
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (!Number.isSafeInteger(n) || n < 0) return this.fail('invalid Content-Length');
      this.mode = n === 0 ? Body.None : Body.Length;
      this.remaining = n;
    } else {
      this.mode = Body.UntilClose;
      this.keepAlive = false;
    }
    if (this.mode === Body.None) this.complete();
    return used;
  }

  /** Consumes body bytes; 0 when more are needed to make progress. */
  private readBody(data: Buffer): number {
    if (this.mode === Body.Length || this.mode === Body.UntilClose) {
      const n = this.mode === Body.Length && data.length > this.remaining ? this.remaining : data.length;
      if (!this.take(data.subarray(0, n))) return -1;
      this.remaining -= n;
      if (this.mode === Body.Length && this.remaining === 0) this.complete();
      return n;
    }
    // Chunked (§7.1): size [;ext] CRLF data CRLF … 0 CRLF [trailers] CRLF
    if (this.inChunk) {
      if (this.remaining > 0) {
        const n = data.length > this.remaining ? this.remaining : data.length;
        if (!this.take(data.subarray(0, n))) return -1;
        this.remaining -= n;
        return n;
      }
      if (data.length < 2) return 0;
      this.inChunk = false;
      return 2; // the CRLF after the data
    }
    const eol = data.indexOf('\r\n');
    if (eol < 0) return data.length > 1024 ? this.fail('chunk size line too long') : 0;
    if (this.remaining === -1) {
      // Trailer section: ends with an empty line.
      if (eol === 0) this.complete();
      return eol + 2;
    }
    const size = parseInt(data.toString('latin1', 0, eol).split(';')[0]!.trim(), 16);
    if (!Number.isSafeInteger(size) || size < 0) return this.fail('invalid chunk size');
    if (size === 0) { this.remaining = -1; return eol + 2; }
    this.inChunk = true;
    this.remaining = size;
    return eol + 2;
  }

  private take(part: Buffer): boolean {
    this.size += part.length;
    if (this.size > this.pool.maxResponseBytes) {
      this.fail(`response larger than ${this.pool.maxResponseBytes} bytes`, true);
      return false;
    }
    if (part.length > 0) this.chunks.push(part);
    return true;
  }

  /** The response is complete (read by onData / onClose). */
  private complete(): void {
    this.done = true;
  }

  private finish(): Http1Response {
    const res: Http1Response = {
      status: this.status,
      headers: this.headers,
      body: this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks),
    };
    this.done = false;
    this.status = 0;
    this.chunks = [];
    this.remaining = 0;
    return res;
  }

  private fail(message: string, tooLarge = false): -1 {
    const job = this.job;
    this.job = undefined;
    this.socket.destroy();
    if (job !== undefined && !job.cancelled) job.done(new Http1Error(message, false, tooLarge));
    return -1;
  }

  private onClose(): void {
    this.pool.forget(this);
    const job = this.job;
    if (job === undefined) return;
    this.job = undefined;
    if (job.cancelled) return;
    if (this.status !== 0 && this.mode === Body.UntilClose) {
      job.done(undefined, this.finish());
      return;
    }
    const stale = !this.got && this.uses > 1;
    job.done(new Http1Error(this.got ? 'connection closed before the response ended' : 'socket hang up', stale));
  }
}

/** The connections to one origin. */
class OriginPool {
  private readonly idle: Conn[] = [];
  private readonly waiting: Job[] = [];
  private readonly all = new Set<Conn>();

  constructor(readonly origin: Http1Origin, private readonly maxSockets: number, readonly maxResponseBytes: number) {}

  get size(): number { return this.all.size; }

  submit(job: Job, fresh: boolean): void {
    if (!fresh) {
      const conn = this.idle.pop();
      if (conn !== undefined) { conn.start(job); return; }
    }
    if (this.all.size < this.maxSockets) {
      const conn = new Conn(this);
      this.all.add(conn);
      conn.start(job);
      return;
    }
    this.waiting.push(job);
  }

  release(conn: Conn): void {
    for (let job = this.waiting.shift(); job !== undefined; job = this.waiting.shift()) {
      if (job.cancelled) continue;
      conn.start(job);
      return;
    }
    conn.idleSince = Date.now();
    this.idle.push(conn);
  }

  forget(conn: Conn): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // A connection slot is free: a waiting request gets a new connection.
    for (let job = this.waiting.shift(); job !== undefined; job = this.waiting.shift()) {
      if (job.cancelled) continue;
      const c = new Conn(this);
      this.all.add(c);
      c.start(job);
      return;
    }
  }

  cancel(job: Job): void {
    const i = this.waiting.indexOf(job);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  sweep(before: number): void {
    for (const conn of this.idle.filter((c) => c.idleSince < before)) conn.socket.destroy();
  }

  destroy(): void {
    this.waiting.length = 0;
    for (const conn of [...this.all]) conn.socket.destroy();
  }
}

export class Http1Pool {
  private readonly origins = new Map<string, OriginPool>();
  private readonly maxSockets: number;
  private readonly idleSocketMs: number;
  private readonly maxResponseBytes: number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(opts: Http1PoolOptions = {}) {
    this.maxSockets = Math.max(1, opts.maxSockets ?? 16);
    this.idleSocketMs = opts.idleSocketMs ?? 4000;
    this.maxResponseBytes = opts.maxResponseBytes ?? 1024 * 1024;
  }

  /**
   * Sends `bytes` (a complete request) to `origin`; `done` is called once with the response or
   * the failure. `fresh` forces a new connection (the retry after a stale keep-alive one).
   */
  request(origin: Http1Origin, bytes: Buffer, done: Http1Callback, fresh = false): Http1Request {
    const key = `${origin.host}:${origin.port}`;
    let pool = this.origins.get(key);
    if (pool === undefined) {
      pool = new OriginPool(origin, this.maxSockets, this.maxResponseBytes);
      this.origins.set(key, pool);
    }
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(250, this.idleSocketMs / 2)).unref();
    const job: Job = { bytes, done, conn: undefined, cancelled: false };
    const owner = pool;
    pool.submit(job, fresh);
    return {
      cancel: () => {
        if (job.cancelled) return;
        job.cancelled = true;
        if (job.conn !== undefined && job.conn.job === job) job.conn.cancel();
        else owner.cancel(job);
      },
    };
  }

  private sweep(): void {
    const before = Date.now() - this.idleSocketMs;
    for (const pool of this.origins.values()) pool.sweep(before);
  }

  /** Connections open to an origin (tests, diagnostics). */
  connections(origin: Http1Origin): number {
    return this.origins.get(`${origin.host}:${origin.port}`)?.size ?? 0;
  }

  /** Ends every connection; requests in flight fail. */
  close(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const pool of this.origins.values()) pool.destroy();
    this.origins.clear();
  }
}
