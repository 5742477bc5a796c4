import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCsvWriter, createNdjsonWriter } from '../../../src/cli/precheck/output.js'
import { openPrevious, samePair, keepable } from '../../../src/cli/precheck/resume.js'
import { openCsv } from '../../../src/cli/precheck/rows.js'
import { RESULT_COLUMNS } from '../../../src/cli/precheck/format.js'

const HEADER = ['lead', 'user', ...RESULT_COLUMNS]
let dir: string
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-resume-'))))
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

async function drain(prev: Awaited<ReturnType<typeof openPrevious>>) {
  const rows = []
  for (let r = await prev?.next(); r; r = await prev?.next()) rows.push(r)
  return rows
}

describe('the CSV writer and openPrevious', () => {
  it('read back what was written, quoting included, and skip a cut last row', async () => {
    const file = path.join(dir, 'out.csv')
    const writer = createCsvWriter(fs.createWriteStream(file), HEADER, true)
    const result = {
      allowed: true,
      reason: 'consent_granted',
      consent: { expires_at: '2026-12-01T00:00:00.000Z' },
      decision_id: 'd1',
      retry_at: null,
      can_request_permission: false,
    }
    await writer.write({ line: 2, endByte: 0, fields: ['a, "quoted"', '+919000000001'] }, result)
    await writer.write(
      { line: 3, endByte: 0, fields: ['b', '+919000000002'] },
      { allowed: false, reason: 'overloaded', message: 'x' },
    )
    await writer.end()
    const text = fs.readFileSync(file, 'utf8')
    expect(text.split('\n')[1]).toBe(
      '"a, ""quoted""",+919000000001,true,consent_granted,2026-12-01T00:00:00.000Z,d1,,false',
    )
    fs.appendFileSync(file, 'c,+9190000')
    const rows = await drain(await openPrevious(file, 'csv', HEADER))
    expect(rows.map((r) => [r.fields?.[0], r.reason])).toEqual([
      ['a, "quoted"', 'consent_granted'],
      ['b', 'overloaded'],
    ])
    expect(rows.map(keepable)).toEqual([true, false])
  })

  it('refuses a CSV with another header', async () => {
    const file = path.join(dir, 'out.csv')
    fs.writeFileSync(file, 'user,allowed,reason,expires_at,decision_id\n')
    await expect(openPrevious(file, 'csv', HEADER)).rejects.toThrow('was it written for another input?')
  })

  it('is undefined when there is no output yet', async () => {
    expect(await openPrevious(path.join(dir, 'none.csv'), 'csv', HEADER)).toBeUndefined()
  })
})

describe('the NDJSON writer and openPrevious', () => {
  it('names the pair of an error result, and matches rows by their numbers whatever their writing', async () => {
    const file = path.join(dir, 'out.ndjson')
    const writer = createNdjsonWriter(fs.createWriteStream(file), true)
    await writer.write(
      { line: 1, endByte: 0, rawBusiness: '+91 80000 00001', rawUser: '+91abc' },
      { allowed: false, reason: 'invalid_request', message: 'bad' },
    )
    await writer.end()
    const [row] = await drain(await openPrevious(file, 'ndjson', undefined))
    expect(JSON.parse(row!.text!)).toEqual({
      business: '+91 80000 00001',
      user: '+91abc',
      allowed: false,
      reason: 'invalid_request',
      message: 'bad',
    })
    expect(samePair(row!, { line: 1, endByte: 0, rawBusiness: '+918000000001', rawUser: '+91abc' })).toBe(
      true,
    )
    expect(samePair(row!, { line: 1, endByte: 0, rawBusiness: '+918000000001', rawUser: '+91abd' })).toBe(
      true,
    )
    expect(samePair(row!, { line: 1, endByte: 0, rawBusiness: '+918000000001', rawUser: '+919' })).toBe(false)
  })
})

describe('openCsv', () => {
  it('reports a row with the wrong number of fields as invalid, by line, and goes on', async () => {
    const source = await openCsv(
      Readable.from(['user,business\n+919000000001,+918000000001\n\n1,2,3\n+919000000002,+918000000001\n']),
      undefined,
    )
    const rows = []
    for await (const r of source.rows) rows.push([r.line, r.invalid ?? r.check?.user])
    expect(rows).toEqual([
      [2, '+919000000001'],
      [4, 'the row has 3 fields, the header 2'],
      [5, '+919000000002'],
    ])
  })

  it('refuses an empty input and a broken quote with one line', async () => {
    await expect(openCsv(Readable.from(['']), '+918000000001')).rejects.toThrow('the input is empty')
    const readAll = async () => {
      const source = await openCsv(Readable.from(['user\n+919000000001\n"+919\n']), '+918000000001')
      for await (const _ of source.rows);
    }
    await expect(readAll()).rejects.toThrow('the CSV is malformed: Quote Not Closed')
  })
})
