// Registry adapters (RegistryReader port): the watched YAML file of embedded mode and the
// in-memory registry it is built on.

export { FileRegistry, parseRegistryText, type FileRegistryOptions, type ReloadOutcome } from './file.ts';
export { MemoryRegistry } from './memory.ts';
export { validateDocuments, formatProblem, RegistryValidationError, type RegistryContent, type RegistryProblem } from './validate.ts';
export { DEMO_APPLICATION, DEMO_DEVICE, DEMO_PASSWORD, DEMO_GATEWAY_CHILD, demoRegistryYaml } from './demo.ts';
