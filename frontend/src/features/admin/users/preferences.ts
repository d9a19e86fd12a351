// Preferences are a small JSON object; the editor shows them as JSON text.

/** Parses JSON text into an object; null when it is not a JSON object. Empty text is {}. */
export function parsePreferences(text: string): Record<string, unknown> | null {
  if (!text.trim()) return {}
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

export function formatPreferences(value: Record<string, unknown> | null | undefined): string {
  return value && Object.keys(value).length > 0 ? JSON.stringify(value, null, 2) : '{}'
}
