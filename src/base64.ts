/** Base64 encoding shared by 2026-07-28 header values and redaction inside base64 payloads. */

/** Bytes per `String.fromCharCode` call: well under the engine's limit on arguments. */
const CHUNK = 0x8000

/** Bytes as standard, padded base64 (RFC 4648 §4). */
export function base64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK))
  return btoa(binary)
}
