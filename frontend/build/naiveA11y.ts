// A build-time fix for naive-ui's card header (2.45): it renders two nested
// elements with role="heading" and no aria-level, so screen readers hear
// two headings of no level for every card and dialog title (axe:
// aria-required-attr, WCAG 1.3.1). The outer element becomes role="none"
// and the inner one a level-2 heading (pages have one h1; card and dialog
// titles sit below it). The source is matched exactly: when a naive-ui
// upgrade changes it, the build fails here instead of silently dropping the fix.
import type { Plugin } from 'vite'

const cardFile = /naive-ui[\\/]es[\\/]card[\\/]src[\\/]Card\.mjs$/
const outer = 'style: normalizeStyle(this.headerStyle),\n          role: "heading"\n'
const inner = 'class: normalizeClass$1(`${mergedClsPrefix}-card-header__main`),\n          role: "heading"\n'

export function naiveA11y(): Plugin {
  return {
    name: 'gatehouse-naive-a11y',
    enforce: 'pre',
    transform(code, id) {
      if (!cardFile.test(id.split('?')[0] ?? '')) return null
      if (!code.includes(outer) || !code.includes(inner)) {
        throw new Error('naive-ui Card.mjs changed: update frontend/build/naiveA11y.ts (card header roles)')
      }
      return code
        .replace(outer, 'style: normalizeStyle(this.headerStyle),\n          role: "none"\n')
        .replace(inner, 'class: normalizeClass$1(`${mergedClsPrefix}-card-header__main`),\n          role: "heading",\n          "aria-level": "2"\n')
    },
  }
}
