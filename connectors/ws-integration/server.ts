// The WebSocket integration (Drogue's websocket-integration; `drg stream`): `GET /{app}` or
// `/{app}/{channel}` upgraded to a WebSocket that carries the application's stream, one text
// frame per event (structured CloudEvent JSON, connectors/stream/format.ts). Before the upgrade:
// the API's credential forms (§6.1, the query forms `?token=` and `?username=&api_key=` included;
// bad credentials 403) and Read on the application (denied or missing: 404), the consumer group
// `?group_id=` (`{app}.{id}`; without it an anonymous group of its own, starting at the latest
// event). After it: a ping (`PING`) every 5 s, closed after 10 s without a pong or message; a
// JWT's expiry checked every 90 s (1008 "JWT token expired"); the one client message
// `{"RefreshAccessToken": "<jwt>"}` (denied: 1008, invalid: 1011, not JSON: 1002); a stream that
// fails: 1011. An event counts as delivered to its group once its frame is written.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { isMooringError, MooringError } from '../../events/errors.ts';
import { Admission, opened } from '../net/admission.ts';
import { httpServerOptions, limitHttp } from '../net/http.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import type { Delivery, StreamMember } from '../stream/group.ts';
import { encodeForApplication } from '../stream/format.ts';
import type { StreamHandle, StreamSource } from '../stream/source.ts';
import type { IntegrationAuth, IntegrationUser } from '../mqtt-integration/types.ts';

export interface WsIntegrationOptions {
  source: StreamSource;
  auth: IntegrationAuth;
  logger: Logger;
  /** `MOORING_WS_INTEGRATION_PORT` (default 10002; 0: a free port). */
  port?: number;
  host?: string;
  /** Drogue's timing (ms): ping 5000, silence 10 000, JWT expiry check 90 000. */
  pingMs?: number;
  silenceMs?: number;
  expiryCheckMs?: number;
  /** Frames written and not yet flushed per socket before it gets no more events (default 64). */
  window?: number;
  /**
   * Bytes a socket may have unsent (`MOORING_MAX_OUTGOING_BYTES`, default 1 MiB): past half it gets
   * no more events until it drains, past the bound it is terminated as a slow consumer.
   */
  maxWriteBuffer?: number;
  /** Admission at accept, shared by every device-facing listener; default one of its own. */
  admission?: Admission | undefined;
}

export interface WsIntegration {
  readonly address: AddressInfo;
  /** Open WebSockets. */
  readonly connections: number;
  close(): Promise<void>;
}

/** WebSocket close codes Drogue uses. */
export const CLOSE = { protocolError: 1002, policyViolation: 1008, internalError: 1011 } as const;

function answer(socket: Duplex, status: number, error: string, message: string): void {
  const body = JSON.stringify({ error, message });
  socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 403 ? 'Forbidden' : 'Bad Request'}\r\n`
    + `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/** `/{app}` or `/{app}/{channel}`, percent-decoded; undefined for any other path. */
export function parseStreamPath(pathname: string): { application: string; channel: string | undefined } | undefined {
  const parts = pathname.split('/').slice(1);
  if (parts.length < 1 || parts.length > 2 || parts[0] === '' || parts[1] === '') return undefined;
  try {
    return { application: decodeURIComponent(parts[0]!), channel: parts[1] === undefined ? undefined : decodeURIComponent(parts[1]) };
  } catch {
    return undefined;
  }
}

/** One WebSocket as a member of its stream group; it joins before the upgrade completes, so no event is missed. */
class Socket implements StreamMember {
  private writing = 0;
  ws: WebSocket | undefined;
  handle: StreamHandle | undefined;
  lastSeen = Date.now();

  constructor(
    private readonly window: number, private readonly maxWriteBuffer: number, private readonly logger: Logger,
    public user: IntegrationUser | undefined,
  ) {}

  room(): number {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== ws.OPEN || ws.bufferedAmount > this.maxWriteBuffer / 2) return 0;
    return this.window - this.writing;
  }

  send(d: Delivery): void {
    const ws = this.ws!;
    this.writing++;
    ws.send(encodeForApplication(d.event).toString('utf8'), (err) => {
      this.writing--;
      if (err === undefined || err === null) d.ack();
      this.handle?.group.pump();
    });
    if (ws.bufferedAmount > this.maxWriteBuffer) {
      const err = new MooringError('MOORING_SLOW_CONSUMER', `outgoing queue of ${ws.bufferedAmount} bytes exceeds the bound of ${this.maxWriteBuffer}`);
      this.logger.warn({ err: err.toJSON() }, 'ws integration: slow consumer disconnected');
      ws.terminate();
    }
  }

  leave(): void {
    this.handle?.leave();
    this.handle = undefined;
  }
}

