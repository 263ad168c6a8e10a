// What a function gets besides its event: its dependencies (registry, clock, logger, settings).
// A function never opens a socket; everything outside comes through here.

import type { CloudEvent } from '../../events/cloudevent.ts';
import type { RegistryReader } from './registry.ts';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The subset of pino's API the code uses, so tests can pass a recording logger. */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const silentLogger: Logger = {
  debug() {}, info() {}, warn() {}, error() {},
  child() { return silentLogger; },
};

export interface FunctionContext {
  registry: RegistryReader;
  clock: Clock;
  logger: Logger;
  /** Value of the `instance` extension on produced events (Drogue: `drogue`). */
  instance: string;
  /** Generates event ids (uuid); injectable for deterministic tests. */
  newId: () => string;
}

export type HandlerResult = CloudEvent | CloudEvent[] | undefined;

/**
 * A Mooring function: pure apart from `ctx`. Returning an event makes it the reply (which goes
 * back into the broker); returning nothing acknowledges. Throw a `FunctionError` to reject.
 */
export type Handler = (event: CloudEvent, ctx: FunctionContext) => HandlerResult | Promise<HandlerResult>;

export interface MooringFunction {
  /** Its name: the Knative Service name and the `MOORING_FUNCTION` value that selects it. */
  name: string;
  handle: Handler;
}
