// Public surface of connectors/directory: the in-memory ConnectionDirectory and CommandQueue.

export { InMemoryConnectionDirectory, type MemoryDirectoryOptions } from './memory.ts';
export { InMemoryCommandQueue, type MemoryQueueOptions } from './queue.ts';
export { httpExternalEndpoint } from './external-http.ts';
