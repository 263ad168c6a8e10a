// The stream source of the pull integrations (MQTT integration, WebSocket integration): an
// application's stream read from the bus as Drogue's integrations read `events-{app}`. Each
// consumer group is one Trigger on the bus: the filters of the application's push Trigger
// (knative/templates/app-trigger.yaml, the one routing truth), so an application pulls exactly
// what a push sink would receive, plus `subject` when a subscription narrows to one channel. The
// Trigger's subscriber is the group (./group.ts), declared with its own consumer group
// (`{app}.{group}`, starting at the latest event) so the Kafka bus gives it a group of its own on
// the broker topic (or on `events-{app}` with per-application topics); the in-memory bus runs it
// like any Trigger. The delivery rules stay the engine's: the group only says when an event is done.
//
// A group lives while it has members, and `idleMs` after the last one left (a plain subscription
// that reconnects with the same client id resumes where it left off, unacknowledged events
// first); then its Trigger is removed (Kafka keeps the committed offset for the next time).

import { randomUUID } from 'node:crypto';
import type { EventBus, SubscriberRef, TriggerSpec } from '../../functions/ports/bus.ts';
import type { Logger } from '../../functions/ports/runtime.ts';
import { renderAppTrigger } from '../knative/triggers.ts';
import { StreamGroup, type StreamMember } from './group.ts';

export interface StreamSourceOptions {
  bus: EventBus;
  /** The Broker the application Triggers name. */
  broker: { namespace: string; broker: string };
  /** The topic of an application's stream on a durable bus (per-application topics); default the Broker's. */
  topicOf?: ((application: string) => string | undefined) | undefined;
  /** The push Trigger template (default knative/templates/app-trigger.yaml). */
  template?: string | undefined;
  /** How long a group without members keeps its place (ms, default 60 000). */
  idleMs?: number;
  /** In-memory bus: events a group queues for no member at most (default 1000). */
  maxBuffer?: number;
  logger: Logger;
}

export interface StreamRequest {
  application: string;
  /** The consumer group name (shared subscription, `?group_id=`, client id); undefined: an anonymous group of its own. */
  group: string | undefined;
  /** Only events whose `subject` (channel) is this. */
  channel?: string | undefined;
}

/** A member's place in a group; `leave()` once. */
export interface StreamHandle {
  readonly group: StreamGroup;
  /** The consumer group id on the bus (`{app}.{group}`, `anonymous.<uuid>`). */
  readonly groupId: string;
  leave(): void;
}

interface Entry {
  readonly group: StreamGroup;
  readonly trigger: TriggerSpec;
  readonly started: Promise<void>;
  readonly anonymous: boolean;
  idle: NodeJS.Timeout | undefined;
}

/** The consumer group id Drogue uses: `{app}.{group}`, or `anonymous.<uuid>`. */
export function consumerGroupId(application: string, group: string | undefined): string {
  return group === undefined || group === '' ? `anonymous.${randomUUID()}` : `${application}.${group}`;
}

export class StreamSource {
  private readonly groups = new Map<string, Entry>();
  /** Groups being removed: a new group of the same id waits for them. */
  private readonly closing = new Map<string, Promise<void>>();
  private closed = false;
  private readonly idleMs: number;

  constructor(private readonly options: StreamSourceOptions) {
    this.idleMs = options.idleMs ?? 60_000;
  }

  /** Adds `member` to the request's group, starting the group's Trigger if needed. */
  async join(request: StreamRequest, member: StreamMember): Promise<StreamHandle> {
    if (this.closed) throw new Error('the stream source is closed');
    const groupId = consumerGroupId(request.application, request.group);
    // A narrowed subscription is a group of its own: the filter is the Trigger's.
    const key = request.channel === undefined ? groupId : `${groupId}/${request.channel}`;
    let entry = this.groups.get(key);
    if (entry === undefined) {
      await this.closing.get(key);
      entry = this.groups.get(key) ?? this.start(key, groupId, request);
    }
    if (entry.idle !== undefined) { clearTimeout(entry.idle); entry.idle = undefined; }
    const e = entry;
    try {
      await e.started;
    } catch (err) {
      if (this.groups.get(key) === e) this.groups.delete(key);
      throw err;
    }
    e.group.join(member);
    let left = false;
    return {
      group: e.group,
      groupId,
      leave: () => {
        if (left) return;
        left = true;
        e.group.leave(member);
        if (e.group.members === 0 && this.groups.get(key) === e) this.idle(key, e);
      },
    };
  }

