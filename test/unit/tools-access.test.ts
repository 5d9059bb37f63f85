import { describe, expect, it } from 'vitest'
import { compileAccess } from '../../src/tools/access'
import { ToolsPolicy } from '../../src/tools/policy'

const access = (input: unknown) => compileAccess(ToolsPolicy.parse(input))

describe('access lists by identity', () => {
  it('is inactive when nothing is restricted', () => {
    const a = access({})
    expect(a.active).toBe(false)
    expect(a.permits('tools', 'anything', undefined)).toBe(true)
  })

  it('applies the tenant deny and allow globs to everyone', () => {
    const a = access({ deny: ['delete_*'], allow: ['*_repo', 'list_*'] })
    expect(a.permits('tools', 'list_issues', undefined)).toBe(true)
    expect(a.permits('tools', 'get_repo', 'alice')).toBe(true)
    expect(a.permits('tools', 'delete_repo', 'alice')).toBe(false) // denied even though allowed by *_repo
    expect(a.permits('tools', 'create_issue', 'alice')).toBe(false) // not on the allow list
  })

  it.each([
    ['ci-bot', 'read_file', true],
    ['ci-bot', 'write_file', false],
    ['ci-bot', 'delete_repo', false],
    ['alice', 'write_file', true],
    ['alice', 'delete_repo', false],
    ['ops-alice', 'delete_repo', false],
    [undefined, 'write_file', true],
  ] as const)('identity %s calling %s → %s', (identity, tool, expected) => {
    const a = access({ byIdentity: { 'ci-*': { tools: { allow: ['read_*', 'list_*'] } }, '*': { tools: { deny: ['delete_*'] } } } })
    expect(a.permits('tools', tool, identity)).toBe(expected)
  })

  it('keeps prompts and resources apart from tools', () => {
    const a = access({ prompts: { deny: ['admin-*'] }, resources: { allow: ['file:///srv/public/*'] }, byIdentity: { guest: { resources: { deny: ['*secret*'] } } } })
    expect(a.permits('prompts', 'admin-reset', 'x')).toBe(false)
    expect(a.permits('tools', 'admin-reset', 'x')).toBe(true)
    expect(a.permits('resources', 'file:///srv/public/readme.md', 'x')).toBe(true)
    expect(a.permits('resources', 'file:///etc/passwd', 'x')).toBe(false)
    expect(a.permits('resources', 'file:///srv/public/secret.txt', 'guest')).toBe(false)
    expect(a.permits('resources', 'file:///srv/public/secret.txt', 'admin')).toBe(true)
  })
})

describe('resource URIs: as sent and as an origin resolves them', () => {
  const a = access({ resources: { allow: ['fixture://docs/public/*', 'https://docs.vendor.example/*'], deny: ['fixture://docs/public/secret*'] } })

  it.each([
    ['fixture://docs/public/readme', true],
    ['fixture://docs/public/../private/key', false], // an origin reads fixture://docs/private/key
    ['fixture://docs/public/%2e%2e/private/key', false], // %2e%2e is a dot segment too (WHATWG URL)
    ['fixture://docs/public/./secret.txt', false], // denied once resolved
    ['FIXTURE://docs/public/secret.txt', false], // the scheme is case-insensitive
    ['fixture://docs/public/%73ecret.txt', false], // an origin that decodes its path reads secret.txt
    ['fixture://docs/public/%2573ecret.txt', false], // decoded twice
    ['fixture://docs/public/..%2Fprivate/key', false], // an encoded slash makes a dot segment once decoded
    ['fixture://docs/public/%E2%80%AEkey', true], // a decoded spelling on the allow list is fine
    ['fixture://docs/public/a%20b%ZZ', true], // a malformed escape stays as sent
    ['fixture://docs/%70ublic/readme', false], // an allow list must match every spelling, the one sent too
    ['HTTPS://DOCS.VENDOR.EXAMPLE/guide', false], // the host too, for special schemes: not on the allow list as sent
    ['https://docs.vendor.example/guide', true],
    ['not a url', false],
  ])('%s → %s', (uri, expected) => {
    expect(a.permits('resources', uri, undefined)).toBe(expected)
  })

  it('refuses a spelling that resolves to a denied URI', () => {
    expect(access({ resources: { deny: ['fixture://readme'] } }).permits('resources', 'FIXTURE://readme', undefined)).toBe(false)
  })

  it('refuses a percent-encoded spelling of a denied path', () => {
    const deny = access({ resources: { deny: ['file:///etc/*'] } })
    expect(deny.permits('resources', 'file:///%65tc/passwd', undefined)).toBe(false)
    expect(deny.permits('resources', 'file:///%C0%AEtc/passwd', undefined)).toBe(true) // not UTF-8: decoded as Latin-1, not as a dot
  })
})

describe('ToolsPolicy config', () => {
  it('defaults to enforce pinning with schema checks on', () => {
    expect(ToolsPolicy.parse({})).toEqual({
      deny: [],
      prompts: { deny: [] },
      resources: { deny: [] },
      byIdentity: {},
      pinning: 'enforce',
      volatile: [],
      requireApproval: [],
      approvalWindowSeconds: 600,
      approvalByElicitation: true,
      elicitationTimeoutSeconds: 50,
      schema: { arguments: 'block', results: 'isError' },
    })
  })

  it.each([
    [{ pinning: 'strict' }, 'pinning', 'Invalid option: expected one of "enforce"|"alert"|"off"'],
    [{ volatile: ['icons'] }, 'volatile.0', 'must be a dotted path from title, description, inputSchema, outputSchema, annotations, arguments or mimeType'],
    [{ schema: { arguments: 'isError' } }, 'schema.arguments', 'Invalid option: expected one of "block"|"flag"|"off"'],
    [{ approvalWindowSeconds: 5 }, 'approvalWindowSeconds', 'Too small: expected number to be >=10'],
    [{ elicitationTimeoutSeconds: 3 }, 'elicitationTimeoutSeconds', 'Too small: expected number to be >=5'],
    [{ approvalByElicitation: 'yes' }, 'approvalByElicitation', 'Invalid input: expected boolean, received string'],
  ])('refuses %j with an exact message', (input, path, message) => {
    const parsed = ToolsPolicy.safeParse(input)
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))).toEqual([{ path, message }])
  })

  it('refuses unknown keys (strict)', () => {
    const parsed = ToolsPolicy.safeParse({ pining: 'off' })
    expect(parsed.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['pining'] })
  })
})
