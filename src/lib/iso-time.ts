/**
 * `new Date(ms).toISOString()` without the Date: V8 takes ~1 µs to format one, and every answer of /can-call
 * carries one or two (checked_at, consent.expires_at), which made formatting the largest single cost of a cache
 * hit in the bench profile. Same output for every whole millisecond from 1970 to 9999; anything else goes to Date,
 * clamped to the years 0000 to 9999 first.
 */
const MS_PER_DAY = 86_400_000
/** 0000-01-01T00:00:00.000Z: the first instant with a four-digit year. */
const FIRST_FOUR_DIGIT_YEAR_MS = -62_167_219_200_000
/** 9999-12-31T23:59:59.999Z: the last instant with a four-digit year. */
const LAST_FOUR_DIGIT_YEAR_MS = 253_402_300_799_999

/**
 * The latest instant the gate takes from outside (webhook timestamps and expiries, Kaleyra expiries), in epoch
 * seconds: the largest ten-digit second (2286-11-20T17:46:39Z), so one bound reads the same as a string pattern and
 * as a number. Meta sends ten digits; more is milliseconds sent as seconds, or hostile input.
 */
export const LATEST_EPOCH_SECONDS = 9_999_999_999

const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'))
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))

/** Never throws: every answer carries a time, and a time that cannot be formatted must not turn one into a 500. */
export function isoTime(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > LAST_FOUR_DIGIT_YEAR_MS)
    return new Date(clamped(ms)).toISOString()
  const days = Math.floor(ms / MS_PER_DAY)
  const inDay = ms - days * MS_PER_DAY
  const hours = Math.floor(inDay / 3_600_000)
  const minutes = Math.floor(inDay / 60_000) % 60
  const seconds = Math.floor(inDay / 1000) % 60
  const [year, month, day] = civilFromDays(days)
  return `${year}-${PAD2[month]}-${PAD2[day]}T${PAD2[hours]}:${PAD2[minutes]}:${PAD2[seconds]}.${PAD3[inDay % 1000]}Z`
}

/**
 * Into the years 0000 to 9999, all RFC 3339 can write: Date throws past ±8.64e15 ms or on NaN, and writes
 * five- or six-digit years (`+010000-...`) before that. NaN, which has no side, takes the earlier edge.
 */
function clamped(ms: number): number {
  if (Number.isNaN(ms)) return FIRST_FOUR_DIGIT_YEAR_MS
  return Math.min(LAST_FOUR_DIGIT_YEAR_MS, Math.max(FIRST_FOUR_DIGIT_YEAR_MS, ms))
}

/**
 * Year, month (1-12) and day of the proleptic Gregorian calendar for days since 1970-01-01 (>= 0), after
 * Howard Hinnant's `civil_from_days` (http://howardhinnant.github.io/date_algorithms.html): March-based years
 * of 400-year eras.
 */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const dayOfEra = z - era * 146_097
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  )
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day]
}
