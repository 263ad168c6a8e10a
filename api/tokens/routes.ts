// The access-token routes (Drogue's access-token-service, served by the console backend):
// POST /api/tokens/v1alpha1?description= → 200 {prefix, token} (the token is shown only here),
// GET → [{prefix, created, description?}], DELETE /{prefix} → 204 always. Anonymous → 403 NotAuthorized.

import type { Express, Response } from 'express';
import type { TokenStore } from '../../functions/ports/tokens.ts';
import { callerOf, type User } from '../auth/caller.ts';
import type { ApiContext } from '../context.ts';
import { apiError } from '../errors.ts';
import { param, queryString } from '../http.ts';
import { generateToken, hashToken } from './format.ts';

export const TOKENS = '/api/tokens/v1alpha1';

function user(res: Response): User {
  const caller = callerOf(res);
  if (!caller) throw apiError('MOORING_NOT_AUTHORIZED', 'Not authorized');
  return caller;
}

/**
 * Creates an access token for a user (and records the user): what POST does, and how the first
 * token of the embedded demo user is bootstrapped. The token is returned once, never stored.
 */
export async function issueAccessToken(
  tokens: TokenStore, owner: { id: string; username: string }, description?: string, now = new Date(),
): Promise<{ prefix: string; token: string }> {
  await tokens.putUser(owner);
  for (;;) {
    const t = generateToken();
    if ((await tokens.listTokens(owner.id)).some((r) => r.prefix === t.prefix)) continue;
    await tokens.addToken(owner.id, {
      prefix: t.prefix, hashedToken: hashToken(t.token), created: now.toISOString(),
      ...(description !== undefined && description !== '' ? { description } : {}),
    });
    return t;
  }
}

export function mountTokens(app: Express, ctx: ApiContext): void {
  const auth = ctx.authn.middleware();

  app.post(TOKENS, auth, async (req, res) => {
    const u = user(res);
    const t = await issueAccessToken(ctx.tokens, { id: u.id, username: u.username ?? u.id }, queryString(req, 'description'));
    res.status(200).json({ prefix: t.prefix, token: t.token });
  });

  app.get(TOKENS, auth, async (_req, res) => {
    const list = await ctx.tokens.listTokens(user(res).id);
    res.json(list.map((t) => ({ prefix: t.prefix, created: t.created, ...(t.description !== undefined ? { description: t.description } : {}) })));
  });

  app.delete(`${TOKENS}/:prefix`, auth, async (req, res) => {
    await ctx.tokens.deleteToken(user(res).id, param(req, 'prefix'));
    res.status(204).end();
  });
}
