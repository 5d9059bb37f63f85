/**
 * The abuse limiters: one Workers Rate Limiting binding each (`[[ratelimits]]` in wrangler.toml).
 * Cloudflare fixes a binding's limit and period when the Worker is deployed, so wrangler.toml is where
 * they are configured (per environment if needed); this table mirrors it for `Retry-After` and the docs,
 * and test/e2e/abuse.test.ts fails when the two disagree. See docs/abuse.md.
 */

/** What a limiter counts. */
export type AbuseScope = 'mcp_ip' | 'mcp_tenant' | 'admin_ip' | 'admin_failed_ip'

/** One limiter: its binding, and the limit and period (seconds) configured on it. */
export interface AbuseLimit {
  readonly binding: 'ABUSE_MCP_IP' | 'ABUSE_MCP_TENANT' | 'ABUSE_ADMIN_IP' | 'ABUSE_ADMIN_FAILED_IP'
  readonly limit: number
  readonly period: 10 | 60
  /** What one unit is, for docs and logs. */
  readonly counts: string
}

/** The shipped limits (per Cloudflare location, approximate: see docs/abuse.md). */
export const ABUSE_LIMITS: Readonly<Record<AbuseScope, AbuseLimit>> = {
  mcp_ip: { binding: 'ABUSE_MCP_IP', limit: 60, period: 60, counts: 'MCP requests refused 401 by client auth, per client IP' },
  mcp_tenant: { binding: 'ABUSE_MCP_TENANT', limit: 600, period: 60, counts: 'MCP requests refused 401 by client auth, per tenant' },
  admin_ip: { binding: 'ABUSE_ADMIN_IP', limit: 120, period: 60, counts: 'admin API requests, per client IP' },
  admin_failed_ip: { binding: 'ABUSE_ADMIN_FAILED_IP', limit: 10, period: 60, counts: 'admin API requests refused 401, per client IP' },
}
