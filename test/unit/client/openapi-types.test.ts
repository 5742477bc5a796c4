import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { CLIENT_TYPES, generateClientTypes } from '../../../scripts/client-types.js'

describe('src/client/openapi-types.ts', () => {
  it('is what openapi-typescript writes for openapi/openapi.yaml now (npm run client-types)', async () => {
    expect(await readFile(CLIENT_TYPES, 'utf8')).toBe(await generateClientTypes())
  })
})
