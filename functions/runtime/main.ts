// The Knative entry point: one image serves any function, chosen by MOORING_FUNCTION
// (normalize, content-type, authz). Functions never import connectors, so the registry comes in
// through a factory from the composition root (cli/), which picks the adapter (file, DynamoDB).
// Function modules are imported lazily: a process loads only the function it serves. The
// environment is read by cli/config.ts; what this needs comes in as options.

import type { Tracer } from '../ports/tracing.ts';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { MooringError } from '../../events/errors.ts';
import type { RegistryReader } from '../ports/registry.ts';
import { systemClock, type FunctionContext, type Logger, type MooringFunction } from '../ports/runtime.ts';
import { serve, type ServeHandle, type ServeOptions } from './serve.ts';

/** Which module and export holds each servable function. */
export const FUNCTION_MODULES: Readonly<Record<string, { module: string; exportName: string }>> = {
  normalize: { module: '../normalize/index.ts', exportName: 'normalize' },
  'content-type': { module: '../content-type/index.ts', exportName: 'contentType' },
  authz: { module: '../authz/index.ts', exportName: 'authz' },
};

function isMooringFunction(v: unknown): v is MooringFunction {
  return typeof v === 'object' && v !== null && typeof (v as MooringFunction).name === 'string' && typeof (v as MooringFunction).handle === 'function';
}

/** Imports the function named `name`; throws MOORING_INVALID_CONFIG for an unknown name. */
export async function loadFunction(name: string): Promise<MooringFunction> {
  const entry = FUNCTION_MODULES[name];
  if (!entry) {
    throw new MooringError('MOORING_INVALID_CONFIG', `MOORING_FUNCTION=${JSON.stringify(name)} is not a function; one of: ${Object.keys(FUNCTION_MODULES).join(', ')}`);
  }
  // Compiled (dist/, `npm run build`), this module and its siblings end in .js.
  const module = import.meta.url.endsWith('.js') ? entry.module.replace(/\.ts$/, '.js') : entry.module;
  const mod = (await import(new URL(module, import.meta.url).href)) as Record<string, unknown>;
  const fn = mod[entry.exportName] ?? mod.default;
  if (!isMooringFunction(fn)) throw new MooringError('MOORING_INVALID_CONFIG', `${entry.module} does not export ${entry.exportName} as a MooringFunction`);
  return fn;
}

/** pino, behind the Logger port. */
export function createLogger(level = 'info'): Logger {
  const wrap = (p: pino.Logger): Logger => ({
    debug: (o, m) => { if (typeof o === 'string') p.debug(o); else p.debug(o, m); },
    info: (o, m) => { if (typeof o === 'string') p.info(o); else p.info(o, m); },
    warn: (o, m) => { if (typeof o === 'string') p.warn(o); else p.warn(o, m); },
    error: (o, m) => { if (typeof o === 'string') p.error(o); else p.error(o, m); },
    child: (bindings) => wrap(p.child(bindings)),
  });
  return wrap(pino({ level }));
}

export interface MainOptions {
  /** Builds the registry the function reads (the composition root picks the adapter). */
  registry: () => RegistryReader | Promise<RegistryReader>;
  /** The function to serve (the entry point reads it from MOORING_FUNCTION). */
  functionName: string | undefined;
  /** Default 8080 (Knative Serving's `PORT`). */
  port?: number;
  /** The `instance` extension on events (default `drogue`). */
  instance?: string;
  /** pino level of the default logger (default `info`). */
  logLevel?: string;
  logger?: Logger;
  /** Overrides the function lookup (tests, or a composition root hosting extra functions). */
  load?: (name: string) => Promise<MooringFunction>;
  /** A span per event handled (an OTLP endpoint is configured). */
  tracer?: Tracer | undefined;
  /** What the composition root serves beside the function (`/metrics`); see ServeOptions.observe. */
  observe?: ServeOptions['observe'];
}

/** Serves the function MOORING_FUNCTION names, with SIGTERM draining on. */
export async function main(opts: MainOptions): Promise<ServeHandle> {
  const name = opts.functionName;
  if (!name) throw new MooringError('MOORING_INVALID_CONFIG', `MOORING_FUNCTION is not set; one of: ${Object.keys(FUNCTION_MODULES).join(', ')}`);
  const logger = opts.logger ?? createLogger(opts.logLevel);
  const fn = await (opts.load ?? loadFunction)(name);
  const ctx: FunctionContext = {
    registry: await opts.registry(),
    clock: systemClock,
    logger: logger.child({ function: fn.name }),
    instance: opts.instance ?? 'drogue',
    newId: randomUUID,
  };
  return serve(fn, ctx, { port: opts.port ?? 8080, logger, handleSignals: true, tracer: opts.tracer, observe: opts.observe });
}
