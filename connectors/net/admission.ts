// Admission of connections to the device-facing listeners (MQTT TCP/TLS/WebSocket of the gateway
// and of the MQTT integration, the HTTP device endpoint, the WebSocket integration), in one place:
// one Admission is shared by every listener of a process (cli/mooring.ts) and guards each server
// before its protocol sees the socket. Two bounds: open connections per source address, and
// pending handshakes — accepted sockets not yet open (TLS handshake, WebSocket upgrade, MQTT
// CONNECT accepted, first HTTP request) across all listeners. A socket over a bound is reset at
// once, before any TLS or protocol work is spent on it. Loopback sources are exempt unless
// `limitLoopback` (benchmarks and sidecar proxies connect from 127.0.0.1, where the address says
// nothing about who is behind it). Each stage's own timeout ends a pending socket: TLS
// `handshakeTimeoutMs`, the HTTP headers timeout (./http.ts), the MQTT CONNECT timeout.

import { isIPv4, type Server, type Socket } from 'node:net';
import { MooringError } from '../../events/errors.ts';
import { silentLogger, type Logger } from '../../functions/ports/runtime.ts';

export interface AdmissionLimits {
  /** Open connections per source address (`MOORING_MAX_CONNECTIONS_PER_SOURCE`); 0: no bound. Default 1000. */
  maxPerSource?: number;
  /** Accepted connections not open yet, all listeners together (`MOORING_MAX_PENDING_HANDSHAKES`); 0: no bound. Default 1000. */
  maxPending?: number;
  /** Bound loopback sources too (`MOORING_LIMIT_LOOPBACK`). Default false: 127.0.0.0/8 and ::1 are exempt. */
  limitLoopback?: boolean;
  /** A TLS handshake or a WebSocket upgrade request must complete within this (`MOORING_HANDSHAKE_TIMEOUT_MS`). Default 10 000. */
  handshakeTimeoutMs?: number;
}

export interface AdmissionStats {
  /** Counted connections now open, and those of them still pending. */
  open: number;
  pending: number;
  admitted: number;
  refusedPerSource: number;
  refusedPending: number;
}

const kTicket = Symbol('mooring.admission.ticket');
const kRaw = Symbol('mooring.admission.raw');

/** What an admitted (counted) socket carries: its admission, its source, whether it is still pending. */
interface Ticket {
  readonly admission: Admission;
  readonly source: string;
  pending: boolean;
}

type Tagged = { [kTicket]?: Ticket; [kRaw]?: object; _parent?: object };

const WARN_EVERY_MS = 10_000;

function bound(name: string, value: number | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!Number.isSafeInteger(value) || value < 0) throw new MooringError('MOORING_INVALID_CONFIG', `admission: ${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}

export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || (isIPv4(v4) && v4.startsWith('127.'));
}

export class Admission {
  readonly limits: Readonly<Required<AdmissionLimits>>;
  readonly stats: AdmissionStats = { open: 0, pending: 0, admitted: 0, refusedPerSource: 0, refusedPending: 0 };
  private readonly perSource = new Map<string, number>();
  private lastWarn = 0;
  private readonly onConnection = (socket: Socket): void => { this.admit(socket); };

  constructor(limits: AdmissionLimits = {}, private readonly logger: Logger = silentLogger) {
    this.limits = Object.freeze({
      maxPerSource: bound('maxPerSource', limits.maxPerSource, 1000),
      maxPending: bound('maxPending', limits.maxPending, 1000),
      limitLoopback: limits.limitLoopback ?? false,
      handshakeTimeoutMs: Math.max(1, bound('handshakeTimeoutMs', limits.handshakeTimeoutMs, 10_000)),
    });
  }

  /** Admits every socket `server` accepts before its own listeners see it (refused ones are reset). */
  guard(server: Server): void {
    server.prependListener('connection', this.onConnection);
  }

  /** Counts `socket` in, or resets it when a bound is reached; true when admitted. */
  admit(socket: Socket): boolean {
    const source = socket.remoteAddress;
    if (source === undefined) { socket.destroy(); return false; }
    if (!this.limits.limitLoopback && isLoopback(source)) return true;
    const { maxPerSource, maxPending } = this.limits;
    const fromSource = this.perSource.get(source) ?? 0;
    if (maxPerSource > 0 && fromSource >= maxPerSource) return this.refuse(socket, 'refusedPerSource', `more than ${maxPerSource} connections from one source address`);
    if (maxPending > 0 && this.stats.pending >= maxPending) return this.refuse(socket, 'refusedPending', `more than ${maxPending} handshakes pending`);
    this.perSource.set(source, fromSource + 1);
    (socket as Tagged)[kTicket] = { admission: this, source, pending: true };
    this.stats.open++;
    this.stats.pending++;
    this.stats.admitted++;
    socket.once('close', onClose);
    return true;
  }

  /** Open connections counted for `source` now. */
  countOf(source: string): number {
    return this.perSource.get(source) ?? 0;
  }

  private refuse(socket: Socket, counter: 'refusedPerSource' | 'refusedPending', why: string): false {
    this.stats[counter]++;
    socket.resetAndDestroy();
    const now = Date.now();
    if (now - this.lastWarn >= WARN_EVERY_MS) {
      this.lastWarn = now;
      const err = new MooringError('MOORING_CONNECTION_LIMIT', `connection refused at accept: ${why}`);
      this.logger.warn({ err: err.toJSON(), refusedPerSource: this.stats.refusedPerSource, refusedPending: this.stats.refusedPending }, 'connections refused at accept');
    }
    return false;
  }

  /** @internal the socket closed: its counts go. */
  release(t: Ticket): void {
    this.stats.open--;
    if (t.pending) { t.pending = false; this.stats.pending--; }
    const n = (this.perSource.get(t.source) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(t.source);
    else this.perSource.set(t.source, n);
  }
}

function onClose(this: Socket): void {
  const t = (this as Tagged)[kTicket];
  if (t === undefined) return;
  (this as Tagged)[kTicket] = undefined;
  t.admission.release(t);
}

/**
 * The connection carried by `stream` is open (MQTT CONNECT accepted, WebSocket upgraded, an HTTP
 * request arrived): it no longer counts as pending. `stream` is the accepted socket, a TLS socket
 * over it, or a stream tagged with `carriedBy`; anything else (an in-memory stream) is ignored.
 */
export function opened(stream: object): void {
  const s = stream as Tagged;
  const raw = (s[kRaw] ?? s._parent ?? s) as Tagged;
  const t = raw[kTicket];
  if (t === undefined || !t.pending) return;
  t.pending = false;
  t.admission.stats.pending--;
}

/** Tags a stream made over an accepted socket (a WebSocket's Duplex) so that `opened` finds it. */
export function carriedBy(stream: object, socket: object): void {
  (stream as Tagged)[kRaw] = socket;
}
