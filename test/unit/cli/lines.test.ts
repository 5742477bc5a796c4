import { describe, expect, it } from 'vitest'
import { splitLines } from '../../../src/cli/precheck/lines.js'

async function all(chunks: string[], max = 100) {
  const out = []
  for await (const l of splitLines(chunks, max)) out.push(l)
  return out
}

describe('splitLines', () => {
  it('splits across chunk boundaries, with line numbers and the byte where each line ends', async () => {
    const lines = await all(['ab', 'c\nde\r', '\n', 'f'])
    expect(lines.map((l) => [l.text, l.line, l.endByte])).toEqual([
      ['abc', 1, 4],
      ['de', 2, 8],
      ['f', 3, 9],
    ])
  })

  it('marks a line past the bound as too long and goes on with the next', async () => {
    const lines = await all(['x'.repeat(60), 'x'.repeat(60), '\nok\n'], 100)
    expect(lines.map((l) => [l.tooLong, l.text])).toEqual([
      [true, ''],
      [false, 'ok'],
    ])
  })

  it('counts bytes, not characters', async () => {
    const lines = await all(['é\n', 'z\n'])
    expect(lines.map((l) => l.endByte)).toEqual([3, 5])
  })
})
