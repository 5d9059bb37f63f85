/**
 * Validation failures as the admin API reports them: one `{ path, message }` per bad field, the path
 * dotted from the root of what the caller sent (`origin.url`, `hosts.0`, `(root)` for the body itself).
 */
import type { z } from 'zod'

/** One bad field. */
export interface FieldIssue {
  path: string
  message: string
}

/**
 * Zod issues as field issues, optionally under a prefix (a config nested in a larger body).
 *
 * @example fieldIssues(err) // [{ path: 'origin.url', message: 'Invalid URL' }]
 */
export function fieldIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  return error.issues.map((i) => ({ path: [...prefix, ...i.path].map(String).join('.') || '(root)', message: i.message }))
}
