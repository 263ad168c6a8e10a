// The CommandQueue port: the opt-in offline queue (issue 10 part 7, beyond Drogue Cloud). A command
// sent with a TTL for a connection nobody holds is kept here, per target connection (the device
// itself, or one of its gateways), and handed to that connection in order when it subscribes to
// its commands. An expired command is dropped when it is met and counted. Adapters:
// connectors/directory/queue.ts (in-memory), connectors/dynamodb/queue.ts (shared by instances).
// Every adapter passes test/contracts/command-queue.ts.

import type { CloudEvent } from '../../events/cloudevent.ts';

export interface QueueStats {
  /** Commands waiting now. */
  queued: number;
  /** Commands handed out by `take`. */
  taken: number;
  /** Commands dropped because their TTL ran out before their connection came. */
  expired: number;
  /** Commands refused because the target's queue was full. */
  refused: number;
}

export interface CommandQueue {
  /**
   * Keeps a routed io.mooring.command.v1 for the connection `target` of `application` until
   * `expiresAt` (epoch ms). False when the target's queue is full (the command is not kept).
   */
  put(application: string, target: string, event: CloudEvent, expiresAt: number): Promise<boolean>;
  /** Removes and returns the target's unexpired commands, oldest first; expired ones are dropped and counted. */
  take(application: string, target: string): Promise<CloudEvent[]>;
  stats(): QueueStats;
}
