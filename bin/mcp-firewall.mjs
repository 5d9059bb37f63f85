#!/usr/bin/env node
/**
 * mcp-firewall: a small CLI for the admin API, so tenants keep their firewall config in git.
 *
 *   mcp-firewall tenant push <id> <config.json> [--if-match <version>]
 *   mcp-firewall tenant get <id>
 *   mcp-firewall tenant diff <id> <config.json>
 *   mcp-firewall tenant versions <id>
 *   mcp-firewall tenant rollback <id> <version>
 *   mcp-firewall tenant test <id> <message.json> --direction client_to_server|server_to_client [--method m] [--tool name]
 *                                [--output-schema schema.json] [--era legacy|modern] [--config c.json]
 *   mcp-firewall tenant kill <id> [--tool <name>]      mcp-firewall tenant unkill <id> [--tool <name>]
 *   mcp-firewall tools list <id> [--state pending|approved|rejected] [--origin <url>]
 *   mcp-firewall tools approve|reject <id> <name> [--kind tool|prompt|resourceTemplate] [--hash <sha256>] [--origin <url>]
 *   mcp-firewall tools approve-all <id> [--kind tool|prompt|resourceTemplate] [--origin <url>]   (e.g. after a deploy)
 *   mcp-firewall tools calls <id>                      mcp-firewall tools approve-call|reject-call <id> <approvalId>
 *
 * Environment: MCP_FIREWALL_URL (e.g. https://fw.example.com, or https://gw.example/fw behind a reverse proxy
 * that serves the firewall under a path), MCP_FIREWALL_TOKEN (the operator token or a tenant admin key) and
 * MCP_FIREWALL_TIMEOUT_MS (how long to wait for the whole answer, default 30000).
 * Exit codes: 0 ok, 1 usage, 2 the API refused (its JSON answer is printed), 3 network (no answer in time too).
 */
import { readFile } from 'node:fs/promises'
import { diffConfigs } from './diff.mjs'

const USAGE = `usage: mcp-firewall tenant push <id> <config.json> [--if-match <version>]
       mcp-firewall tenant get|versions <id>
       mcp-firewall tenant diff <id> <config.json>
       mcp-firewall tenant rollback <id> <version>
       mcp-firewall tenant test <id> <message.json> --direction client_to_server|server_to_client [--method <m>] [--tool <name>] [--output-schema <schema.json>] [--era legacy|modern] [--config <c.json>]
       mcp-firewall tenant kill|unkill <id> [--tool <name>]
       mcp-firewall tools list <id> [--state pending|approved|rejected] [--origin <url>]
       mcp-firewall tools approve|reject <id> <name> [--kind tool|prompt|resourceTemplate] [--hash <sha256>] [--origin <url>]
       mcp-firewall tools approve-all <id> [--kind tool|prompt|resourceTemplate] [--origin <url>]
       mcp-firewall tools calls <id>
       mcp-firewall tools approve-call|reject-call <id> <approvalId>
  env: MCP_FIREWALL_URL    the firewall, e.g. http://127.0.0.1:8787 for \`npm start\` (a path, as behind a reverse proxy, is kept)
       MCP_FIREWALL_TOKEN  the operator token (ADMIN_TOKEN; \`npm start\` writes it to .dev.vars) or a tenant admin key
       MCP_FIREWALL_TIMEOUT_MS  how long to wait for the firewall's whole answer (default 30000)
  exit: 0 ok, 1 usage, 2 the API refused (its JSON answer is printed), 3 network (or no answer in time)`

/** What each command takes: its positional arguments after the group and command, and its flags. */
const SHAPES = {
  tenant: {
    push: { args: ['id', 'config.json'], flags: ['if-match'] },
    get: { args: ['id'], flags: [] },
    diff: { args: ['id', 'config.json'], flags: [] },
    versions: { args: ['id'], flags: [] },
    rollback: { args: ['id', 'version'], flags: [] },
    test: { args: ['id', 'message.json'], flags: ['direction', 'method', 'tool', 'output-schema', 'era', 'config'], required: ['direction'] },
    kill: { args: ['id'], flags: ['tool'] },
    unkill: { args: ['id'], flags: ['tool'] },
  },
  tools: {
    list: { args: ['id'], flags: ['state', 'origin'] },
    approve: { args: ['id', 'name'], flags: ['kind', 'hash', 'origin'] },
    reject: { args: ['id', 'name'], flags: ['kind', 'hash', 'origin'] },
    'approve-all': { args: ['id'], flags: ['kind', 'origin'] },
    calls: { args: ['id'], flags: [] },
    'approve-call': { args: ['id', 'approvalId'], flags: [] },
    'reject-call': { args: ['id', 'approvalId'], flags: [] },
  },
}

