// The admin console's left menu. It lists only pages that exist: add an entry
// here when a feature lands (with its route in router/routes.ts).
import type { SideMenuItem } from '@/components/sideMenu'

type Translate = (key: string) => string

export function adminMenuItems(t: Translate): SideMenuItem[] {
  return [
    { name: 'admin-users', label: t('accounts.menu'), testId: 'nav-accounts' },
    { name: 'admin-auth', label: t('authSettings.menu'), testId: 'nav-auth' },
    { name: 'admin-billing', label: t('billing.menu'), testId: 'nav-billing' },
    { name: 'admin-applications', label: t('applications.menu'), testId: 'nav-applications' },
    { name: 'admin-integrations', label: t('integrations.menu'), testId: 'nav-integrations' },
    { name: 'admin-api-keys', label: t('apiKeys.menu'), testId: 'nav-api-keys' },
    { name: 'admin-webhooks', label: t('webhooks.menu'), testId: 'nav-webhooks' },
    { name: 'admin-audit', label: t('admin.menu.audit'), testId: 'nav-audit' },
  ]
}
