import { describe, expect, it } from 'vitest'
import { parseCheckTarget } from '../../../src/http/front-door.js'

describe('parseCheckTarget', () => {
  it('reads a business and a user, in either order, decoding escapes', () => {
    expect(parseCheckTarget('/can-call?business=%2B918000000001&user=%2B919000000001')).toEqual([
      '+918000000001',
      '+919000000001',
    ])
    expect(parseCheckTarget('/can-call?user=IN.1349&business=%2b918000000001')).toEqual([
      '+918000000001',
      'IN.1349',
    ])
  })

  it("leaves anything else to Fastify: a '+', a bad escape, other or repeated parameters, an empty value", () => {
    for (const url of [
      '/can-call?business=+918000000001&user=%2B919000000001',
      '/can-call?business=%2B918000000001&user=%zz',
      '/can-call?business=%2B918000000001&user=%2B919000000001&fresh=true',
      '/can-call?business=%2B918000000001&user=%2B919000000001&',
      '/can-call?business=%2B918000000001&business=%2B919000000001',
      '/can-call?business=%2B918000000001&user=',
      '/can-call?business=%2B918000000001&user',
      '/can-call?business=%2B918000000001',
      '/can-call/?business=%2B918000000001&user=%2B919000000001',
      '/can-call/batch?business=%2B918000000001&user=%2B919000000001',
      '/can-call?Business=%2B918000000001&user=%2B919000000001',
    ])
      expect(parseCheckTarget(url), url).toBeUndefined()
  })
})