/**
 * Refuses a stray argument or an unknown flag rather than ignoring it: `tenant kill acme echo` would
 * otherwise stop the whole tenant, and a misspelt `--if-match` would turn a guarded push into a blind one.
 */
function checkShape(group, command, positional, flags, valueless) {
  const shape = SHAPES[group][command]
  const flag = (f) => (shape.required?.includes(f) ? ` --${f} <value>` : ` [--${f} <value>]`)
  const usage = `usage: mcp-firewall ${group} ${command} ${shape.args.map((a) => `<${a}>`).join(' ')}${shape.flags.map(flag).join('')}`
  if (positional.length > shape.args.length) throw new UsageError(`unexpected argument '${positional[shape.args.length]}'\n${usage}`)
  const unknown = [...Object.keys(flags), ...valueless].find((f) => !shape.flags.includes(f))
  if (unknown !== undefined) throw new UsageError(`unknown option --${unknown} for ${group} ${command}\n${usage}`)
  // Only now: asked a value for an option the command does not take, the caller would supply one in vain.
  if (valueless.length > 0) throw new UsageError(`--${valueless[0]} needs a value`)
}

/**
 * Splits argv into positionals and --flags with values; `help` when --help or -h stands where a flag may.
 * A flag with no value after it is listed in `valueless` for `checkShape` to refuse, as unknown if it is.
 */
export function parseArgs(argv) {
  const positional = []
  const flags = {}
  const valueless = []
  let help = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--help' || a === '-h') help = true
    else if (a.startsWith('--')) {
      const value = argv[i + 1]
      if (value === undefined || value.startsWith('--')) {
        valueless.push(a.slice(2))
        continue
      }
      // Keeping the last one would act on half of what was asked: `kill --tool a --tool b` stopping b alone.
      if (Object.hasOwn(flags, a.slice(2))) throw new UsageError(`${a} given twice`)
      flags[a.slice(2)] = value
      i++
    } else positional.push(a)
  }
  return { positional, flags, valueless, help }
}

class UsageError extends Error {}
/** The firewall took the request but did not answer it whole within the timeout. */
class NoAnswer extends Error {
  constructor(ms) {
    super(`no answer within ${ms} ms (MCP_FIREWALL_TIMEOUT_MS)`)
  }
}
class ApiError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`)
    this.status = status
    this.body = body
  }
}

async function readJson(path, { editorSchema = true } = {}) {
  try {
    const value = JSON.parse(await readFile(path, 'utf8'))
    // Config files may name their JSON Schema for editors; the API itself is strict. A JSON Schema's own
    // `$schema` names its draft, so it is kept there (`editorSchema: false`).
    if (editorSchema && value && typeof value === 'object' && !Array.isArray(value)) delete value.$schema
    return value
  } catch (err) {
    throw new UsageError(`cannot read JSON from ${path}: ${err.message}`)
  }
}

/** How long to wait for an answer, by default: a firewall that takes the request and never answers would hang the CLI. */
const DEFAULT_TIMEOUT_MS = 30_000
/** The longest a timer can wait. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** MCP_FIREWALL_TIMEOUT_MS, checked: unset or empty is the default. */
function timeoutMs(raw) {
  if (raw === undefined || raw === '') return DEFAULT_TIMEOUT_MS
  const ms = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!(ms >= 1 && ms <= MAX_TIMEOUT_MS)) throw new UsageError(`MCP_FIREWALL_TIMEOUT_MS must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, not '${raw}'`)
  return ms
}

/**
 * Calls the admin API; throws ApiError with the parsed answer on a non-2xx status, NoAnswer when the
 * answer (headers and body) has not come within MCP_FIREWALL_TIMEOUT_MS.
 */
export async function api(method, path, { body, headers = {} } = {}, env = process.env) {
  const base = env.MCP_FIREWALL_URL
  const token = bearerToken(env.MCP_FIREWALL_TOKEN)
  const ms = timeoutMs(env.MCP_FIREWALL_TIMEOUT_MS)
  if (!base || !token) throw new UsageError(`set ${!base ? 'MCP_FIREWALL_URL' : 'MCP_FIREWALL_TOKEN'} (see mcp-firewall --help)`)
  // Checked before the URL is ever printed: fetch refuses credentials in a URL, and its error repeats them.
  if (URL.canParse(base) && (new URL(base).username || new URL(base).password)) {
    throw new UsageError('MCP_FIREWALL_URL must not carry a user name or password; the token goes in MCP_FIREWALL_TOKEN')
  }
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) {
    throw new UsageError(`MCP_FIREWALL_URL must be an http or https URL such as http://127.0.0.1:8787, not '${base}'`)
  }
  // Its path is kept: behind a reverse proxy that serves the firewall under /fw, the API is at /fw/admin/v1.
  // A query or fragment has no place to go, and dropping it silently would call another URL than the one given.
  const root = new URL(base)
  if (/[?#]/.test(base)) throw new UsageError(`MCP_FIREWALL_URL must not carry a query or fragment, not '${base}'`)
  const signal = AbortSignal.timeout(ms)
  let res, text
  try {
    res = await fetch(new URL(`${root.pathname.replace(/\/+$/, '')}/admin/v1${path}`, root), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal,
    })
    text = await res.text()
  } catch (err) {
    throw signal.aborted ? new NoAnswer(ms) : err
  }
  let parsed = text
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {}
  if (!res.ok) throw new ApiError(res.status, parsed)
  return parsed
}

