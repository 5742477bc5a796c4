import { describe, expect, it } from 'vitest'
import { DecisionBody } from '../../src/schemas/can-call.js'
import { extraFields } from '../helpers/contract.js'

// The contract check stands in for schema-driven serialization on /can-call: it must see what would leak.
describe('extraFields', () => {
  const body = {
    allowed: true,
    reason: 'consent_granted',
    business: '+918000000001',
    user: '+919000000001',
    consent: {
      response: 'accept',
      is_permanent: true,
      response_source: 'user_action',
      can_perform_action: true,
      expires_at: null,
    },
    source: 'cache',
    checked_at: '2026-11-25T12:00:00.000Z',
    decision_id: 'x',
  }

  it('finds nothing in a documented body, with or without a consent', () => {
    expect(extraFields(DecisionBody, body)).toEqual([])
    expect(extraFields(DecisionBody, { ...body, consent: null })).toEqual([])
  })

  it('names undocumented fields, nested ones included', () => {
    expect(extraFields(DecisionBody, { ...body, apiKey: 'k' })).toEqual(['.apiKey'])
    expect(extraFields(DecisionBody, { ...body, consent: { ...body.consent, raw: {} } })).toEqual([
      '.consent.raw',
    ])
  })
})
