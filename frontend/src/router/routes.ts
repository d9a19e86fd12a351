// The route table. Pages are lazy chunks; layouts carry the area's meta.
import type { RouteLocationNormalized, RouteRecordRaw } from 'vue-router'
import { authSettingsRoute } from '@/features/admin/auth/tabs'
import { prefetchAccountsScreen } from '@/features/admin/users/prefetch'
import { prefetchAuthOptions } from '@/features/auth/options'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without signing in. */
    public?: boolean
    /** Only for role admin or super_admin. */
    admin?: boolean
    /** i18n key of the page title. */
    title?: string
    /** Name of the menu item to highlight when the page has none of its own (e.g. a detail page). */
    menu?: string
    /**
     * Starts the calls the page will make, once the guard has let the
     * navigation through (see stores/prefetch.ts).
     */
    prefetch?: (to: RouteLocationNormalized) => void
  }
}

export const routes: RouteRecordRaw[] = [
  {
    path: '/',
    name: 'home',
    // The guard sends this to the area that fits the signed-in user.
    component: () => import('@/features/errors/NotFoundPage.vue'),
  },
  {
    path: '/setup',
    name: 'setup',
    component: () => import('@/features/auth/SetupPage.vue'),
    meta: { public: true, title: 'setup.title' },
  },
  {
    path: '/login',
    name: 'login',
    component: () => import('@/features/auth/LoginPage.vue'),
    meta: { public: true, title: 'auth.signIn', prefetch: prefetchAuthOptions },
  },
  {
    path: '/register',
    name: 'register',
    component: () => import('@/features/auth/RegisterPage.vue'),
    meta: { public: true, title: 'authPages.register.title', prefetch: prefetchAuthOptions },
  },
  {
    path: '/check-email',
    name: 'check-email',
    component: () => import('@/features/auth/CheckEmailPage.vue'),
    meta: { public: true, title: 'authPages.checkEmail.title' },
  },
  {
    path: '/verify-email',
    name: 'verify-email',
    component: () => import('@/features/auth/VerifyEmailPage.vue'),
    meta: { public: true, title: 'authPages.verify.title' },
  },
  {
    path: '/forgot-password',
    name: 'forgot-password',
    component: () => import('@/features/auth/ForgotPasswordPage.vue'),
    meta: { public: true, title: 'authPages.forgot.title' },
  },
  {
    path: '/reset-password',
    name: 'reset-password',
    component: () => import('@/features/auth/ResetPasswordPage.vue'),
    meta: { public: true, title: 'authPages.reset.title' },
  },
  {
    // The OpenID Provider's consent page (third-party applications); the
    // server's authorize step sends signed-in people here.
    path: '/consent',
    name: 'consent',
    component: () => import('@/features/auth/ConsentPage.vue'),
    meta: { title: 'consent.pageTitle' },
  },
  {
    path: '/account',
    component: () => import('@/features/account/AccountLayout.vue'),
    children: [
      { path: '', redirect: { name: 'account-profile' } },
      {
        path: 'profile',
        name: 'account-profile',
        component: () => import('@/features/account/ProfilePage.vue'),
        meta: { title: 'account.nav.profile' },
      },
      {
        path: 'security',
        name: 'account-security',
        component: () => import('@/features/account/SecurityPage.vue'),
        meta: { title: 'account.nav.security' },
      },
      {
        path: 'providers',
        name: 'account-providers',
        component: () => import('@/features/account/LinkedProvidersPage.vue'),
        meta: { title: 'linkedProviders.title' },
      },
    ],
  },
  {
    path: '/admin',
    component: () => import('@/features/admin/AdminLayout.vue'),
    meta: { admin: true },
    children: [
      { path: '', name: 'admin', redirect: { name: 'admin-users' } },
      {
        path: 'users',
        name: 'admin-users',
        component: () => import('@/features/admin/users/UsersListPage.vue'),
        meta: { title: 'accounts.title', prefetch: (to) => prefetchAccountsScreen(to.query) },
      },
      {
        path: 'users/:publicId',
        name: 'admin-user',
        component: () => import('@/features/admin/users/UserPage.vue'),
        meta: { title: 'accounts.title', menu: 'admin-users' },
      },
      {
        path: 'billing',
        name: 'admin-billing',
        component: () => import('@/features/admin/billing/BillingPage.vue'),
        meta: { title: 'billing.title' },
      },
      {
        path: 'audit',
        name: 'admin-audit',
        component: () => import('@/features/admin/audit/AuditLogPage.vue'),
        meta: { title: 'admin.audit.title' },
      },
      {
        path: 'api-keys',
        name: 'admin-api-keys',
        component: () => import('@/features/admin/apikeys/ApiKeysPage.vue'),
        meta: { title: 'apiKeys.title' },
      },
      {
        path: 'applications',
        name: 'admin-applications',
        component: () => import('@/features/admin/applications/ApplicationsPage.vue'),
        meta: { title: 'applications.title' },
      },
      {
        path: 'integrations',
        name: 'admin-integrations',
        component: () => import('@/features/admin/integrations/IntegrationsPage.vue'),
        meta: { title: 'integrations.title' },
      },
      {
        path: 'webhooks',
        name: 'admin-webhooks',
        component: () => import('@/features/admin/webhooks/WebhooksPage.vue'),
        meta: { title: 'webhooks.title' },
      },
      authSettingsRoute,
    ],
  },
  {
    path: '/no-access',
    name: 'no-access',
    component: () => import('@/features/errors/NoAccessPage.vue'),
    meta: { title: 'noAccess.title' },
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: () => import('@/features/errors/NotFoundPage.vue'),
    meta: { public: true, title: 'notFound.title' },
  },
]