export async function startWsIntegration(options: WsIntegrationOptions): Promise<WsIntegration> {
  const { source, auth, logger } = options;
  const pingMs = options.pingMs ?? 5000;
  const silenceMs = options.silenceMs ?? 10_000;
  const expiryCheckMs = options.expiryCheckMs ?? 90_000;
  const window = options.window ?? 64;
  const maxWriteBuffer = options.maxWriteBuffer ?? 1024 * 1024;
  const admission = options.admission ?? new Admission({}, logger);
  // The upgrade request is bounded like any HTTP request (headers within the handshake timeout).
  const limits = { headersTimeoutMs: admission.limits.handshakeTimeoutMs, requestTimeoutMs: admission.limits.handshakeTimeoutMs };
  const server: Server = limitHttp(createServer(httpServerOptions(limits), (_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'InvalidRequest', message: 'a WebSocket upgrade is required' }));
  }), limits);
  admission.guard(server);
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void upgrade(req, socket, head).catch((err: unknown) => {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'ws integration: upgrade failed');
      answer(socket, 500, 'InternalError', 'internal error');
    });
  });

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = parseStreamPath(url.pathname);
    if (path === undefined) return answer(socket, 404, 'NotFound', 'Not found');
    const query = Object.fromEntries(url.searchParams);
    let user: IntegrationUser | undefined;
    try {
      user = await auth.fromRequest(req.headers.authorization, query);
    } catch (err) {
      if (isMooringError(err) && err.status === 403) return answer(socket, 403, 'Forbidden', err.message);
      throw err;
    }
    if ((await auth.authorize(path.application, user, 'Read')) !== 'allow') {
      return answer(socket, 404, 'NotFound', `Resource not found: Application / ${path.application}`);
    }
    const group = url.searchParams.get('group_id') ?? undefined;
    const member = new Socket(window, maxWriteBuffer, logger, user);
    let failed = false;
    try {
      member.handle = await source.join({ application: path.application, group: group === '' ? undefined : group, channel: path.channel }, member);
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err), application: path.application }, 'ws integration: stream failed');
      failed = true;
    }
    if (socket.destroyed) return member.leave();
    wss.handleUpgrade(req, socket, head, (ws) => {
      opened(socket); // no longer a pending handshake
      if (failed) return ws.close(CLOSE.internalError, 'stream failed');
      serve(ws, member, path.application);
    });
  }

  function serve(ws: WebSocket, member: Socket, application: string): void {
    member.ws = ws;
    member.lastSeen = Date.now(); // the join may have taken a while: silence counts from the upgrade
    const seen = (): void => { member.lastSeen = Date.now(); };
    ws.on('pong', seen);
    ws.on('ping', seen);
    ws.on('message', (data) => {
      seen();
      void refresh(member, Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(new Uint8Array(data)), application);
    });
    const ping = setInterval(() => {
      if (Date.now() - member.lastSeen > silenceMs) { ws.terminate(); return; }
      ws.ping('PING');
    }, pingMs);
    const expiry = setInterval(() => {
      const exp = member.user?.expires;
      if (exp !== undefined && exp * 1000 <= Date.now()) ws.close(CLOSE.policyViolation, 'JWT token expired');
    }, expiryCheckMs);
    ws.on('close', () => {
      clearInterval(ping);
      clearInterval(expiry);
      member.leave();
    });
    member.handle?.group.pump();
  }

  async function refresh(member: Socket, data: Buffer, application: string): Promise<void> {
    let token: unknown;
    try {
      token = (JSON.parse(data.toString('utf8')) as { RefreshAccessToken?: unknown }).RefreshAccessToken;
    } catch {
      return void member.ws?.close(CLOSE.protocolError, 'invalid message');
    }
    if (typeof token !== 'string') return void member.ws?.close(CLOSE.protocolError, 'invalid message');
    try {
      const user = await auth.verifyJwt(token);
      if ((await auth.authorize(application, user, 'Read')) !== 'allow') return void member.ws?.close(CLOSE.policyViolation, 'access denied');
      member.user = user;
    } catch {
      member.ws?.close(CLOSE.internalError, 'token validation failed');
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 10002, options.host, () => { server.off('error', reject); resolve(); });
  });
  return {
    address: server.address() as AddressInfo,
    get connections() { return wss.clients.size; },
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((done) => wss.close(() => done()));
      await new Promise<void>((done) => { server.close(() => done()); server.closeAllConnections(); });
    },
  };
}
