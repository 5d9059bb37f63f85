import { env, exports } from 'cloudflare:workers'
import { expect, it } from 'vitest'
it('runs in workerd', async () => {
  const res = await exports.default.fetch('http://x/')
  expect(await res.text()).toBe('ok')
  await env.CONFIG.put('a', 'b')
  expect(await env.CONFIG.get('a')).toBe('b')
})
