// Users and their access tokens, as the management API sees them (Drogue: Keycloak users with
// `access_token_<prefix>` attributes). A token is shown once, at creation; the store keeps only the
// hex SHA3-512 of it. The user directory maps usernames (what Basic auth, members and ownership
// transfer name) to user ids (what a JWT's `sub` carries and what ownership stores).
// Adapters: api/tokens (memory, file).

export interface UserRecord {
  /** The user id: a JWT's `sub`, the owner/member key of applications. */
  id: string;
  /** The login name: the `username` of Basic auth, the member keys of the members API. */
  username: string;
}

export interface AccessTokenRecord {
  /** `drg_` + 6 alphanumerics: how the token is named when listed or deleted. */
  prefix: string;
  /** Hex SHA3-512 of the whole token. */
  hashedToken: string;
  /** RFC 3339. */
  created: string;
  description?: string;
}

export interface TokenStore {
  /** Adds or renames a user (the same id under a new username replaces the old name). */
  putUser(user: UserRecord): Promise<void>;
  userById(id: string): Promise<UserRecord | undefined>;
  userByUsername(username: string): Promise<UserRecord | undefined>;

  /** MOORING_CONFLICT when the user already has a token with this prefix. */
  addToken(userId: string, token: AccessTokenRecord): Promise<void>;
  /** The user's tokens, oldest first. */
  listTokens(userId: string): Promise<AccessTokenRecord[]>;
  /** Removes the token; nothing happens when there is none. */
  deleteToken(userId: string, prefix: string): Promise<void>;
}
