import { createHash } from 'node:crypto';

/** Longest key an audit record holds verbatim (after escaping); longer ones are cut, with their length and hash. */
export const AUDIT_KEY_MAX = 256;

// C0/C1 controls, the backslash (so an escape cannot be forged by a key that spells one), and
// lone surrogates: JSON lines are written as UTF-8, where a lone surrogate becomes U+FFFD, so the
// record read back would no longer match its hash (the chain would look broken from there on).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\\]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with controls, backslashes and lone surrogates as `\uXXXX` / `\\`: survives UTF-8 unchanged. */
export function escapeAuditText(text: string): string {
  return text.replace(UNSAFE, (c) => (c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** SHA-256 of a JS string's exact code units (UTF-8 would merge lone surrogates into U+FFFD). */
export function exactHash(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'utf16le')).digest('hex');
}

/**
 * What an audit record says about a key: escaped, bounded (a 1 MB key in a denied call writes
 * ~300 bytes, not 1 MB), and for values that are not strings (a refused `null` or number key) a
 * description of the type. A cut key keeps its first 128 characters, its length and its hash,
 * so two long keys stay distinguishable.
 */
export function auditKeyText(key: unknown): string | null {
  if (key === undefined) return null;
  if (typeof key !== 'string') {
    if (key === null) return '<null>';
    if (Array.isArray(key)) return `<array of ${key.length}>`;
    return `<${typeof key}>`;
  }
  const escaped = escapeAuditText(key);
  if (escaped.length <= AUDIT_KEY_MAX) return escaped;
  // Cut on the escaped text (never inside a surrogate pair: the escaped text has no lone ones).
  let head = escaped.slice(0, 128);
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  return `${head}…[${key.length} chars, sha256 ${exactHash(key).slice(0, 32)}]`;
}
