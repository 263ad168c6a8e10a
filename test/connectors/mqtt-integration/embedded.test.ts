// The pull integrations' contract (test/contracts/integration.ts) in embedded mode: the
// application's stream read from the in-memory broker.

import { execFileSync } from 'node:child_process';
import { integrationContract } from '../../contracts/integration.ts';

execFileSync('bash', ['scripts/ensure-mosquitto-clients.sh'], { stdio: 'inherit' });

integrationContract('embedded', async () => ({}));
