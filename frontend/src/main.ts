import './boot'
import { createApp } from 'vue'
import App from './App.vue'
import { i18n } from './i18n'
import { createAppRouter } from './router'
import { startA11yFixes } from './a11y'

document.documentElement.lang = i18n.global.locale.value

startA11yFixes()
createApp(App).use(i18n).use(createAppRouter()).mount('#app')
