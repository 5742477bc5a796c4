import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPairBatcher } from '../../../src/consent/batcher.js'
import type { ConsentUpstream, PermissionRecord, Priority } from '../../../src/upstream/port.js'

const B = '+918000000001'
const record = (business: string, user: string): PermissionRecord => ({
  business,
  user,
  response: 'accept',
  isPermanent: true,
  responseSource: 'user_action',
  canPerformAction: true,
  expiresAtMs: null,
})

function fakeClient(answer: (b: readonly string[], u: readonly string[]) => PermissionRecord[]) {
  const calls: Array<{ businesses: readonly string[]; users: readonly string[] }> = []
  return {
    calls,
    listPermissions: vi.fn(async (businesses: readonly string[], users: readonly string[]) => {
      calls.push({ businesses, users })
      return answer(businesses, users)
    }),
  }
}

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

describe('createPairBatcher', () => {
  it('waits windowMs for other users of the same business, then asks once', async () => {
    const client = fakeClient((b, u) => u.map((user) => record(b[0] ?? '', user)))
    const batcher = createPairBatcher({ client, windowMs: 2, maxUsers: 25 })
    const a = batcher.find(B, '+919000000001')
    const b = batcher.find(B, '+919000000002')
    await vi.advanceTimersByTimeAsync(1)
    expect(client.calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(client.calls).toEqual([{ businesses: [B], users: ['+919000000001', '+919000000002'] }])
    expect((await a).map((r) => r.user)).toEqual(['+919000000001'])
    expect((await b).map((r) => r.user)).toEqual(['+919000000002'])
  })

  it('sends a full batch at once, without waiting for the window', async () => {
    const client = fakeClient(() => [])
    const batcher = createPairBatcher({ client, windowMs: 1000, maxUsers: 3 })
    const finds = ['1', '2', '3', '4'].map((n) => batcher.find(B, `+91900000000${n}`))
    await vi.advanceTimersByTimeAsync(0)
    expect(client.calls.map((c) => c.users.length)).toEqual([3])
    await vi.advanceTimersByTimeAsync(1000)
    expect(client.calls.map((c) => c.users.length)).toEqual([3, 1])
    await Promise.all(finds)
  })

  it('shares one request across businesses, each pair answered with its own records only', async () => {
    const B2 = '+918000000002'
    // Kaleyra answers the cross product: B2 also holds a record for the user asked about with B.
    const client = fakeClient((bs, us) => bs.flatMap((b) => us.map((u) => record(b, u))))
    const batcher = createPairBatcher({ client, windowMs: 2, maxUsers: 25 })
    const a = batcher.find(B, '+919000000001')
    const b = batcher.find(B2, '+919000000002')
    await vi.advanceTimersByTimeAsync(2)
    expect(client.calls).toEqual([{ businesses: [B, B2], users: ['+919000000001', '+919000000002'] }])
    expect(await a).toEqual([record(B, '+919000000001')])
    expect(await b).toEqual([record(B2, '+919000000002')])
  })

  it('sends the open batch when a pair would take it past its businesses bound', async () => {
    const client = fakeClient(() => [])
    const batcher = createPairBatcher({ client, windowMs: 1000, maxUsers: 25, maxBusinesses: 2 })
    const finds = ['1', '2', '3', '1'].map((n) => batcher.find(`+91800000000${n}`, '+919000000001'))
    await vi.advanceTimersByTimeAsync(0)
    expect(client.calls.map((c) => c.businesses)).toEqual([['+918000000001', '+918000000002']])
    await vi.advanceTimersByTimeAsync(1000)
    expect(client.calls.map((c) => c.businesses)).toEqual([
      ['+918000000001', '+918000000002'],
      ['+918000000003', '+918000000001'],
    ])
    await Promise.all(finds)
  })

  it('bounds a batch by distinct users, however many businesses share it', async () => {
    const client = fakeClient(() => [])
    const batcher = createPairBatcher({ client, windowMs: 1000, maxUsers: 2 })
    const finds = [
      batcher.find(B, '+919000000001'),
      batcher.find('+918000000002', '+919000000001'),
      batcher.find(B, '+919000000002'),
      batcher.find(B, '+919000000003'),
    ]
    await vi.advanceTimersByTimeAsync(0)
    expect(client.calls.map((c) => c.users)).toEqual([['+919000000001', '+919000000002']])
    await vi.advanceTimersByTimeAsync(1000)
    expect(client.calls.map((c) => c.users.length)).toEqual([2, 1])
    await Promise.all(finds)
  })

  it('answers each pair only with its own records, whatever else the answer holds', async () => {
    const client = fakeClient(() => [record('+918000000009', '+919000000001'), record(B, '+919000000002')])
    const batcher = createPairBatcher({ client, windowMs: 0, maxUsers: 25 })
    expect(await batcher.find(B, '+919000000001')).toEqual([])
  })

  it('fails every pair of a batch with the upstream error', async () => {
    const client = { listPermissions: vi.fn(async () => Promise.reject(new Error('boom'))) }
    const batcher = createPairBatcher({ client, windowMs: 2, maxUsers: 25 })
    const finds = [batcher.find(B, '+919000000001'), batcher.find(B, '+919000000002')].map((p) =>
      p.then(
        () => 'resolved',
        (e: Error) => e.message,
      ),
    )
    await vi.advanceTimersByTimeAsync(2)
    expect(await Promise.all(finds)).toEqual(['boom', 'boom'])
    expect(client.listPermissions).toHaveBeenCalledTimes(1)
  })

  it('asks at once and alone with windowMs 0', async () => {
    const client = fakeClient(() => [])
    const batcher = createPairBatcher({ client, windowMs: 0, maxUsers: 25 })
    await Promise.all([batcher.find(B, '+919000000001'), batcher.find(B, '+919000000002')])
    expect(client.calls.map((c) => c.users)).toEqual([['+919000000001'], ['+919000000002']])
  })
})

describe('createPairBatcher isolation', () => {
  const B2 = '+918000000002'
  const failFor = (bad: string) =>
    fakeClient((bs, us) => {
      if (bs.includes(bad)) throw new Error(`no answer for ${bad}`)
      return bs.flatMap((b) => us.map((u) => record(b, u)))
    })

  it('asks each business again alone when a shared request fails, so only the failing one fails', async () => {
    const client = failFor(B2)
    const batcher = createPairBatcher({ client, windowMs: 2, maxUsers: 25, isolateOn: () => true })
    const ok = batcher.find(B, '+919000000001')
    const bad = batcher.find(B2, '+919000000002').catch((e: Error) => e.message)
    await vi.advanceTimersByTimeAsync(2)
    expect(await ok).toEqual([record(B, '+919000000001')])
    expect(await bad).toBe(`no answer for ${B2}`)
    expect(client.calls).toEqual([
      { businesses: [B, B2], users: ['+919000000001', '+919000000002'] },
      { businesses: [B], users: ['+919000000001'] },
      { businesses: [B2], users: ['+919000000002'] },
    ])
  })

  it('fails the whole batch when the error is not one to isolate, or the batch has one business', async () => {
    const client = failFor(B2)
    const batcher = createPairBatcher({ client, windowMs: 2, maxUsers: 25, isolateOn: () => false })
    const finds = [batcher.find(B, '+919000000001'), batcher.find(B2, '+919000000002')].map((p) =>
      p.then(
        () => 'resolved',
        () => 'rejected',
      ),
    )
    await vi.advanceTimersByTimeAsync(2)
    expect(await Promise.all(finds)).toEqual(['rejected', 'rejected'])
    expect(client.calls).toHaveLength(1)
  })
})

describe('createPairBatcher: live and bulk', () => {
  it('never puts a live miss in a bulk batch: each class has its own batches and says so upstream', async () => {
    const sent: [Priority | undefined, readonly string[]][] = []
    const client: Pick<ConsentUpstream, 'listPermissions'> = {
      listPermissions: async (_businesses, users, opts) => {
        sent.push([opts?.priority, users])
        return []
      },
    }
    const batcher = createPairBatcher({ client, windowMs: 2, maxUsers: 25 })
    const finds = [
      batcher.find(B, '+919000000001', 'bulk'),
      batcher.find(B, '+919000000002', 'live'),
      batcher.find(B, '+919000000003', 'bulk'),
      batcher.find(B, '+919000000004'),
    ]
    await vi.advanceTimersByTimeAsync(50)
    await Promise.all(finds)
    expect(sent).toEqual([
      ['bulk', ['+919000000001', '+919000000003']],
      ['live', ['+919000000002', '+919000000004']],
    ])
  })
})
