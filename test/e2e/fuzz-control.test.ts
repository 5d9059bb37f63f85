/**
 * Seeded fuzzing of the control plane through the real firewall (machinery in `test/support/fuzz.ts`):
 * mangled tenant configs through the admin API, and mangled, forged or expired client credentials.
 * A refused config changes nothing stored and an accepted one serves traffic; only genuine credentials
 * reach the origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { TEST_ADMIN_TOKEN } from '../support/firewall.js'
import { CASES, LEAK, SEED, answerValidly, editText, mutate, pick, startFuzzRig } from '../support/fuzz.js'
import type { Json, FuzzRig } from '../support/fuzz.js'
import { mulberry32 } from '../support/random.js'

let rig: FuzzRig
beforeAll(async () => {
  rig = await startFuzzRig()
})
afterAll(() => rig?.stop())

const ADMIN_STATUSES = new Set([200, 201, 400, 409, 412, 413, 415])

describe('fuzzed tenant configs', () => {
  // Admin calls are rate-limited per client IP (120 a minute): this run stays under it.
  const ADMIN_CASES = Math.min(CASES, 50)

  it(`refuses what it cannot use without losing what was stored, over ${ADMIN_CASES} mangled configs (seed ${SEED})`, async () => {
    rig.answer = answerValidly
    const base: Json = {
      origin: { url: rig.originUrl, timeoutMs: 5000 },
      hosts: ['mcp.fuzz.example'],
      allowedOrigins: ['https://app.fuzz.example'],
      policy: {
        injectionThreshold: 0.8,
        unicode: 'strip',
        tools: { deny: ['delete_*'], pinning: 'alert', requireApproval: ['transfer_*'] },
        rules: {
          packs: { pii: { action: 'redact' } },
          allow: ['support@fuzz.example'],
          customRules: [
            { id: 'fuzz-ticket', description: 'An internal ticket id.', kind: 'pii', score: 0.5, keywords: ['fuzz-'], pattern: 'FUZZ-[0-9]{6}', examples: { match: ['id FUZZ-123456'], noMatch: ['FUZZ-12'] } },
          ],
        },
        classifier: { threshold: 0.7, action: 'block' },
      },
      budget: { tokensPerMinute: 1_000_000 },
    }
    const tenant = 'fuzz-config'
    const first = await rig.fw.admin.request('PUT', `/admin/v1/tenants/${tenant}`, { body: base })
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    let stored = await rig.fw.admin.getTenant(tenant)
    const rng = mulberry32(SEED + 2)
    const tally = { accepted: 0, refused: 0 }
    for (let n = 0; n < ADMIN_CASES; n++) {
      const { text, how } = mutate(rng, base)
      const res = await fetch(new URL(`/admin/v1/tenants/${tenant}`, rig.fw.url), {
        method: 'PUT',
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': pick(rng, ['application/json', 'application/json', 'application/json', 'text/plain']) },
        body: text,
      })
      const body = await res.text()
      const now = await rig.fw.admin.getTenant(tenant)
      try {
        expect(ADMIN_STATUSES.has(res.status), `status ${res.status}: ${body.slice(0, 300)}`).toBe(true)
        expect(body).not.toMatch(LEAK)
        JSON.parse(body)
        if (res.status < 300) {
          tally.accepted++
          expect((now.body as { version: number }).version).toBe((stored.body as { version: number }).version + 1)
          // What the admin API accepts, the edge can serve.
          const served = await rig.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), 'application/json', {}, tenant)
          expect(served.status, served.text.slice(0, 300)).not.toBeGreaterThanOrEqual(500)
        } else {
          tally.refused++
          expect(now).toEqual(stored) // nothing stored is lost or changed
        }
      } catch (err) {
        throw new Error(`case ${n} (seed ${SEED}, ${how}): ${text.slice(0, 300)}\n→ ${res.status} ${body.slice(0, 300)}\n${String(err)}`)
      }
      stored = now
    }
    expect(tally.accepted, JSON.stringify(tally)).toBeGreaterThan(0)
    expect(tally.refused, JSON.stringify(tally)).toBeGreaterThan(ADMIN_CASES / 2)
  })
})

// ---------------------------------------------------------------------------------------------------

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')

/** Whether two compact JWS are the same token: equal signing input and equal signature bytes. */
function sameToken(a: string, b: string): boolean {
  const [ha, pa, sa] = a.split('.')
  const [hb, pb, sb, ...rest] = b.split('.')
  if (rest.length > 0 || ha !== hb || pa !== pb || sa === undefined || sb === undefined || !/^[A-Za-z0-9_-]*$/.test(sb)) return false
  // A base64url signature's last character carries unused bits: another letter can decode to the same bytes.
  return Buffer.from(sa, 'base64url').equals(Buffer.from(sb, 'base64url'))
}

