// The `next` query parameter of /login: only same-origin relative paths are
// honoured; anything else falls back to "/".

// Browsers drop tabs and newlines from URLs ("/\t/evil" becomes "//evil"),
// so any control character or whitespace makes a value suspect.
const controlOrSpace = /[\u0000-\u0020\u007f]/

export function sanitizeNext(raw: unknown): string {
  const value = Array.isArray(raw) ? raw[0] : raw
  if (typeof value !== 'string' || value === '') return '/'
  if (!value.startsWith('/')) return '/' // relative, or has a scheme ("https:", "javascript:")
  if (value.startsWith('//')) return '/' // protocol-relative: another host
  if (value.includes('\\')) return '/' // "/\evil.com" is "//evil.com" to some browsers
  if (controlOrSpace.test(value)) return '/'
  try {
    const base = 'http://gatehouse.invalid'
    const url = new URL(value, base)
    if (url.origin !== base) return '/'
    return url.pathname + url.search + url.hash
  } catch {
    return '/'
  }
}

/**
 * Whether a sanitized `next` is a server page rather than a console route:
 * the sign-in start of a protected app (/api/forward-auth/sign-in) or an
 * OpenID authorization that waits for the sign-in. The sign-in page opens
 * these with a full page load; the console's router would show "not found".
 */
export function isServerPath(next: string): boolean {
  return /^\/(api|oauth|oidc|\.well-known)\//.test(next)
}
