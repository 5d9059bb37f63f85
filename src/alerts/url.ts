/**
 * Webhook URLs obey the origin rules (src/proxy/origin-url.ts): https only (http and private targets only
 * with ALLOW_PRIVATE_ORIGINS in local development), no credentials or fragment, never the firewall's own
 * or the tenant's hostnames. Checked when a config is saved and again before every delivery, since the
 * rules (FIREWALL_HOSTNAMES, ALLOW_PRIVATE_ORIGINS) may change between the two.
 */
import { checkTargetUrl } from '../proxy/origin-url'
import type { UrlPolicy, UrlVerdict } from '../proxy/origin-url'
import { urlPolicy } from '../proxy/url-policy-env'
import type { FieldIssue } from '../tenant/issues'
import type { AlertsConfig } from './config'

/**
 * One issue per webhook whose URL breaks the rules, at `alerts.webhooks.<i>.url` (admin API, save time).
 *
 * @example webhookUrlIssues(env, c.req.url, config) // [{ path: 'alerts.webhooks.0.url', message: 'must use https' }]
 */
export function webhookUrlIssues(env: Env, requestUrl: string, config: { hosts: readonly string[]; alerts: AlertsConfig }): FieldIssue[] {
  return checkWebhookUrls(config.alerts, urlPolicy(env, new URL(requestUrl).hostname, config.hosts))
}

/** The pure check behind {@link webhookUrlIssues}, for a given policy. */
export function checkWebhookUrls(alerts: AlertsConfig, policy: UrlPolicy): FieldIssue[] {
  return alerts.webhooks.flatMap((hook, i) => {
    const v = checkTargetUrl(hook.url, policy)
    return v.ok ? [] : [{ path: `alerts.webhooks.${i}.url`, message: v.reason }]
  })
}

/** Send-time check: no request hostname is known here, so the firewall's own are FIREWALL_HOSTNAMES. */
export function webhookTarget(env: Env, url: string, tenantHosts: readonly string[]): UrlVerdict {
  return checkTargetUrl(url, urlPolicy(env, '', tenantHosts))
}
