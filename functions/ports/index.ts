export type * from './registry.ts';
export * from './runtime.ts';
export * from './bus.ts';
export type * from './tokens.ts';
