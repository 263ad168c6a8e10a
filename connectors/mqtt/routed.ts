// Routed commands at the gateway: an io.mooring.command.v1 that command-dispatch routed to this
// instance goes to the one connection it names (the device itself, or its gateway `target`), on
// the topic that connection's subscriptions call for (Drogue's rules, commands.ts). A connection
// that cannot take it now gets it kept in the offline queue when it has a TTL; a SUBSCRIBE hands
// the queue's commands over in order. Request/response: v5 gets Response Topic and Correlation
// Data, 3.1.1 the request id as the topic's last level (functions/command-dispatch/replies.ts). A
// reply to a command another instance sent (`mooringreplyto`) is forwarded to it over the bus.

import type { UserProperties } from 'mqtt-packet';
import type { CloudEvent } from '../../events/cloudevent.ts';
import { CommandExt } from '../../events/types.ts';
import { REPLY_PREFIX, type ReplyOffer } from '../../functions/command-dispatch/replies.ts';
import { commandReplyEvent } from '../../events/constructors.ts';
import { rfc3339 } from '../../events/time.ts';
import { topicFor } from './commands.ts';
import type { SessionContext } from './context.ts';
import type { GatewayStats } from './core.ts';
import type { ResolvedOptions } from './options.ts';

/** What delivery needs of a connection (the gateway's Session). */
export interface Deliverable extends SessionContext {
  deliver(topic: string, payload: Uint8Array, contentType: string | undefined, userProperties: UserProperties | undefined,
    response?: { topic: string; correlation: Buffer }): boolean;
}

/** A request/response command delivered here whose reply another instance waits for. */
interface RemoteRequest {
  application: string;
  /** The connection it was delivered to: the only one whose reply is forwarded. */
  connection: string;
  replyTo: string;
  until: number;
}

const MAX_REMOTE_REQUESTS = 10_000;
const REMOTE_REQUEST_MS = 120_000;

export class RoutedCommands {
  private readonly remote = new Map<string, RemoteRequest>();

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly stats: GatewayStats,
    private readonly sessionOf: (application: string, device: string) => Deliverable | undefined,
  ) {}

  /** Delivers a routed command; 0 or 1 PUBLISH packets sent. */
  async deliver(event: CloudEvent): Promise<number> {
    const application = event.extensions[CommandExt.application];
    const device = event.extensions[CommandExt.device];
    if (typeof application !== 'string' || typeof device !== 'string') return 0;
    const target = String(event.extensions[CommandExt.target] ?? device);
    const s = this.sessionOf(application, target);
    const n = s === undefined ? 0 : this.deliverTo(s, event);
    const expires = event.extensions[CommandExt.expires];
    if (n === 0 && this.opts.queue !== undefined && typeof expires === 'string') {
      const at = Date.parse(expires);
      if (at > this.opts.clock.now()) {
        const { [CommandExt.holder]: _holder, ...extensions } = event.extensions;
        await this.opts.queue.put(application, target, { ...event, extensions }, at);
      }
    }
    return n;
  }

  /** After a SUBSCRIBE: the connection's queued commands, oldest first; what it cannot take stays queued. */
  async drain(s: SessionContext): Promise<void> {
    const queue = this.opts.queue;
    if (queue === undefined || s.who === undefined) return;
    const { application, device: self } = s.who;
    const session = this.sessionOf(application, self);
    if (session === undefined || (session as SessionContext) !== s) return;
    for (const event of await queue.take(application, self)) {
      if (this.deliverTo(session, event) === 0) {
        await queue.put(application, self, event, Date.parse(String(event.extensions[CommandExt.expires])));
      }
    }
  }

  private deliverTo(s: Deliverable, event: CloudEvent): number {
    const device = String(event.extensions[CommandExt.device]);
    const command = event.subject ?? String(event.extensions[CommandExt.command]);
    let topic = topicFor(s.subs, s.who!.device, device, command);
    if (topic === undefined) return 0;
    const request = event.extensions[CommandExt.request];
    let response: { topic: string; correlation: Buffer } | undefined;
    if (typeof request === 'string') {
      if (s.v5) response = { topic: REPLY_PREFIX + request, correlation: Buffer.from(request) };
      else topic = `${topic}/${request}`;
    }
    if (!s.deliver(topic, event.data ?? new Uint8Array(0), event.datacontenttype, undefined, response)) return 0;
    this.stats.commandsDelivered++;
    const replyTo = event.extensions[CommandExt.replyTo];
    if (typeof request === 'string' && typeof replyTo === 'string' && replyTo !== this.opts.instanceId) {
      if (this.remote.size >= MAX_REMOTE_REQUESTS) this.remote.delete(this.remote.keys().next().value!);
      this.remote.set(request, { application: s.who!.application, connection: s.who!.device, replyTo, until: this.opts.clock.now() + REMOTE_REQUEST_MS });
    }
    return 1;
  }

  /**
   * A reply no command of this process waits for: when the command was delivered here, to this
   * connection, for another instance, it goes to that instance through the bus (the first reply
   * only). Undefined when no such command was delivered here.
   */
  forwardReply(offer: ReplyOffer): Promise<void> | undefined {
    const r = this.remote.get(offer.request);
    if (r === undefined || r.application !== offer.application || r.connection !== offer.sender) return undefined;
    this.remote.delete(offer.request);
    if (r.until <= this.opts.clock.now()) return undefined;
    return this.opts.bus.publish(commandReplyEvent({
      id: this.opts.newId(), time: rfc3339(this.opts.clock.now()), application: offer.application, sender: offer.sender,
      request: offer.request, replyTo: r.replyTo, payload: offer.payload, contentType: offer.contentType,
    }));
  }
}
