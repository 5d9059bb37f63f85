/**
 * The rule-pack `Detector`: what the inspection pipeline calls for every field of every message.
 */
import type { Detector, MessageContext, ScanField } from '../../inspect/types'
import { compileRules } from './compile'
import { defaultRulesPolicy, type RulesPolicy } from './policy'
import type { RuleFinding } from './findings'
import { scanField } from './scan'
import { newBudget, type Budget } from './work-budget'

// One budget per message: the pipeline builds one MessageContext per message and passes the same
// object for each of its fields.
const budgets = new WeakMap<MessageContext, Budget>()

function budgetFor(ctx: MessageContext): Budget {
  let b = budgets.get(ctx)
  if (b === undefined) {
    b = newBudget()
    budgets.set(ctx, b)
  }
  return b
}

/** A `Detector` whose findings are rule findings (with `pack` and monitor details). */
export interface RulesDetector extends Detector {
  detect(field: ScanField, ctx: MessageContext): RuleFinding[]
}

/**
 * Builds the rule-pack detector for a tenant's parsed `RulesPolicy` (`policy.rules` of the tenant
 * config; omit it for the default policy). Compilation is cached by the policy object's identity, so
 * calling this per message is cheap. The work/time budget is tracked per `MessageContext` object.
 * @example
 * const detector = createRulesDetector(tenant.policy.rules)
 * const findings = fields.flatMap((f) => detector.detect(f, ctx))
 */
export function createRulesDetector(policy: RulesPolicy = defaultRulesPolicy()): RulesDetector {
  const set = compileRules(policy)
  return {
    id: 'rules',
    detect(field, ctx) {
      return scanField(set, field, ctx.direction, budgetFor(ctx))
    },
  }
}
