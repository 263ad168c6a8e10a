// Registry adapters: the RegistryStore with Drogue's rules (store.ts) on a RegistryBackend
// (memory, or the watched YAML file of embedded mode: FileRegistry), and the in-memory reader.

export { FileBackend, FileRegistry, type FileRegistryOptions, type ReloadOutcome } from './file.ts';
export { BackendRegistryStore } from './store.ts';
export { MemoryBackend } from './memory-backend.ts';
export { labelMatcher, parseLabelSelector, type LabelRequirement } from './labels.ts';
export { validateDocuments, formatProblem, RegistryValidationError, type RegistryContent, type RegistryProblem } from './validate.ts';
export { DEMO_APPLICATION, DEMO_DEVICE, DEMO_PASSWORD, DEMO_USER, DEMO_GATEWAY_CHILD, demoRegistryYaml } from './demo.ts';