/**
 * The token as a header carries it: without the white space around it (a line end from a file), and
 * refused, without printing it, when it holds what no header value can (a control character or one past
 * U+00FF). fetch would refuse it too, but its error quotes the whole header, token included.
 */
function bearerToken(raw) {
  const token = (raw ?? '').replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '')
  if (/[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]/.test(token)) {
    throw new UsageError('MCP_FIREWALL_TOKEN holds a character an HTTP header cannot carry (a control character, or one past U+00FF); it is not printed')
  }
  return token
}

/** Tenant ids as the API has them. */
const TENANT_ID = /^[a-z0-9-]{1,63}$/

/**
 * The tenant id, checked before it goes into a path: unchecked, `acme#` or `acme?` would end the path at
 * the id (`tenant unkill acme#` sending `DELETE /tenants/acme`, a deletion) and `..` would leave it.
 */
function tenantId(value) {
  if (!TENANT_ID.test(need(value, 'tenant id'))) throw new UsageError(`tenant id must be 1 to 63 lower-case letters, digits or dashes, not '${value}'`)
  return value
}

const commands = {
  async push([id, file], flags) {
    const config = await readJson(need(file, 'config file'))
    const headers = flags['if-match'] ? { 'if-match': flags['if-match'] } : {}
    return api('PUT', `/tenants/${tenantId(id)}`, { body: config, headers })
  },
  get: ([id]) => api('GET', `/tenants/${tenantId(id)}`),
  async diff([id, file]) {
    const local = await readJson(need(file, 'config file'))
    const remote = await api('GET', `/tenants/${tenantId(id)}`)
    return { version: remote.version, changes: diffConfigs(remote.config, local) }
  },
  versions: ([id]) => api('GET', `/tenants/${tenantId(id)}/versions`),
  rollback: ([id, version]) => {
    if (!/^[1-9]\d*$/.test(need(version, 'version'))) throw new UsageError(`version must be a version number (see tenant versions), not '${version}'`)
    return api('POST', `/tenants/${tenantId(id)}/rollback`, { body: { version: Number(version) } })
  },
  async test([id, file], flags) {
    // Required, as by the API: a message means different things from each side (a tools/call request read
    // as the origin's is inspected under the wrong roles), so a default would give a verdict for the other side.
    if (flags.direction === undefined) throw new UsageError('tenant test needs --direction: client_to_server (the client sends the message) or server_to_client (the origin sends it)')
    const message = await readJson(need(file, 'message file'))
    const body = { message, direction: flags.direction, ...(flags.method ? { method: flags.method } : {}), ...(flags.tool ? { tool: flags.tool } : {}) }
    if (flags['output-schema']) body.outputSchema = await readJson(flags['output-schema'], { editorSchema: false })
    if (flags.era) body.era = flags.era
    if (flags.config) body.config = await readJson(flags.config)
    return api('POST', `/tenants/${tenantId(id)}/test`, { body })
  },
  kill: ([id], flags) => api('POST', `/tenants/${tenantId(id)}/kill`, { body: flags.tool ? { tool: flags.tool } : {} }),
  unkill: ([id], flags) => api('DELETE', `/tenants/${tenantId(id)}/kill${flags.tool ? `?tool=${encodeURIComponent(flags.tool)}` : ''}`),
}

