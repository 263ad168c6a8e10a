// Request/response commands (issue 10 part 6, beyond Drogue Cloud; Hono and AWS IoT have them):
// a command sent with `expectReply` carries a request id (`mooringrequest`, the command's id); the
// gateway gives it to the device (v5: Response Topic `command/reply/<id>` and Correlation Data;
// 3.1.1: the command arrives on `<command topic>/<id>`) and the device answers by publishing to
// `command/reply/<id>`. Only the connections the command was routed to (the addressed device or
// one of its gateways) may answer; the first answer wins. Replies are matched in this process:
// the instance that sent the command is the one whose gateway takes the reply (embedded mode).

import { MooringError } from '../../events/errors.ts';

export const REPLY_PREFIX = 'command/reply/';

export interface CommandReply {
  readonly payload: Uint8Array;
  readonly contentType?: string | undefined;
  /** The connection that answered. */
  readonly sender: string;
}

export interface ReplyOffer extends CommandReply {
  readonly application: string;
  readonly request: string;
}

/** What a gateway calls with a device's answer; true when a waiting command took it. */
export type ReplyReceiver = (reply: ReplyOffer) => boolean;

interface Pending {
  application: string;
  allowed: ReadonlySet<string>;
  resolve: (r: CommandReply) => void;
  reply: CommandReply | undefined;
}

export class PendingReplies {
  private readonly pending = new Map<string, Pending>();

  /** Starts waiting for the reply to `request`; `allowed` are the connections that may answer. */
  expect(request: string, application: string, allowed: Iterable<string>, forgetAfterMs = 120_000): void {
    this.pending.set(request, { application, allowed: new Set(allowed), resolve: () => {}, reply: undefined });
    // A caller that never waits does not leave its request behind.
    setTimeout(() => { if (this.pending.get(request)?.reply !== undefined) this.pending.delete(request); }, forgetAfterMs).unref();
  }

  /** The reply, or MOORING_TIMEOUT after `timeoutMs`; the request is forgotten either way. */
  wait(request: string, timeoutMs: number): Promise<CommandReply> {
    const p = this.pending.get(request);
    if (p === undefined) return Promise.reject(new MooringError('MOORING_TIMEOUT', `no command ${request} is waiting for a reply`));
    if (p.reply !== undefined) {
      this.pending.delete(request);
      return Promise.resolve(p.reply);
    }
    return new Promise<CommandReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(request);
        reject(new MooringError('MOORING_TIMEOUT', `command ${request}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      p.resolve = (r) => { clearTimeout(timer); this.pending.delete(request); resolve(r); };
    });
  }

  readonly receive: ReplyReceiver = (offer) => {
    const p = this.pending.get(offer.request);
    if (p === undefined || p.reply !== undefined || p.application !== offer.application || !p.allowed.has(offer.sender)) return false;
    p.reply = { payload: offer.payload, contentType: offer.contentType, sender: offer.sender };
    p.resolve(p.reply);
    return true;
  };

  get size(): number { return this.pending.size; }
}
