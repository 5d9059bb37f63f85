/**
 * The rule ids the firewall reports itself, besides the shipped packs' (`builtinRuleIds`): the rule
 * engine's errors, the pipeline's, the tool checks' and the classifier's. A tenant's custom rule may not
 * take one (refused when the config is saved): its findings would mix with the firewall's in security
 * events, `byRule` alert counts and `ruleIds`, and code that treats one of these ids specially (a
 * definition scan ignores `tool-foreign-reference` when deciding whether to hold a tool) would treat the
 * tenant's rule so too.
 *
 * Every place that builds such a finding names its id through `FirewallRuleId` or as a literal in this
 * list; test/unit/rule-ids.test.ts reads the source to keep it so. An id the code stops reporting stays
 * here: events already stored name it.
 */
export const FIREWALL_RULE_IDS = [
  // The rule engine (src/detectors/rules/findings.ts) and the pipeline (src/inspect/pipeline.ts, src/tools/pins.ts).
  'rules-budget-exceeded',
  'rules-match-limit',
  'inspection-error',
  'inspection-work-exceeded',
  // The classifier (src/detectors/classifier), and its second stage failing closed (second-stage.ts).
  'classifier-injection',
  'classifier-second-stage-unavailable',
  // Access lists and the tool gate (src/inspect/pipeline.ts, src/tools/list-check.ts, src/tools/call-check.ts).
  'tool-deny-list',
  'tool-quarantined',
  'tool-access-denied',
  'prompt-access-denied',
  'resource-access-denied',
  'tool-pending-approval',
  'tool-rejected',
  'tool-not-reviewed',
  'tool-duplicate-name',
  'tool-pins-unavailable',
  'tool-list-too-long',
  'tool-call-approval-required',
  'tool-call-confirmed-by-user',
  // Definition scans (src/tools/lookalike.ts, src/tools/shadowing.ts).
  'tool-name-invisible',
  'tool-name-lookalike',
  'tool-shadowing-directive',
  'tool-foreign-reference',
  // Schema checks of arguments and results (src/tools/call-check.ts, src/tools/result-check.ts).
  'schema-arguments-invalid',
  'schema-result-invalid',
  'schema-undeclared-property',
  'schema-keyword-unchecked',
] as const

export type FirewallRuleId = (typeof FIREWALL_RULE_IDS)[number]

const reserved: ReadonlySet<string> = new Set(FIREWALL_RULE_IDS)

/** Whether `id` is one the firewall reports itself (not counting the shipped packs' rules). */
export function isFirewallRuleId(id: string): boolean {
  return reserved.has(id)
}
