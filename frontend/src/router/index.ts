import { watch } from 'vue'
import { createRouter, createWebHistory, loadRouteLocation, type RouteLocationNormalized, type Router } from 'vue-router'
import { setUnauthorizedHandler } from '@/api/client'
import { applyLocaleAfterSignIn, i18n } from '@/i18n'
import { confirmLeave } from '@/composables/useUnsavedChanges'
import { loadSession, loadSetupPending, setUser, useSession } from '@/stores/session'
import { decideNavigation } from './guard'
import { routes } from './routes'

export function createAppRouter(): Router {
  const router = createRouter({
    history: createWebHistory(),
    routes,
    scrollBehavior: () => ({ top: 0 }),
  })

  router.beforeEach(async (to, from) => {
    // A form with unsaved edits asks before the page is left.
    if (to.path !== from.path && !confirmLeave(i18n.global.t('common.unsavedChanges'))) return false
    // The router loads a page's chunks only after the guards: start them now,
    // while the guard waits for its answers (a redirect wastes little).
    void loadRouteLocation(to).catch(() => undefined)
    const decision = await decideNavigation(to, { setupPending: () => loadSetupPending(), currentUser: () => loadSession() })
    // Back from a provider sign-in: the console speaks the account's language.
    const me = useSession().state.user
    if (me) applyLocaleAfterSignIn(me)
    // Allowed: start the page's own calls alongside its chunks.
    if (decision === true) to.meta.prefetch?.(to)
    return decision
  })

  function setTitle(to: RouteLocationNormalized): void {
    const key = [...to.matched].reverse().find((r) => r.meta.title)?.meta.title
    const app = i18n.global.t('app.name')
    document.title = key ? `${i18n.global.t(key)} · ${app}` : app
  }
  router.afterEach((to) => setTitle(to))
  // The tab title follows the language switch, not only navigation.
  watch(i18n.global.locale, () => setTitle(router.currentRoute.value))

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
