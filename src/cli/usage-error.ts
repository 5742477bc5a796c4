/** A mistake in the command line or the input's shape: reported in one line, before anything is sent; exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}
