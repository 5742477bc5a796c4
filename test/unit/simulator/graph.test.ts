import { describe, expect, it } from 'vitest'
import { createKaleyraSimulator, simPhoneNumberId } from '../../../src/simulator/simulator.js'
import { DEMO_USERS, demoConsents } from '../../../src/simulator/seed.js'
import {
  B,
  HOUR_MS,
  NOW,
  PNID,
  actions,
  consent,
  graphGet,
  permissionsOf,
  useSimulators,
  type GraphError,
} from './graph-helpers.js'

const start = useSimulators()
const BSUID = 'US.13491208655302741918'
const INVALID_TOKEN = 'Invalid OAuth access token - Cannot parse access token'

describe('the Meta side of the simulator', () => {
  it('has a token, a WABA id and derived phone number ids by default', () => {
    const sim = createKaleyraSimulator()
    expect(sim.metaAccessToken).toBe('sim-meta-token-0123456789')
    expect(sim.wabaId).toBe('100000000000001')
    expect(sim.phoneNumberIdOf(B)).toBe(PNID)
    expect(simPhoneNumberId('+15550001111')).toBe('115550001111')
  })

  it('takes the token, the WABA id and phone number ids from its options', () => {
    const sim = createKaleyraSimulator({
      metaAccessToken: 't',
      wabaId: '7',
      phoneNumberIds: { [B]: '106540352242922' },
    })
    expect([sim.metaAccessToken, sim.wabaId, sim.phoneNumberIdOf(B)]).toEqual(['t', '7', '106540352242922'])
    expect(sim.phoneNumberIdOf('+918000000002')).toBe('1918000000002')
  })

  it('refuses a metaMaxRps that is not a positive integer', () => {
    expect(() => createKaleyraSimulator({ metaMaxRps: 0 })).toThrow(RangeError)
  })
})

