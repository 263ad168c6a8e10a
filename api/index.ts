// Public surface of the management API (what cli/mooring.ts wires): start it, its token stores,
// and the embedded demo user's access token.

import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TokenStore } from '../functions/ports/tokens.ts';
import { DEMO_USER as DEMO_USER_ID } from '../connectors/registry/demo.ts';
import { quickCheck, tokenMatches } from './tokens/format.ts';
import { FileTokenStore } from './tokens/file.ts';
import { issueAccessToken } from './tokens/routes.ts';

export { createApiApp, createApiApp as createApiServer, createAuthenticator, startApi, type ApiOptions, type ApiServer } from './server.ts';
export { applicationAuth, type ApplicationAuth } from './auth/integration.ts';
export type { ApiConfig } from './context.ts';
export { MemoryTokenStore } from './tokens/memory.ts';
export { FileTokenStore } from './tokens/file.ts';
export { issueAccessToken } from './tokens/routes.ts';
export { authorize, type Permission } from './auth/authorize.ts';
export type { CommandRequest, CommandSender } from './commands.ts';

/** The token store of a data directory: `<dataDir>/tokens.json`. */
export function openTokenStore(dataDir: string): Promise<FileTokenStore> {
  return FileTokenStore.open(join(dataDir, 'tokens.json'));
}

/** The embedded demo user, owner of the demo application (connectors/registry/demo.ts). */
export const DEMO_USER = { id: DEMO_USER_ID, username: DEMO_USER_ID } as const;

/**
 * The embedded demo user's access token, for `drg login <url> --access-token demo:<token>`: kept
 * in `<dataDir>/demo-access-token` (mode 0600) so a restart prints the same one; a new one is
 * issued when the file is missing or its token is no longer in the store.
 */
export async function demoAccessToken(tokens: TokenStore, dataDir: string): Promise<{ username: string; token: string }> {
  const path = join(dataDir, 'demo-access-token');
  await tokens.putUser(DEMO_USER);
  const kept = (await readFile(path, 'utf8').catch(() => '')).trim();
  const prefix = quickCheck(kept);
  if (prefix !== undefined) {
    const record = (await tokens.listTokens(DEMO_USER.id)).find((t) => t.prefix === prefix);
    if (record && tokenMatches(kept, record.hashedToken)) return { username: DEMO_USER.username, token: kept };
  }
  const { token } = await issueAccessToken(tokens, DEMO_USER, 'embedded demo user');
  await mkdir(dataDir, { recursive: true });
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  return { username: DEMO_USER.username, token };
}
