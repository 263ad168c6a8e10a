// The TokenStore in memory (tests, and the base of the file adapter).

import { MooringError } from '../../events/errors.ts';
import type { AccessTokenRecord, TokenStore, UserRecord } from '../../functions/ports/tokens.ts';

export interface TokenData {
  users: UserRecord[];
  /** user id → tokens, oldest first. */
  tokens: Record<string, AccessTokenRecord[]>;
}

export class MemoryTokenStore implements TokenStore {
  protected users = new Map<string, UserRecord>();
  protected tokens = new Map<string, AccessTokenRecord[]>();

  constructor(data?: TokenData) {
    if (data) this.load(data);
  }

  protected load(data: TokenData): void {
    this.users = new Map(data.users.map((u) => [u.id, { id: u.id, username: u.username }]));
    this.tokens = new Map(Object.entries(data.tokens).map(([id, list]) => [id, list.map((t) => ({ ...t }))]));
  }

  protected snapshot(): TokenData {
    return { users: [...this.users.values()], tokens: Object.fromEntries(this.tokens) };
  }

  /** Called after every change (the file adapter persists). */
  protected async changed(): Promise<void> {}

  async putUser(user: UserRecord): Promise<void> {
    const known = this.users.get(user.id);
    if (known?.username === user.username) return;
    for (const u of this.users.values()) {
      if (u.username === user.username && u.id !== user.id) {
        throw new MooringError('MOORING_CONFLICT', `Username ${user.username} belongs to another user`);
      }
    }
    this.users.set(user.id, { id: user.id, username: user.username });
    await this.changed();
  }

  async userById(id: string): Promise<UserRecord | undefined> {
    const u = this.users.get(id);
    return u && { ...u };
  }

  async userByUsername(username: string): Promise<UserRecord | undefined> {
    for (const u of this.users.values()) if (u.username === username) return { ...u };
    return undefined;
  }

  async addToken(userId: string, token: AccessTokenRecord): Promise<void> {
    const list = this.tokens.get(userId) ?? [];
    if (list.some((t) => t.prefix === token.prefix)) throw new MooringError('MOORING_CONFLICT', 'Conflict');
    this.tokens.set(userId, [...list, { ...token }]);
    await this.changed();
  }

  async listTokens(userId: string): Promise<AccessTokenRecord[]> {
    return (this.tokens.get(userId) ?? []).map((t) => ({ ...t }));
  }

  async deleteToken(userId: string, prefix: string): Promise<void> {
    const list = this.tokens.get(userId);
    if (!list?.some((t) => t.prefix === prefix)) return;
    this.tokens.set(userId, list.filter((t) => t.prefix !== prefix));
    await this.changed();
  }
}
