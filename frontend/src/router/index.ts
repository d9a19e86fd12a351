import { createRouter, createWebHistory, type Router } from 'vue-router'
import { setUnauthorizedHandler } from '@/api/client'
import { i18n } from '@/i18n'
import { loadSession, loadSetupPending, setUser } from '@/stores/session'
import { decideNavigation } from './guard'
import { routes } from './routes'

export function createAppRouter(): Router {
  const router = createRouter({
    history: createWebHistory(),
    routes,
    scrollBehavior: () => ({ top: 0 }),
  })

  router.beforeEach((to) =>
    decideNavigation(to, { setupPending: () => loadSetupPending(), currentUser: () => loadSession() }),
  )

  router.afterEach((to) => {
    const key = [...to.matched].reverse().find((r) => r.meta.title)?.meta.title
    const app = i18n.global.t('app.name')
    document.title = key ? `${i18n.global.t(key)} · ${app}` : app
  })

  // A 401 from a signed-in call: the session ended elsewhere (revoked, expired).
  setUnauthorizedHandler(() => {
    setUser(null)
    const current = router.currentRoute.value
    if (!current.meta.public) {
      void router.push({ name: 'login', query: { next: current.fullPath, expired: '1' } })
    }
  })

  return router
}
