// Colour overrides of naive-ui's themes so that text meets WCAG 2.2 AA
// contrast (4.5:1) in both themes: naive-ui's light palette puts white text
// on #18a058 (3.38:1), its tags' green, orange and blue text on their tinted
// backgrounds (1.9–3.4:1), hints in #767c82 (4.22:1) and empty-state text in
// #c2c2c2. The light primary and status colours are darker shades of the
// same hues; checked by axe in the Playwright suite (axe.spec.ts).
//
// A tag's tinted background is its colour at 12 % (light) or 16 % (dark)
// alpha over what is behind it, and a hovered table row is darker (light)
// or lighter (dark) than a card: the light green and dark red tag texts
// fell to 4.30:1 and 4.33:1 on a hovered row. Their tag texts are a shade
// further (5.0:1 hovered, 5.4 and 5.9:1 resting); accounts-table.spec.ts
// hovers each row and measures every tag in both themes.
import type { GlobalThemeOverrides } from 'naive-ui'

export const lightOverrides: GlobalThemeOverrides = {
  common: {
    primaryColor: '#0c7a43',
    primaryColorHover: '#0e8148',
    primaryColorPressed: '#0a6537',
    primaryColorSuppl: '#0e8148',
    infoColor: '#1060c0',
    infoColorHover: '#1a68c8',
    infoColorPressed: '#0d4f9e',
    infoColorSuppl: '#1a68c8',
    successColor: '#0c7a43',
    successColorHover: '#0e8148',
    successColorPressed: '#0a6537',
    successColorSuppl: '#0e8148',
    warningColor: '#875000',
    warningColorHover: '#905600',
    warningColorPressed: '#704200',
    warningColorSuppl: '#905600',
    errorColor: '#c01c3c',
    errorColorHover: '#c92645',
    errorColorPressed: '#9e1732',
    errorColorSuppl: '#c92645',
    textColor3: '#5f6368',
  },
  Empty: { textColor: '#5f6368' },
  Tag: { textColorSuccess: '#0b6e3c' },
  // White "on"/"off" text inside the rail.
  Switch: { railColor: '#6b6e72' },
}

export const darkOverrides: GlobalThemeOverrides = {
  common: {
    textColor3: 'rgba(255, 255, 255, 0.62)',
  },
  Empty: { textColor: 'rgba(255, 255, 255, 0.62)' },
  Tag: { textColorError: '#ee8f8f' },
}
