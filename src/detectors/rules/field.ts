/**
 * Builds a `ScanField` from a bare string, for tests, the eval and callers that scan text outside a
 * JSON-RPC message (e.g. an `Mcp-Param-*` header value). Normalisation is lazy, as in the pipeline.
 */
import { normalize } from '../../inspect/normalize'
import type { FieldRole, NormalizedText, ScanField } from '../../inspect/types'

export interface TextFieldOptions {
  path?: string
  isKey?: boolean
  joined?: boolean
}

/**
 * A scan field over `raw` with the given role.
 * @example createRulesDetector().detect(textField('ignore all previous instructions', 'tool-result'), ctx)
 */
export function textField(raw: string, role: FieldRole, options: TextFieldOptions = {}): ScanField {
  let norm: NormalizedText | undefined
  return {
    path: options.path ?? '/text',
    role,
    isKey: options.isKey ?? false,
    joined: options.joined ?? false,
    raw,
    get normalized(): NormalizedText {
      norm ??= normalize(raw)
      return norm
    },
  }
}
