// The tabs of "Login & auth", each its own lazy child route of /admin/auth.
import type { RouteRecordRaw } from 'vue-router'

export interface AuthTab {
  name: string
  path: string
  /** Key under authSettings.tabs. */
  label: string
}

export const authTabs: AuthTab[] = [
  { name: 'admin-auth-signin', path: 'signin', label: 'signin' },
  { name: 'admin-auth-registration', path: 'registration', label: 'registration' },
  { name: 'admin-auth-email', path: 'email', label: 'email' },
  { name: 'admin-auth-human-verification', path: 'human-verification', label: 'humanVerification' },
  { name: 'admin-auth-providers', path: 'providers', label: 'providers' },
  { name: 'admin-auth-security', path: 'security', label: 'security' },
  { name: 'admin-auth-password-policy', path: 'password-policy', label: 'passwordPolicy' },
]

const pages: Record<string, () => Promise<unknown>> = {
  'admin-auth-signin': () => import('./SigninTab.vue'),
  'admin-auth-registration': () => import('./RegistrationTab.vue'),
  'admin-auth-email': () => import('./EmailTab.vue'),
  'admin-auth-human-verification': () => import('./HumanVerificationTab.vue'),
  'admin-auth-providers': () => import('../providers/ProvidersTab.vue'),
  'admin-auth-security': () => import('./SecurityTab.vue'),
  'admin-auth-password-policy': () => import('./PasswordPolicyTab.vue'),
}

/** The /admin/auth route: the tab frame, redirecting to the first tab. */
export const authSettingsRoute: RouteRecordRaw = {
  path: 'auth',
  name: 'admin-auth',
  component: () => import('./AuthSettingsPage.vue'),
  redirect: { name: 'admin-auth-signin' },
  meta: { title: 'authSettings.title' },
  children: authTabs.map((tab) => ({
    path: tab.path,
    name: tab.name,
    component: pages[tab.name] as () => Promise<{ default: never }>,
    meta: { title: 'authSettings.title' },
  })),
}
