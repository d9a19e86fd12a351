import type { HTMLAttributes, InputHTMLAttributes } from 'vue'

/**
 * Attributes for the native <input> inside a naive-ui NInput, with a stable
 * data-testid for the browser tests (the typed attribute set has no data-*).
 */
export function inputAttrs(testId: string, attrs: InputHTMLAttributes = {}): InputHTMLAttributes {
  return { ...attrs, ['data-testid' as string]: testId } as InputHTMLAttributes
}

/** HTML attributes carrying only a data-testid (for naive-ui `props` options). */
export function testId(id: string): HTMLAttributes {
  return { ['data-testid' as string]: id } as HTMLAttributes
}
