import './boot'
import { createApp } from 'vue'
import App from './App.vue'
import { i18n } from './i18n'
import { createAppRouter } from './router'
import { startA11yFixes } from './a11y'
import { loadDarkTheme, startsDark } from './stores/theme'

document.documentElement.lang = i18n.global.locale.value

startA11yFixes()
// The router starts the first navigation (its guard's calls, the page's
// chunks) at once; the first render waits only for the dark theme's chunk
// when the page starts dark.
const app = createApp(App).use(i18n).use(createAppRouter())
if (startsDark()) void loadDarkTheme().finally(() => app.mount('#app'))
else app.mount('#app')
