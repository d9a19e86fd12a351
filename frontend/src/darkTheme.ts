// naive-ui's dark theme in a chunk of its own: light-theme visitors never
// load it. main.ts waits for it before the first render when the page
// starts dark, so that a dark-mode visitor never sees the light theme.
export { darkTheme } from 'naive-ui'
