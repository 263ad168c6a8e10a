// "Send command": the one entry point the command API (POST /api/command/v1alpha1/apps/{app}/
// devices/{device}?command=…) and the MQTT integration call. It builds the io.mooring.command.v1,
// runs command-dispatch on it in-process (the same code the Trigger runs, so the caller learns
// the outcome at once), and publishes the routed commands; it resolves after the bus accepted
// them (a command 202 only after the bus ack, ARCHITECTURE.md principle 5).

import type { CloudEvent } from '../../events/cloudevent.ts';
import { commandEvent } from '../../events/constructors.ts';
import { CommandExt, EventTypes } from '../../events/types.ts';
import { tryParseIsoDuration } from '../../events/duration.ts';
import { MooringError } from '../../events/errors.ts';
import { rfc3339 } from '../../events/time.ts';
import type { EventBus } from '../ports/bus.ts';
import type { FunctionContext, MooringFunction } from '../ports/runtime.ts';
import { PendingReplies, type CommandReply, type ReplyReceiver } from './replies.ts';
import { createCommandDispatch, dispatchCommand, type CommandOutcome, type CommandPorts, type TargetResult } from './dispatch.ts';

/**
 * The response header the command API answers with, carrying `SendCommandResult.outcome`
 * (delivered, queued, offline, external): how an application tells what happened to a 202.
 * Drogue answered 202 whatever happened; 200 (empty) for an external endpoint, as Drogue did.
 */
export const OUTCOME_HEADER = 'mooring-command-outcome';

export interface SendCommandRequest {
  application: string;
  device: string;
  /** The command name (`?command=`): delivered on `command/inbox/…/<command>`. */
  command: string;
  payload?: Uint8Array | undefined;
  /** Kept and delivered to the device (v5 Content Type). */
  contentType?: string | undefined;
  /**
   * ISO-8601 duration (`PT10M`): a target that is not connected keeps the command this long and
   * gets it, in order, when it connects and subscribes. Without one, best effort (Drogue).
   */
  ttl?: string | undefined;
  /**
   * Request/response: the device gets a reply address (v5 Response Topic and Correlation Data,
   * 3.1.1 the request id as the last topic level) and the result offers `awaitReply`.
   */
  expectReply?: boolean | undefined;
}

export interface SendCommandResult {
  /** See CommandOutcome: delivered, queued, offline (dropped) or external. */
  readonly outcome: CommandOutcome;
  readonly targets: readonly TargetResult[];
  /** The id of the io.mooring.command.v1 built for the request (the request id of a reply). */
  readonly id: string;
  /**
   * With `expectReply`: the device's (or its gateway's) reply, or MOORING_TIMEOUT (504) after
   * `timeoutMs`. Call it once.
   */
  awaitReply?: (timeoutMs: number) => Promise<CommandReply>;
}

export interface CommandService {
  /**
   * Rejects with MooringError MOORING_INVALID_REQUEST (400: command name, TTL), MOORING_REJECTED
   * (406: application or device missing or disabled, external endpoint failed or of an unknown
   * type), MOORING_BUS_FULL / MOORING_UNAVAILABLE (503).
   */
  sendCommand(request: SendCommandRequest): Promise<SendCommandResult>;
  /** The Trigger subscriber for commands that enter through the bus (knative/templates/command-triggers.yaml). */
  readonly dispatch: MooringFunction;
  /** Hand this to the MQTT gateway (`replies` option): devices' answers to request/response commands. */
  readonly receiveReply: ReplyReceiver;
  /** A reply another instance took and routed here (io.mooring.command.reply.v1); true when a waiting command took it. */
  receiveRoutedReply(event: CloudEvent): boolean;
  /** Commands sent (sendCommand) by outcome: delivered, queued, offline, external, or refused (it threw). */
  outcomes(): Readonly<Record<CommandOutcome | 'refused', number>>;
}

export interface CommandServiceOptions extends CommandPorts {
  bus: Pick<EventBus, 'publish'>;
  ctx: FunctionContext;
  /** Longest TTL accepted (default 7 days). */
  maxTtlMs?: number;
  /**
   * This process's instance id (the gateway's, in the connection directory): a reply taken by
   * another instance is routed here (io.mooring.command.reply.v1, `mooringholder`).
   */
  instanceId?: string | undefined;
}

/** MQTT topic levels may not carry wildcards or NUL (§4.7.3); a command name ends a topic. */
const badCommand = (name: string): boolean => name.includes('+') || name.includes('#') || name.includes('\u0000');

export function createCommandService(options: CommandServiceOptions): CommandService {
  const { bus, ctx } = options;
  const maxTtlMs = options.maxTtlMs ?? 7 * 24 * 3600 * 1000;
  const replies = new PendingReplies();
  const outcomes: Record<CommandOutcome | 'refused', number> = { delivered: 0, queued: 0, offline: 0, external: 0, refused: 0 };
  const send = async (req: SendCommandRequest): Promise<SendCommandResult> => {
    if (req.command === '' || badCommand(req.command)) {
      throw new MooringError('MOORING_INVALID_REQUEST', `command name ${JSON.stringify(req.command)} must be non-empty, without + # or NUL`);
    }
    const now = ctx.clock.now();
    let expires: string | undefined;
    if (req.ttl !== undefined && req.ttl !== '') {
      const ms = tryParseIsoDuration(req.ttl);
      if (ms === undefined || ms > maxTtlMs) {
        throw new MooringError('MOORING_INVALID_REQUEST', `ttl ${JSON.stringify(req.ttl)} must be an ISO-8601 duration of at most ${maxTtlMs / 1000} s`);
      }
      if (ms > 0) expires = rfc3339(now + ms);
    }
    const id = ctx.newId();
    const event = commandEvent({
      id, time: rfc3339(now), application: req.application, device: req.device, command: req.command,
      payload: req.payload, contentType: req.contentType, expires, request: req.expectReply === true ? id : undefined,
      replyTo: req.expectReply === true ? options.instanceId : undefined,
    });
    const d = await dispatchCommand(event, ctx, options);
    // Waiting starts before the command leaves: a quick device's answer is not missed.
    if (req.expectReply === true) replies.expect(id, req.application, d.targets.map((t) => t.target));
    if (d.events.length > 0) await bus.publish([...d.events]);
    const result = { outcome: d.outcome, targets: d.targets, id };
    return req.expectReply === true ? { ...result, awaitReply: (timeoutMs: number) => replies.wait(id, timeoutMs) } : result;
  };
  return {
    outcomes: () => outcomes,
    dispatch: createCommandDispatch(options),
    receiveReply: replies.receive,
    receiveRoutedReply: (event) => {
      const x = event.extensions;
      const [application, device, request] = [x[CommandExt.application], x[CommandExt.device], x[CommandExt.request]];
      if (event.type !== EventTypes.commandReply || typeof application !== 'string' || typeof device !== 'string' || typeof request !== 'string') return false;
      return replies.receive({ application, sender: device, request, payload: event.data ?? new Uint8Array(0), contentType: event.datacontenttype });
    },
    async sendCommand(req) {
      try {
        const result = await send(req);
        outcomes[result.outcome]++;
        return result;
      } catch (err) {
        outcomes.refused++;
        throw err;
      }
    },
  };
}
