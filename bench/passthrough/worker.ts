/**
 * The baseline: forwards every request to the origin with one `fetch` and streams the answer back
 * unchanged — no parsing, no inspection, no storage. What the firewall costs is the difference.
 */

interface PassthroughEnv {
  /** The origin's MCP endpoint, bound by bench/passthrough/start.ts. */
  readonly ORIGIN_URL: string
}

export default {
  /** Same method, headers and (streamed) body, sent to ORIGIN_URL; the origin's response is returned as is. */
  fetch(request: Request, env: PassthroughEnv): Promise<Response> {
    return fetch(new Request(env.ORIGIN_URL, request))
  },
}
