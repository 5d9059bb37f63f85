/**
 * The field roles of `FieldRole` (types.ts) as a zod enum, for config schemas that name roles (rule
 * targets, classifier roles). One list, so a new role cannot be known to one detector and not another.
 */
import { z } from 'zod'
import type { FieldRole } from './types'

export const FIELD_ROLES = [
  'tool-definition',
  'prompt-definition',
  'tool-result',
  'resource',
  'prompt',
  'sampling',
  'elicitation',
  'instructions',
  'arguments',
  'completion',
  'notification',
  'error',
  'other',
] as const satisfies readonly FieldRole[]

export const FieldRoleSchema = z.enum(FIELD_ROLES)

// Compile-time check that the list covers every FieldRole.
type Missing = Exclude<FieldRole, (typeof FIELD_ROLES)[number]>
const _complete: Missing extends never ? true : never = true
void _complete
