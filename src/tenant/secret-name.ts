/**
 * The name of a tenant secret, in a module with no Workers dependencies so config schemas (and tests in
 * Node) can reference secrets without pulling in the secret store.
 */
import { z } from 'zod'

export const SecretName = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'must match [a-z0-9][a-z0-9_.-]{0,63}')
export type SecretName = z.infer<typeof SecretName>
