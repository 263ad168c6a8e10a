// The HTTP device endpoint (Drogue Cloud's http-endpoint, reference apps §1 and §2):
//   POST /v1/{channel}[/{suffix…}]   a device event (the suffix is accepted and ignored, as Drogue)
//   POST /ttn, /ttn/, /ttn/v2, /ttn/v3   The Things Network webhooks
//   GET  /                           200, empty
// Each request is authenticated through functions/authz (auth.ts), its content type checked with
// the same pure code the MQTT gateway and the content-type function use, and published as the raw
// io.mooring.publish.v1 (normalize and content-type make it Drogue's io.drogue.event.v1, as for
// MQTT). 202 only after the bus accepted it (on Kafka: acks=all). With `ct` the request then waits
// for a command (commands.ts) and answers 200 with it.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { withAttributes, type CloudEvent } from '../../events/cloudevent.ts';
import { ingressTraceparent } from '../../events/trace.ts';
import { ingressTrace } from '../../functions/ports/tracing.ts';
import { publishEvent } from '../../events/constructors.ts';
import { MooringError } from '../../events/errors.ts';
import { rfc3339 } from '../../events/time.ts';
import { PublishExt } from '../../events/types.ts';
import { resolveContentType } from '../../functions/content-type/sniff.ts';
import { PskIndex, deviceTlsOptions, dropFailedHandshakes, tlsInfoOf } from '../mqtt/listeners/tls.ts';
import { startListening, type RunningListener } from '../mqtt/listeners/tcp.ts';
import type { TlsInfo } from '../mqtt/core.ts';
import { HttpAuth, type Authenticated, type Credentials } from './auth.ts';
import { CommandWaiters, type Wait } from './commands.ts';
import { resolveHttpOptions, type HttpEndpointOptions, type ResolvedHttpOptions } from './options.ts';
import { readBody, sendError, sendStatus } from './respond.ts';
import { Admission, opened } from '../net/admission.ts';
import { httpServerOptions, limitHttp } from '../net/http.ts';
import { parseV2, parseV3, portSchema, ttnPayload, type Uplink } from './ttn.ts';

export interface HttpEndpointStats {
  requests: number;
  /** Answered 202 or 200: the bus accepted the event. */
  accepted: number;
  /** Answered with an error status. */
  refused: number;
  /** Answered 200 with a command. */
  commandsDelivered: number;
}

export interface HttpAddresses {
  http?: { port: number };
  https?: { port: number };
}

export interface HttpEndpoint {
  /** Starts the listeners the options ask for. */
  listen(): Promise<HttpAddresses>;
  /** The request handler (tests may mount it on their own server). */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** A command routed to this instance: true when a request waiting with `ct` took it. */
  offerCommand(event: CloudEvent): boolean;
  /** Requests waiting for a command now. */
  readonly waiting: number;
  readonly stats: Readonly<HttpEndpointStats>;
  close(): Promise<void>;
}

const kTls = Symbol('mooring.http.tls');
type InfoSocket = Socket & { [kTls]?: TlsInfo };

/** One query parameter (the first, when repeated); undefined when absent. */
function param(q: URLSearchParams, name: string): string | undefined {
  return q.get(name) ?? undefined;
}

