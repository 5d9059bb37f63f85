// The tools the conformance suite's server scenarios (@modelcontextprotocol/conformance 0.1.16) call,
// written from the scenario descriptions. Definitions are raw JSON so `json_schema_2020_12_tool`
// keeps its `$schema` / `$defs` / `additionalProperties` exactly.
import { CreateMessageResultSchema, ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js'
import { pixelPng, silentWav } from './fixtures.mjs'

export const PNG = pixelPng(255, 0, 0)
const WAV = silentWav()

const text = (value) => ({ content: [{ type: 'text', text: value }] })
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const noArgs = { type: 'object', properties: {} }
const str = (description) => ({ type: 'string', description })

const log = (extra, data) =>
  extra.sendNotification({ method: 'notifications/message', params: { level: 'info', logger: 'conformance', data } })

const elicit = (extra, params) => extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema)
const elicitedText = (r) => `Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`

/** @type {{ definition: import('@modelcontextprotocol/sdk/types.js').Tool, run: (args: Record<string, unknown>, extra: any) => Promise<unknown> | unknown }[]} */
export const TOOLS = [
  {
    definition: { name: 'test_simple_text', description: 'Returns a fixed text.', inputSchema: noArgs },
    run: () => text('This is a simple text response for testing.'),
  },
  {
    definition: { name: 'test_image_content', description: 'Returns a 1x1 PNG.', inputSchema: noArgs },
    run: () => ({ content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] }),
  },
  {
    definition: { name: 'test_audio_content', description: 'Returns a short WAV.', inputSchema: noArgs },
    run: () => ({ content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] }),
  },
  {
    definition: { name: 'test_embedded_resource', description: 'Returns an embedded text resource.', inputSchema: noArgs },
    run: () => ({
      content: [
        { type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } },
      ],
    }),
  },
  {
    definition: { name: 'test_multiple_content_types', description: 'Returns text, an image and a resource.', inputSchema: noArgs },
    run: () => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: PNG, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: JSON.stringify({ test: 'data', value: 123 }) },
        },
      ],
    }),
  },
  {
    definition: { name: 'test_tool_with_logging', description: 'Logs three info messages while it runs.', inputSchema: noArgs },
    run: async (_args, extra) => {
      await log(extra, 'Tool execution started')
      await sleep(50)
      await log(extra, 'Tool processing data')
      await sleep(50)
      await log(extra, 'Tool execution completed')
      return text('Logging tool finished')
    },
  },
  {
    definition: { name: 'test_error_handling', description: 'Always fails.', inputSchema: noArgs },
    run: () => ({ isError: true, content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }] }),
  },
  {
    definition: { name: 'test_tool_with_progress', description: 'Reports progress 0, 50, 100 of 100.', inputSchema: noArgs },
    run: async (_args, extra) => {
      const progressToken = extra._meta?.progressToken
      for (const [i, progress] of [0, 50, 100].entries()) {
        if (i > 0) await sleep(50)
        if (progressToken !== undefined) {
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total: 100 } })
        }
      }
      return text('Progress tool finished')
    },
  },
  {
    definition: {
      name: 'test_sampling',
      description: 'Asks the client LLM to answer a prompt.',
      inputSchema: { type: 'object', properties: { prompt: str('The prompt to send to the LLM') }, required: ['prompt'] },
    },
    run: async (args, extra) => {
      const r = await extra.sendRequest(
        { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: String(args.prompt) } }], maxTokens: 100 } },
        CreateMessageResultSchema,
      )
      const reply = !Array.isArray(r.content) && r.content.type === 'text' ? r.content.text : JSON.stringify(r.content)
      return text(`LLM response: ${reply}`)
    },
  },
  {
    definition: {
      name: 'test_elicitation',
      description: 'Asks the user for a username and an email.',
      inputSchema: { type: 'object', properties: { message: str('The message to show the user') }, required: ['message'] },
    },
    run: async (args, extra) => {
      const r = await elicit(extra, {
        message: String(args.message),
        requestedSchema: {
          type: 'object',
          properties: { username: str("User's response"), email: str("User's email address") },
          required: ['username', 'email'],
        },
      })
      return text(`User response: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`)
    },
  },
  {
    definition: { name: 'test_elicitation_sep1034_defaults', description: 'Elicits a form whose fields have defaults.', inputSchema: noArgs },
    run: async (_args, extra) =>
      text(
        elicitedText(
          await elicit(extra, {
            message: 'Please confirm or change these values',
            requestedSchema: {
              type: 'object',
              properties: {
                name: { type: 'string', default: 'John Doe' },
                age: { type: 'integer', default: 30 },
                score: { type: 'number', default: 95.5 },
                status: { type: 'string', enum: ['active', 'inactive', 'pending'], default: 'active' },
                verified: { type: 'boolean', default: true },
              },
            },
          }),
        ),
      ),
  },
  {
    definition: { name: 'test_elicitation_sep1330_enums', description: 'Elicits every enum variant.', inputSchema: noArgs },
    run: async (_args, extra) => {
      const titled = (prefix, title) => [1, 2, 3].map((n) => ({ const: `${prefix}${n}`, title: `${title} ${n}` }))
      return text(
        elicitedText(
          await elicit(extra, {
            message: 'Pick some options',
            requestedSchema: {
              type: 'object',
              properties: {
                untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                titledSingle: { type: 'string', oneOf: titled('value', 'Option') },
                legacyEnum: { type: 'string', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
                untitledMulti: { type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
                titledMulti: { type: 'array', items: { anyOf: titled('value', 'Choice') } },
              },
            },
          }),
        ),
      )
    },
  },
  {
    definition: {
      name: 'json_schema_2020_12_tool',
      description: 'Tool with JSON Schema 2020-12 features',
      inputSchema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
        properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
        additionalProperties: false,
      },
    },
    run: (args) => text(`received ${JSON.stringify(args)}`),
  },
  {
    definition: { name: 'test_reconnection', description: 'Closes its SSE stream mid-call (SEP-1699), then answers.', inputSchema: noArgs },
    run: async (_args, extra) => {
      await sleep(50)
      // Only offered by the SDK when the client can resume (an event store and protocol >= 2025-11-25).
      extra.closeSSEStream?.()
      await sleep(200)
      return text('Reconnection test finished')
    },
  },
]
