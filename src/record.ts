/**
 * The plain-object test shared by code that walks parsed JSON (the field walk, redaction, pointers, token
 * counting, stored config and key records).
 */

/** A plain object: not null, not an array. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
