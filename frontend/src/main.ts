import './boot'
import { createApp } from 'vue'
import App from './App.vue'
import { i18n, i18nReady } from './i18n'
import { createAppRouter } from './router'
import { startA11yFixes } from './a11y'
import { loadDarkTheme, startsDark } from './stores/theme'

document.documentElement.lang = i18n.global.locale.value

startA11yFixes()
// The router starts the first navigation (its guard's calls, the page's
// chunks) at once; the first render waits only for the dark theme's chunk
// when the page starts dark, and for the Chinese messages when it starts in
// Chinese (English is in this script).
const app = createApp(App).use(i18n).use(createAppRouter())
void Promise.all([startsDark() ? loadDarkTheme() : undefined, i18nReady]).finally(() => app.mount('#app'))
