/** The store's key: one permission per (business number, user) pair, whichever API asks. */
export const pairKey = (business: string, user: string): string => `${business} ${user}`
