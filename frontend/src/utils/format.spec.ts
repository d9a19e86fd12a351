import { describe, expect, it } from 'vitest'
// The vectors the server's user-agent reader (server/useragent) is tested
// with: the device an alert email names and the one the console shows
// follow the same rules.
import agentsJson from '../../../server/useragent/testdata/agents.json?raw'
import { describeUserAgent } from './format'

const agents = JSON.parse(agentsJson) as { ua: string; label: string }[]

describe('describeUserAgent', () => {
  it('reads every shared vector as the server does', () => {
    expect(agents.length).toBeGreaterThan(5)
    for (const a of agents) expect(describeUserAgent(a.ua), a.ua).toBe(a.label)
  })
})
