// Colour arithmetic for contrast checks inside the page (WCAG relative
// luminance and contrast ratio, alpha compositing over the ancestors'
// backgrounds). Code passed to page.evaluate cannot import, so
// installColorMath defines it on window.__ghColor for the callbacks that
// follow (again after each navigation).
import type { Page } from '@playwright/test'

export type Rgba = [number, number, number, number]

export interface ColorMath {
  /** An rgb()/rgba() computed colour; anything else is transparent. */
  parse(c: string): Rgba
  /** top composited over bottom. */
  over(top: Rgba, bottom: Rgba): Rgba
  /** What is behind an element: the backgrounds of it and its ancestors over white. */
  background(e: Element): Rgba
  lum(c: Rgba): number
  contrast(a: Rgba, b: Rgba): number
  hex(c: Rgba): string
}

declare global {
  interface Window {
    __ghColor: ColorMath
  }
}

export async function installColorMath(page: Page): Promise<void> {
  await page.evaluate(() => {
    const parse = (c: string): Rgba => {
      const m = c.match(/rgba?\(([^)]+)\)/)
      if (!m) return [0, 0, 0, 0]
      const p = m[1]!.split(/[ ,/]+/).filter(Boolean).map(Number)
      return [p[0]!, p[1]!, p[2]!, p[3] ?? 1]
    }
    const over = (top: Rgba, bottom: Rgba): Rgba => {
      const a = top[3] + bottom[3] * (1 - top[3])
      if (a === 0) return [0, 0, 0, 0]
      const mix = (i: number) => (top[i]! * top[3] + bottom[i]! * bottom[3] * (1 - top[3])) / a
      return [mix(0), mix(1), mix(2), a]
    }
    const background = (e: Element): Rgba => {
      const layers: Rgba[] = []
      for (let x: Element | null = e; x; x = x.parentElement) layers.push(parse(getComputedStyle(x).backgroundColor))
      let bg: Rgba = [255, 255, 255, 1]
      for (const layer of layers.reverse()) bg = over(layer, bg)
      return bg
    }
    const lum = (c: Rgba) => {
      const f = (v: number) => {
        const s = v / 255
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
      }
      return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2])
    }
    const contrast = (a: Rgba, b: Rgba) => {
      const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x)
      return (hi! + 0.05) / (lo! + 0.05)
    }
    const hex = (c: Rgba) => '#' + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')
    window.__ghColor = { parse, over, background, lum, contrast, hex }
  })
}
