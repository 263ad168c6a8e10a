// Mooring as `npm start` wires it, on free ports of 127.0.0.1, for the flood and slow-client tests:
// a registry file of the given YAML documents in a temporary data directory.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromEnv, type Config } from '../../../cli/config.ts';
import { startMooring, type Mooring } from '../../../cli/mooring.ts';
import { silentLogger } from '../../../functions/ports/runtime.ts';

export const deviceDoc = (application: string, name: string, pass: string): string =>
  `kind: Device\nmetadata:\n  name: ${name}\n  application: ${application}\nspec:\n  authentication:\n    credentials:\n      - pass: ${pass}\n`;

export async function startOnFreePorts(docs: string[], overrides: Partial<Config>): Promise<{ mooring: Mooring; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'mooring-net-'));
  const registryPath = join(dir, 'registry.yaml');
  writeFileSync(registryPath, docs.join('---\n'));
  const config = configFromEnv({}, {
    registryPath, dataDir: dir, host: '127.0.0.1', mqttPort: 0, mqttWsPort: 0, mqttsPort: 0, httpPort: 0, httpsPort: 0, ingressPort: 0,
    apiPort: 0, mqttIntegrationPort: 0, mqttIntegrationWsPort: 0, mqttIntegrationTlsPort: 0, wsIntegrationPort: 0, demoSinkPort: 0,
    ...overrides,
  });
  const mooring = await startMooring(config, { logger: silentLogger });
  return {
    mooring,
    close: async () => {
      await mooring.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