describe('fuzzed client credentials', () => {
  it(`lets no mangled, forged or expired credential reach the origin, over ${CASES} requests (seed ${SEED})`, async () => {
    rig.answer = answerValidly
    const issuer = 'https://issuer.fuzz.example'
    const pair = await generateKeyPair('ES256')
    rig.jwksKeys = [{ ...(await exportJWK(pair.publicKey)), kid: 'fuzz-key', alg: 'ES256', use: 'sig' }]
    const jwksUrl = `${new URL(rig.originUrl).origin}/jwks.json`
    await rig.fw.admin.putTenant('fuzz-jwt', { origin: { url: rig.originUrl }, auth: { mode: 'jwt', issuer, jwksUrl, algorithms: ['ES256'], requiredScopes: ['mcp'] } })
    await rig.fw.admin.putTenant('fuzz-key', { origin: { url: rig.originUrl }, auth: { mode: 'apiKey' } })
    const issued = await rig.fw.admin.request('POST', '/admin/v1/tenants/fuzz-key/client-keys', { body: { name: 'fuzz' } })
    expect(issued.status).toBe(201)
    const apiKey = (issued.body as { key: string }).key
    const now = Math.floor(Date.now() / 1000)
    const sign = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
      new SignJWT({ scope: 'mcp', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'fuzz-key', ...header })
        .setIssuer((claims.iss as string | undefined) ?? issuer)
        .setAudience((claims.aud as string | undefined) ?? rig.fw.tenantUrl('fuzz-jwt'))
        .setSubject('user-1')
        .setIssuedAt(now)
        .setExpirationTime((claims.exp as number | undefined) ?? now + 600)
        .sign(pair.privateKey)
    const valid = await sign()
    const [head, payload] = valid.split('.') as [string, string]
    const stranger = await new SignJWT({ scope: 'mcp' }).setProtectedHeader({ alg: 'ES256', kid: 'fuzz-key' }).setIssuer(issuer).setAudience(rig.fw.tenantUrl('fuzz-jwt')).setSubject('user-1').setExpirationTime(now + 600).sign((await generateKeyPair('ES256')).privateKey)
    // Tokens that must be refused, whatever else happens.
    const forged: Record<string, string> = {
      'alg none': `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      'HS256 with the public key as secret': `${b64url({ alg: 'HS256', kid: 'fuzz-key' })}.${payload}.${Buffer.from('x'.repeat(32)).toString('base64url')}`,
      'another key': stranger,
      'expired': await sign({ exp: now - 3600 }),
      'another audience': await sign({ aud: 'https://elsewhere.example/mcp' }),
      'another issuer': await sign({ iss: 'https://evil.example' }),
      'no scope': await sign({ scope: 'read' }),
      'unknown kid': await sign({}, { kid: 'nope' }),
      'payload swapped': `${head}.${b64url({ iss: issuer, aud: rig.fw.tenantUrl('fuzz-jwt'), sub: 'admin', scope: 'mcp', exp: now + 600 })}.${valid.split('.')[2]}`,
    }
    const rng = mulberry32(SEED + 6)
    const tally = { accepted: 0, refused: 0 }
    for (let n = 0; n < CASES; n++) {
      const jwt = rng() < 0.5
      const genuine = jwt ? valid : apiKey
      const kind = pick(rng, ['genuine', 'edited', 'edited', 'forged', 'odd'])
      let credential: string
      if (kind === 'genuine') credential = genuine
      else if (kind === 'edited') credential = editText(rng, genuine).replace(/[^\x21-\x7e]/g, '')
      else if (kind === 'forged') credential = jwt ? (forged[pick(rng, Object.keys(forged))] as string) : `mcpfw_${'0'.repeat(40)}`
      else credential = pick(rng, ['', ' ', 'null', 'x'.repeat(4000), `${genuine} ${genuine}`, `${genuine}.`, genuine.toUpperCase()])
      const authorization = pick(rng, ['Bearer ', 'Bearer ', 'Bearer ', 'bearer ', 'Basic ', '', 'Bearer  ']) + credential
      const before = rig.hits.length
      // A distinct client address per case keeps the refused-credential limiter (60 a minute per IP) out of the
      // way; the local runtime takes CF-Connecting-IP from the request, Cloudflare's edge sets it itself.
      const seen = await rig.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), 'application/json', { authorization, 'cf-connecting-ip': `10.9.${n >> 8}.${n & 255}` }, jwt ? 'fuzz-jwt' : 'fuzz-key')
      const reached = rig.hits.length > before
      const mustRefuse = !(authorization.startsWith('Bearer ') || authorization.startsWith('bearer ')) || (kind !== 'genuine' && !(jwt && sameToken(valid, authorization.replace(/^[Bb]earer /, ''))) && credential !== genuine)
      try {
        expect([200, 401, 403, 429], `status ${seen.status}: ${seen.text.slice(0, 200)}`).toContain(seen.status)
        expect(seen.text).not.toMatch(LEAK)
        if (seen.status === 401 || seen.status === 403) expect(reached).toBe(false)
        if (mustRefuse) expect(reached, 'a credential that must be refused reached the origin').toBe(false)
        if (reached) tally.accepted++
        else tally.refused++
      } catch (err) {
        throw new Error(`case ${n} (seed ${SEED}, ${jwt ? 'jwt' : 'api key'}, ${kind}): ${authorization.slice(0, 200)}\n→ ${seen.status} ${seen.text.slice(0, 200)}\n${String(err)}`)
      }
    }
    expect(tally.accepted, JSON.stringify(tally)).toBeGreaterThan(CASES * 0.1)
    expect(tally.refused, JSON.stringify(tally)).toBeGreaterThan(CASES * 0.4)
    // Every forged token once more, under a well-formed Bearer prefix: the random mix above reaches some
    // kinds once or twice a run, some seeds not at all. The genuine token first, so a refusal below is the
    // token's and not a firewall or origin that refuses everything.
    const direct = async (token: string, n: number) => {
      const before = rig.hits.length
      const seen = await rig.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), 'application/json', { authorization: `Bearer ${token}`, 'cf-connecting-ip': `10.8.0.${n}` }, 'fuzz-jwt')
      return { status: seen.status, reached: rig.hits.length > before }
    }
    expect(await direct(valid, 0)).toEqual({ status: 200, reached: true })
    let n = 1
    for (const [name, token] of Object.entries(forged)) {
      const seen = await direct(token, n++)
      expect(seen.reached, `${name} reached the origin`).toBe(false)
      expect([401, 403], `${name}: ${seen.status}`).toContain(seen.status)
    }
  })
})