describe('GET /<version>/<PNID>/call_permissions', () => {
  it("answers a temporary grant in Meta's exact structure, the expiry in epoch seconds", async () => {
    const sim = await start({ consents: [consent('+919000000001')] })
    const res = await graphGet(sim, permissionsOf('user_wa_id=919000000001'))
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=UTF-8')
    expect(res.json()).toEqual({
      messaging_product: 'whatsapp',
      permission: { status: 'temporary', expiration_time: Math.floor((NOW + 7 * 24 * HOUR_MS) / 1000) },
      actions: actions(false, true),
    })
  })

  it('answers under any version vNN.N', async () => {
    const sim = await start({ consents: [consent('+919000000001')] })
    const res = await graphGet(sim, `/v19.0/${PNID}/call_permissions?user_wa_id=919000000001`)
    expect(res.json().permission.status).toBe('temporary')
  })

  it('answers a permanent grant with no expiration_time', async () => {
    const sim = await start({ consents: [consent('+919000000002', { is_permanent: true, expiresAt: null })] })
    const body = (await graphGet(sim, permissionsOf('user_wa_id=919000000002'))).json()
    expect(body.permission).toEqual({ status: 'permanent' })
    expect(body.actions).toEqual(actions(false, true))
  })

  it('emits the expiration_time of an expired temporary grant, so the gate can see it is past', async () => {
    const sim = await start({ consents: [consent('+919000000004', { expiresAt: NOW - 24 * HOUR_MS })] })
    const body = (await graphGet(sim, permissionsOf('user_wa_id=919000000004'))).json()
    expect(body.permission).toEqual({
      status: 'temporary',
      expiration_time: Math.floor((NOW - 24 * HOUR_MS) / 1000),
    })
  })

  it('answers no_permission to a reject, and lets the business ask again', async () => {
    const sim = await start({
      consents: [consent('+919000000003', { response: 'reject', can_perform_action: false })],
    })
    const body = (await graphGet(sim, permissionsOf('user_wa_id=919000000003'))).json()
    expect(body).toEqual({
      messaging_product: 'whatsapp',
      permission: { status: 'no_permission' },
      actions: actions(true, false),
    })
  })

  it('answers no_permission when nothing is stored for the pair', async () => {
    const sim = await start({ consents: [consent('+919000000001')] })
    const body = (await graphGet(sim, permissionsOf('user_wa_id=919000000009'))).json()
    expect(body).toEqual({
      messaging_product: 'whatsapp',
      permission: { status: 'no_permission' },
      actions: actions(true, false),
    })
  })

  it('answers for a number nothing is stored for yet: a derived id stands for any number', async () => {
    const sim = await start()
    const body = (await graphGet(sim, permissionsOf('user_wa_id=919000000001', '15550001111'))).json()
    expect(body.permission).toEqual({ status: 'no_permission' })
  })

  it('shows any other response as the status itself', async () => {
    const sim = await start({ consents: [consent('+919000000001', { response: 'pending' })] })
    const body = (await graphGet(sim, permissionsOf('user_wa_id=919000000001'))).json()
    expect(body.permission).toEqual({ status: 'pending' })
  })

  it('shows the start_call limit used up, with its reset rounded up to the second', async () => {
    const resetsAt = NOW + 6 * HOUR_MS
    const sim = await start({
      consents: [consent('+919000000005', { can_perform_action: false, startCallLimitResetsAt: resetsAt })],
    })
    const body = (await graphGet(sim, permissionsOf('user_wa_id=919000000005'))).json()
    expect(body.actions).toEqual(
      actions(false, false, { current_usage: 100, limit_expiration_time: Math.ceil(resetsAt / 1000) }),
    )
    expect(Math.ceil(resetsAt / 1000)).toBe(Math.floor(resetsAt / 1000) + 1)
  })

  it('leaves the limit unused when start_call is refused with no reset time, or allowed', async () => {
    const sim = await start({
      consents: [
        consent('+919000000005', { can_perform_action: false }),
        consent('+919000000006', { startCallLimitResetsAt: NOW + HOUR_MS }),
      ],
    })
    const refused = (await graphGet(sim, permissionsOf('user_wa_id=919000000005'))).json()
    expect(refused.actions).toEqual(actions(false, false))
    const allowed = (await graphGet(sim, permissionsOf('user_wa_id=919000000006'))).json()
    expect(allowed.actions).toEqual(actions(false, true))
  })

  it('takes send_call_permission_request from canRequestPermission when set', async () => {
    const sim = await start({
      consents: [
        consent('+919000000001', { canRequestPermission: true }),
        consent('+919000000003', {
          response: 'reject',
          can_perform_action: false,
          canRequestPermission: false,
        }),
      ],
    })
    const accepted = (await graphGet(sim, permissionsOf('user_wa_id=919000000001'))).json()
    expect(accepted.actions[0]).toMatchObject({ can_perform_action: true })
    const rejected = (await graphGet(sim, permissionsOf('user_wa_id=919000000003'))).json()
    expect(rejected.actions[0]).toMatchObject({ can_perform_action: false })
  })

  it('appends extraActions verbatim, after the two known ones', async () => {
    const extra = { action_name: 'send_video_call', can_perform_action: true, limits: [], note: { x: 1 } }
    const sim = await start({ consents: [consent('+919000000001', { extraActions: [extra] })] })
    const body = (await graphGet(sim, permissionsOf('user_wa_id=919000000001'))).json()
    expect(body.actions).toEqual([...actions(false, true), extra])
  })

  it('answers a user known only by a BSUID to recipient=, and not to the number of anyone else', async () => {
    const sim = await start({ consents: [consent(BSUID, { is_permanent: true, expiresAt: null })] })
    const res = await graphGet(sim, permissionsOf(`recipient=${BSUID}`))
    expect(res.json().permission).toEqual({ status: 'permanent' })
    expect(sim.requests[0]).toMatchObject({ api: 'meta', business: [B], user: [BSUID], apiKeyOk: true })
    const other = await graphGet(sim, permissionsOf('recipient=US.ENT.1349'))
    expect(other.json().permission).toEqual({ status: 'no_permission' })
  })

  it('answers the demo seed as the demo promises', async () => {
    const sim = await start({ consents: demoConsents(NOW) })
    const status = async (query: string) =>
      (await graphGet(sim, permissionsOf(query))).json().permission.status as string
    expect(await status(`recipient=${DEMO_USERS.bsuidGranted}`)).toBe('permanent')
    expect(await status(`user_wa_id=${DEMO_USERS.rejected.slice(1)}`)).toBe('no_permission')
    const limited = (
      await graphGet(sim, permissionsOf(`user_wa_id=${DEMO_USERS.limitReached.slice(1)}`))
    ).json()
    expect(limited.actions[1].limits[0].limit_expiration_time).toBe(Math.ceil((NOW + 6 * HOUR_MS) / 1000))
  })

  it('records each request with the number and identity asked', async () => {
    const sim = await start()
    await graphGet(sim, permissionsOf('user_wa_id=919000000001&user_wa_id=2'), { token: 'wrong' })
    expect(sim.requests).toEqual([
      {
        api: 'meta',
        path: `/v23.0/${PNID}/call_permissions`,
        query: { user_wa_id: '919000000001' },
        apiKeyOk: false,
        business: [B],
        user: ['+919000000001'],
        limit: 25,
        offset: 0,
        receivedAtMs: expect.any(Number),
      },
    ])
  })

  it('uses the configured phone number id, and knows no derived id for that number', async () => {
    const sim = await start({
      consents: [consent('+919000000001')],
      phoneNumberIds: { [B]: '106540352242922' },
    })
    const res = await graphGet(sim, permissionsOf('user_wa_id=919000000001', '106540352242922'))
    expect(res.json().permission.status).toBe('temporary')
    expect((await graphGet(sim, permissionsOf('user_wa_id=919000000001'))).status).toBe(400)
    expect(sim.requests.map((q) => q.business)).toEqual([[B], []])
  })
})

