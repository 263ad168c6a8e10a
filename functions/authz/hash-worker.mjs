// The entry of a hash-pool.ts worker thread. hash-worker.ts is TypeScript, and on Node 20 a
// worker does not inherit its process's loader hooks, so this plain module registers tsx's loader
// first. Without tsx the import fails, the worker reports an error, and the pool hashes inline.

import { register } from 'tsx/esm/api';

register();
await import('./hash-worker.ts');