/** `ct` / `commandTimeout`: whole seconds (u64); 400 when it does not parse. */
function commandTimeout(q: URLSearchParams): number {
  const raw = q.get('ct') ?? q.get('commandTimeout');
  if (raw === null) return 0;
  if (!/^\d{1,15}$/.test(raw)) throw new MooringError('MOORING_INVALID_REQUEST', `Query deserialize error: ct must be a number of seconds, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

class Endpoint implements HttpEndpoint {
  readonly opts: ResolvedHttpOptions;
  readonly stats: HttpEndpointStats = { requests: 0, accepted: 0, refused: 0, commandsDelivered: 0 };
  private readonly auth: HttpAuth;
  private readonly waiters: CommandWaiters;
  private readonly listeners: RunningListener[] = [];
  private psk: PskIndex | undefined;
  private readonly admission: Admission;

  constructor(options: HttpEndpointOptions) {
    this.opts = resolveHttpOptions(options);
    this.admission = options.admission ?? new Admission({}, this.opts.logger);
    this.auth = new HttpAuth(this.opts);
    this.waiters = new CommandWaiters(this.opts);
  }

  get waiting(): number { return this.waiters.size; }

  offerCommand(event: CloudEvent): boolean { return this.waiters.offer(event); }

  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    this.stats.requests++;
    this.route(req, res).catch((err: unknown) => this.fail(req, res, err));
  };

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.stats.refused++;
    sendError(req, res, err, this.opts.logger);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const mark = url.indexOf('?');
    const path = mark < 0 ? url : url.slice(0, mark);
    const query = new URLSearchParams(mark < 0 ? '' : url.slice(mark + 1));
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      throw new MooringError('MOORING_INVALID_REQUEST', 'Bad Request: an HTTP/1.1 request must carry a Host header');
    }
    if (req.method === 'GET' && path === '/') return sendStatus(res, 200);
    if (req.method === 'POST') {
      if (path.startsWith('/v1/')) {
        const end = path.indexOf('/', 4);
        const segment = end < 0 ? path.slice(4) : path.slice(4, end);
        if (segment !== '') return this.publish(req, res, decodeSegment(segment), query);
      } else if (path === '/ttn' || path === '/ttn/' || path === '/ttn/v2') {
        return this.ttn(req, res, query, parseV2, true);
      } else if (path === '/ttn/v3') {
        return this.ttn(req, res, query, parseV3, false);
      }
    }
    throw new MooringError('MOORING_NOT_FOUND', `no route for ${req.method ?? ''} ${path}`);
  }

  private credentials(req: IncomingMessage, query: URLSearchParams): Credentials {
    return {
      authorization: req.headers.authorization,
      application: param(query, 'application'),
      device: param(query, 'device'),
      tls: (req.socket as InfoSocket)[kTls],
    };
  }

  /** POST /v1/{channel}: authenticate, check, publish, 202 after the bus ack; 200 with a command. */
  private async publish(req: IncomingMessage, res: ServerResponse, channel: string, query: URLSearchParams): Promise<void> {
    const { opts } = this;
    const ct = Math.min(commandTimeout(query), opts.maxCommandWaitSeconds);
    const body = await readBody(req, opts.maxBodySize);
    const who = await this.auth.authenticate(this.credentials(req, query), true, req.socket);
    this.admit(who, body.length, res);
    const target = await this.auth.actingFor(who, param(query, 'as'), param(query, 'device'));
    const header = req.headers['content-type'];
    const contentType = header === undefined || header === '' ? undefined : header;
    const decision = resolveContentType(contentType, body);
    if (!decision.ok) throw new MooringError('MOORING_REJECTED', decision.message);
    const application = who.application.metadata.name;
    const sender = who.device.metadata.name;
    // The device's trace (its `traceparent` header) when valid, else a new one.
    const { traceparent, span } = ingressTrace(opts.tracer, 'http publish', req.headers.traceparent,
      opts.tracer && { 'url.path': `/v1/${channel}`, 'mooring.application': application, 'mooring.device': sender });
    const event = publishEvent({
      id: opts.newId(), time: rfc3339(opts.clock.now()), application, sender, topic: channel,
      payload: body, contentType, dialect: 'plainTopic', endpoint: 'http',
      device: target.name, dataschema: param(query, 'data_schema'),
      uids: { applicationUid: who.application.metadata.uid, senderUid: who.device.metadata.uid }, traceparent,
    });
    // Waiting starts before the event leaves: a command sent in reaction to it is not missed.
    let wait: Wait | undefined;
    if (ct > 0) {
      wait = await this.waiters.start(application, sender, target.name === sender ? undefined : target.name, ct * 1000);
      res.once('close', () => wait!.cancel());
    }
    try {
      await opts.bus.publish(event);
      span?.end();
    } catch (err) {
      wait?.cancel();
      span?.end(err instanceof Error ? err.message : String(err));
      throw err;
    }
    this.stats.accepted++;
    if (wait === undefined) return sendStatus(res, 202);
    const command = await wait.command;
    if (command === undefined) return sendStatus(res, 202);
    if (res.destroyed) return;
    this.stats.commandsDelivered++;
    const headers: Record<string, string | number> = { command: command.name, 'content-length': command.payload.byteLength };
    if (command.contentType !== undefined) headers['content-type'] = command.contentType;
    if (command.device !== sender) headers.device = command.device;
    res.writeHead(200, headers);
    res.end(command.payload);
  }

  /**
   * Quotas (docs/quotas.md), shared with the MQTT gateway: the request counts as a connection of
   * the authenticated device until its answer is done (a `ct` wait included), its body against the
   * message and byte rates. Over a quota: 429 MOORING_QUOTA_EXCEEDED with Retry-After.
   */
  private admit(who: Authenticated, bytes: number, res: ServerResponse): void {
    const quotas = this.opts.quotas;
    if (quotas === undefined) return;
    const ticket = quotas.acquire(who.application, who.device.metadata.name, 'http');
    res.once('close', () => ticket.release());
    const ms = quotas.admit(ticket, bytes, 'http');
    if (ms > 0) throw quotas.admitError(ms, `device ${who.device.metadata.name}`);
  }

  /** A TTN uplink: `as` is the TTN device, the channel its port; never waits for a command. */
  private async ttn(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, parse: (body: Uint8Array) => Uplink, v2: boolean): Promise<void> {
    const { opts } = this;
    const body = await readBody(req, opts.maxBodySize);
    const uplink = parse(body);
    const who = await this.auth.authenticate(this.credentials(req, query), false, req.socket);
    this.admit(who, body.length, res);
    const target = await this.auth.actingFor({ ...who, mayActAs: true }, uplink.deviceId, undefined);
    const application = who.application.metadata.name;
    const sender = who.device.metadata.name;
    const about = target.name === sender ? who.device : await opts.registry.getDevice(application, target.name);
    const payload = ttnPayload(about, uplink, body);
    const port = String(uplink.port);
    const extensions: Record<string, string> = { lorawanport: port, hwaddr: uplink.hwaddr, [PublishExt.eventtime]: rfc3339(Date.parse(uplink.time)) };
    if (v2) extensions.lorawanretry = String(uplink.retry === true);
    const event = withAttributes(publishEvent({
      id: opts.newId(), time: rfc3339(opts.clock.now()), application, sender, topic: port,
      payload: payload.data, contentType: payload.contentType, dialect: 'plainTopic', endpoint: 'http',
      device: target.name, dataschema: param(query, 'data_schema') ?? portSchema(about, uplink.port),
      uids: { applicationUid: who.application.metadata.uid, senderUid: who.device.metadata.uid },
      traceparent: ingressTraceparent(req.headers.traceparent),
    }), { extensions });
    await opts.bus.publish(event);
    this.stats.accepted++;
    sendStatus(res, 202);
  }

  async listen(): Promise<HttpAddresses> {
    const { opts } = this;
    const out: HttpAddresses = {};
    const limits = { headersTimeoutMs: opts.headersTimeoutMs, requestTimeoutMs: opts.requestTimeoutMs };
    // Slowloris bounds (connectors/net/http.ts), admission at accept, and a connection is open
    // (no longer a pending handshake) once its first request arrived.
    const tune = (server: Server): void => {
      limitHttp(server, limits);
      this.admission.guard(server);
      server.on('request', (req: IncomingMessage) => opened(req.socket));
    };
    // A missing Host is refused by route() with a JSON answer (node's own refusal has no body).
    const options = { ...httpServerOptions(limits), requireHostHeader: false };
    if (opts.port !== false) {
      const server = createServer(options, this.handler);
      tune(server);
      const running = await startListening(server, opts.port, opts.host);
      this.listeners.push(running);
      out.http = { port: running.address.port };
    }
    if (opts.tls !== undefined && opts.tlsPort !== false) {
      this.psk = new PskIndex(opts);
      await this.psk.refresh();
      const server = createHttpsServer({ ...options, ...deviceTlsOptions(opts.tls, this.psk, this.admission.limits.handshakeTimeoutMs) }, this.handler);
      server.on('secureConnection', (socket: TLSSocket) => { (socket as InfoSocket)[kTls] = tlsInfoOf(socket); });
      dropFailedHandshakes(server, opts.logger, 'https');
      tune(server);
      const running = await startListening(server, opts.tlsPort, opts.host);
      this.listeners.push(running);
      out.https = { port: running.address.port };
    }
    return out;
  }

  async close(): Promise<void> {
    this.waiters.close();
    this.auth.close();
    this.psk?.close();
    for (const l of this.listeners.splice(0)) await l.close();
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new MooringError('MOORING_INVALID_REQUEST', `the channel ${JSON.stringify(segment)} is not valid percent-encoding`);
  }
}

export function createHttpEndpoint(options: HttpEndpointOptions): HttpEndpoint {
  return new Endpoint(options);
}
