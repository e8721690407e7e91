/**
 * The message of anything thrown, for wrapping it in a typed error: an Error's message, else its
 * string form, else a placeholder (a null-prototype object has no string form, and String() of it
 * throws a TypeError, which would replace the error being reported).
 */
export function errorText(err: unknown): string {
  try {
    const m = (err as { message?: unknown } | null | undefined)?.message;
    return typeof m === 'string' ? m : String(err);
  } catch {
    return '(an unprintable value was thrown)';
  }
}
