/** How both APIs write a number for people: '+91 90000 00001' (a two-digit country code, then groups of five). */
export function spaced(e164: string): string {
  const [, country, rest] = /^\+(\d{2})(\d+)$/.exec(e164) ?? []
  if (!country || !rest) return e164
  return `+${country} ${(rest.match(/.{1,5}/g) ?? []).join(' ')}`
}
