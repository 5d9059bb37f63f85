/**
 * How long an open stream may outlive a client's revoked credential (src/auth/authenticate.ts), in a
 * module with no Workers types so tests running in Node can name it too.
 */

/** How often an open stream's API key is read again (revocation), on top of KV's own propagation. */
export const CLIENT_KEY_RECHECK_MS = 10_000
