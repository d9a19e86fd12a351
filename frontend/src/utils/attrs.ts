import type { SelectProps } from 'naive-ui'
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

/**
 * Props for the select inside a naive-ui component (such as the page-size
 * picker of NPagination) that give it an accessible name: the aria-label
 * lands on NSelect's root, and a11y.ts copies it to the focusable element.
 */
export function namedSelect(label: string): SelectProps {
  return { ['aria-label' as string]: label } as SelectProps
}