// [tools] Tool review (docs/tool-integrity.md): pins, pending changes and single-call approvals.
const toolsPath = (id) => `/tenants/${tenantId(id)}/tools`
const decisionBody = (flags) => ({ ...(flags.kind ? { kind: flags.kind } : {}), ...(flags.hash ? { hash: flags.hash } : {}), ...(flags.origin ? { origin: flags.origin } : {}) })
const toolCommands = {
  list([id], flags) {
    const query = new URLSearchParams({ ...(flags.state ? { state: flags.state } : {}), ...(flags.origin ? { origin: flags.origin } : {}) }).toString()
    return api('GET', `${toolsPath(id)}${query ? `?${query}` : ''}`)
  },
  approve: ([id, name], flags) => api('POST', `${toolsPath(id)}/${encodeURIComponent(need(name, 'tool name'))}/approve`, { body: decisionBody(flags) }),
  reject: ([id, name], flags) => api('POST', `${toolsPath(id)}/${encodeURIComponent(need(name, 'tool name'))}/reject`, { body: decisionBody(flags) }),
  'approve-all': ([id], flags) => api('POST', `${toolsPath(id)}/approve-all`, { body: { ...(flags.kind ? { kind: flags.kind } : {}), ...(flags.origin ? { origin: flags.origin } : {}) } }),
  calls: ([id]) => api('GET', `${toolsPath(id)}/calls`),
  'approve-call': ([id, approvalId]) => api('POST', `${toolsPath(id)}/calls/${encodeURIComponent(need(approvalId, 'approval id'))}/approve`),
  'reject-call': ([id, approvalId]) => api('POST', `${toolsPath(id)}/calls/${encodeURIComponent(need(approvalId, 'approval id'))}/reject`),
}

/**
 * Characters a person does not see, or that reorder or break the text around them (U+202E, U+200B, U+2028,
 * soft hyphen, C1 controls): the same set as the API's (src/tools/unseen.ts), which writes them as `\u`
 * escapes. Parsing its answer decodes them, and JSON.stringify would print them raw again.
 */
const UNSEEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu

/**
 * `value` as indented JSON for a person to read, with every UNSEEN character inside its strings as a `\u`
 * escape: still the JSON of `value`, but `"bob\u200b"` cannot pass for `"bob"`. The indentation is only
 * line feeds and spaces, and JSON.stringify writes every control character inside a string as an escape,
 * so a raw line feed is always indentation and is left as it is.
 */
export function shownJson(value) {
  return JSON.stringify(value, null, 2).replace(UNSEEN, (c) => {
    if (c === '\n') return c
    let out = ''
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`
    return out
  })
}

function need(value, what) {
  if (value === undefined) throw new UsageError(`missing ${what}`)
  return value
}

/** Runs the CLI; returns the exit code. */
export async function main(argv, out = console.log, err = console.error) {
  try {
    const { positional, flags, valueless, help } = parseArgs(argv)
    if (help || (argv.length === 1 && argv[0] === 'help')) {
      out(USAGE)
      return 0
    }
    const [group, command, ...rest] = positional
    const table = group === 'tenant' ? commands : group === 'tools' ? toolCommands : null // [tools]
    if (!table || !Object.hasOwn(table, command ?? '')) throw new UsageError(USAGE)
    checkShape(group, command, rest, flags, valueless)
    const result = await table[command](rest, flags)
    if (result !== null && result !== undefined && result !== '') out(shownJson(result))
    return 0
  } catch (e) {
    if (e instanceof UsageError) {
      err(e.message)
      return 1
    }
    if (e instanceof ApiError) {
      err(`refused: HTTP ${e.status}`)
      out(shownJson(e.body))
      return 2
    }
    // fetch says only "fetch failed"; the reason (refused, unknown host, TLS) is in its cause.
    const reason = e instanceof NoAnswer ? e.message : (e.cause?.code ?? e.cause?.message ?? e.message)
    err(`cannot reach the firewall at ${process.env.MCP_FIREWALL_URL}: ${reason}`)
    return 3
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('mcp-firewall')) {
  process.exitCode = await main(process.argv.slice(2))
}