describe('GET call_permissions: refusals', () => {
  it.each([
    ['a wrong token', 'not-the-token'],
    ['no token', null],
  ])('answers 401 code 190 to %s', async (_name, token) => {
    const sim = await start({ consents: [consent('+919000000001')] })
    const res = await graphGet(sim, permissionsOf('user_wa_id=919000000001'), { token })
    expect(res.status).toBe(401)
    expect(res.json()).toEqual({
      error: { message: INVALID_TOKEN, type: 'OAuthException', code: 190, fbtrace_id: expect.any(String) },
    })
    expect(res.headers['www-authenticate']).toContain('invalid_token')
    expect(sim.requests[0]?.apiKeyOk).toBe(false)
  })

  it('gives every error a fresh fbtrace_id', async () => {
    const sim = await start()
    const a = (await graphGet(sim, permissionsOf(''), { token: 'x' })).json() as GraphError
    const b = (await graphGet(sim, permissionsOf(''), { token: 'x' })).json() as GraphError
    expect(a.error.fbtrace_id).toMatch(/^[\w-]{16}$/)
    expect(a.error.fbtrace_id).not.toBe(b.error.fbtrace_id)
  })

  it.each([
    ['an id that is not a derived one', '555'],
    ['a derived id of no valid number', '10123'],
  ])('answers 400 code 100 subcode 33 to %s, not quoting it', async (_name, pnid) => {
    const sim = await start()
    const res = await graphGet(sim, permissionsOf('user_wa_id=919000000001', pnid))
    expect(res.status).toBe(400)
    const { error } = res.json() as GraphError
    expect(error).toMatchObject({ type: 'OAuthException', code: 100, error_subcode: 33 })
    expect(error.message).toMatch(/^Unsupported get request\./)
    expect(error.message).not.toContain(pnid)
    expect(sim.requests[0]?.business).toEqual([])
  })

  it.each([
    ['neither user parameter', ''],
    ['both user parameters', `user_wa_id=919000000001&recipient=${BSUID}`],
    ['a user_wa_id with a +', 'user_wa_id=%2B919000000001'],
    ['a user_wa_id with letters', 'user_wa_id=91900abc'],
    ['a user_wa_id too short', 'user_wa_id=9190'],
    ['a user_wa_id starting with 0', 'user_wa_id=0919000000001'],
    ['an empty user_wa_id', 'user_wa_id='],
    ['a recipient that is no BSUID', 'recipient=919000000001'],
    ['a recipient in lower case', 'recipient=us.1349'],
  ])('answers 400 code 100 to %s, never echoing the value', async (_name, query) => {
    const sim = await start()
    const res = await graphGet(sim, permissionsOf(query))
    expect(res.status).toBe(400)
    const { error } = res.json() as GraphError
    expect(error).toMatchObject({ type: 'OAuthException', code: 100 })
    expect(error.message).toMatch(/^\(#100\) /)
    expect(error.message).not.toMatch(/\d{4}/)
  })

  it('answers 400 code 100 to another method', async () => {
    const sim = await start()
    const res = await graphGet(sim, permissionsOf('user_wa_id=919000000001'), { method: 'POST' })
    expect(res.status).toBe(400)
    expect((res.json() as GraphError).error.message).toMatch(/^Unsupported post request\./)
  })

  it('checks the token before the phone number id', async () => {
    const sim = await start()
    expect((await graphGet(sim, permissionsOf('', '555'), { token: 'x' })).status).toBe(401)
  })
})

describe('GET /<version>/<WABA_ID>/phone_numbers', () => {
  const numbers = ['+918000000001', '+918000000002', '+918000000003', '+918000000004', '+918000000005']
  const seeded = numbers.map((business, i) => consent(`+91900000000${i}`, { business }))
  const list = (query = '') => `/v23.0/100000000000001/phone_numbers${query}`

  it("lists every business number with its id, in Meta's display style", async () => {
    const sim = await start({
      consents: [consent('+919000000001'), consent('+919000000002')],
      phoneNumberIds: { '+15550001111': '106540352242922' },
    })
    const res = await graphGet(sim, list('?fields=id,display_phone_number,verified_name'))
    expect(res.status).toBe(200)
    expect(res.json()).toEqual({
      data: [
        { id: '106540352242922', display_phone_number: '+15 55000 1111', verified_name: expect.any(String) },
        { id: PNID, display_phone_number: '+91 80000 00001', verified_name: expect.any(String) },
      ],
      paging: { cursors: { before: expect.any(String), after: expect.any(String) } },
    })
  })

  it('answers only the fields asked, the id always', async () => {
    const sim = await start({ consents: [consent('+919000000001')] })
    const body = (await graphGet(sim, list('?fields=display_phone_number'))).json()
    expect(body.data).toEqual([{ id: PNID, display_phone_number: '+91 80000 00001' }])
  })

  it('pages with limit and the after cursor, following next to the end', async () => {
    const sim = await start({ consents: seeded })
    const ids = (body: { data: { id: string }[] }) => body.data.map((n) => n.id)
    // `next` is absolute, as Meta's is: the base URL included.
    const follow = async (next: string) => {
      expect(next.startsWith(`${sim.url}/v23.0/100000000000001/phone_numbers?`)).toBe(true)
      return (await graphGet(sim, next.slice(sim.url.length))).json()
    }
    const first = (await graphGet(sim, list('?fields=id&limit=2'))).json()
    expect(ids(first)).toEqual(['1918000000001', '1918000000002'])
    const next = new URL(first.paging.next as string)
    expect(next.searchParams.get('after')).toBe(first.paging.cursors.after)
    expect(next.searchParams.get('fields')).toBe('id')
    const second = await follow(first.paging.next)
    expect(ids(second)).toEqual(['1918000000003', '1918000000004'])
    const third = await follow(second.paging.next)
    expect(ids(third)).toEqual(['1918000000005'])
    expect(third.paging.next).toBeUndefined()
  })

  it('answers no data after the last cursor', async () => {
    const sim = await start({ consents: seeded.slice(0, 1) })
    const body = (await graphGet(sim, list())).json()
    expect((await graphGet(sim, list(`?after=${body.paging.cursors.after}`))).json()).toEqual({ data: [] })
  })

  it('pages by 25 by default and at most 100', async () => {
    const many = Array.from({ length: 120 }, (_, i) =>
      consent('+919000000001', { business: `+9180000${String(i).padStart(5, '0')}` }),
    )
    const sim = await start({ consents: many })
    const byDefault = (await graphGet(sim, list())).json()
    expect(byDefault.data).toHaveLength(25)
    expect(byDefault.paging.next).toBeDefined()
    expect((await graphGet(sim, list('?limit=500'))).json().data).toHaveLength(100)
  })

  it('lists nothing when no number is configured or stored', async () => {
    const sim = await start()
    expect((await graphGet(sim, list())).json()).toEqual({ data: [] })
  })

  it.each([
    ['a wrong token', list(), 'x', 401, 190],
    ['another WABA id', '/v23.0/999/phone_numbers', undefined, 400, 100],
    ['a limit of 0', list('?limit=0'), undefined, 400, 100],
    ['a limit that is no integer', list('?limit=two'), undefined, 400, 100],
    ['an unknown cursor', list('?after=bm9wZQ'), undefined, 400, 100],
  ])('answers %s with Graph’s error', async (_name, path, token, status, code) => {
    const sim = await start({ consents: seeded })
    const res = await graphGet(sim, path, { token })
    expect(res.status).toBe(status)
    expect((res.json() as GraphError).error).toMatchObject({ type: 'OAuthException', code })
  })

  it('records a listing as a Meta request about no number', async () => {
    const sim = await start({ consents: seeded })
    await graphGet(sim, list('?limit=3'))
    expect(sim.requests[0]).toMatchObject({ api: 'meta', business: [], user: [], limit: 3, apiKeyOk: true })
  })
})