  private start(key: string, groupId: string, request: StreamRequest): Entry {
    const { bus, broker, logger } = this.options;
    const group = new StreamGroup(groupId, {
      settle: bus.capabilities.kind === 'kafka' ? 'ack' : 'buffer',
      maxBuffer: this.options.maxBuffer,
      logger,
    });
    const topic = this.options.topicOf?.(request.application);
    const subscriber: SubscriberRef = {
      call: group.offer,
      inProcess: false,
      name: `stream ${groupId}`,
      consumer: { groupId: request.channel === undefined ? groupId : `${groupId}/${request.channel}`, startFrom: 'latest', ...(topic ? { topic } : {}) },
    };
    const trigger: Promise<TriggerSpec> = streamTrigger(request, key, broker, this.options.template);
    let spec: TriggerSpec | undefined;
    const started = trigger.then(async (t) => {
      spec = t;
      await bus.addTrigger(t, subscriber);
    });
    const entry: Entry = {
      group,
      get trigger() { return spec!; },
      started,
      anonymous: request.group === undefined || request.group === '',
      idle: undefined,
    };
    this.groups.set(key, entry);
    logger.debug({ group: groupId, channel: request.channel }, 'stream group started');
    return entry;
  }

  private idle(key: string, entry: Entry): void {
    if (entry.anonymous || this.idleMs === 0) { void this.stop(key, entry); return; }
    entry.idle = setTimeout(() => { void this.stop(key, entry); }, this.idleMs);
    entry.idle.unref();
  }

  /** Removes a group's Trigger; what it held unacknowledged stays with the bus when it is durable. */
  private stop(key: string, entry: Entry): Promise<void> {
    if (this.groups.get(key) !== entry) return this.closing.get(key) ?? Promise.resolve();
    this.groups.delete(key);
    if (entry.idle !== undefined) clearTimeout(entry.idle);
    entry.group.close();
    const done = entry.started
      .then(() => this.options.bus.removeTrigger(entry.trigger.namespace, entry.trigger.name))
      .catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message, group: entry.group.id }, 'stream group did not stop cleanly'))
      .finally(() => { if (this.closing.get(key) === done) this.closing.delete(key); });
    this.closing.set(key, done);
    return done;
  }

  /** The live groups (tests, stats). */
  groupsOf(application: string): StreamGroup[] {
    return [...this.groups.values()].map((e) => e.group).filter((g) => g.id.startsWith(`${application}.`));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.groups].map(([key, e]) => this.stop(key, e)));
    await Promise.all([...this.closing.values()]);
  }
}

/**
 * The Trigger of one group: the application's push Trigger's filters (and `subject` for a
 * channel); retried until the group's member acknowledges or the Trigger stops, never dead-lettered.
 */
export async function streamTrigger(
  request: StreamRequest, key: string, broker: { namespace: string; broker: string }, template?: string,
): Promise<TriggerSpec> {
  const push = await renderAppTrigger({ app: request.application, endpoint: 'http://stream.invalid' }, template ? { template } : {});
  const filters = [...(push.filters ?? [])];
  if (request.channel !== undefined) filters.push({ exact: { subject: request.channel } });
  return {
    name: `stream-${key}`,
    namespace: broker.namespace,
    broker: broker.broker,
    filters,
    subscriber: { uri: `stream://${key}` },
    delivery: { retry: 1_000_000, backoffPolicy: 'linear', backoffDelay: 'PT0.1S' },
  };
}
