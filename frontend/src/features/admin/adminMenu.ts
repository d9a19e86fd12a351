// The admin console's left menu. It lists only pages that exist: add an entry
// here when a feature lands (with its route in router/routes.ts).
import type { SideMenuItem } from '@/components/sideMenu'

type Translate = (key: string) => string

export function adminMenuItems(t: Translate): SideMenuItem[] {
  return [{ name: 'admin-audit', label: t('admin.menu.audit'), testId: 'nav-audit' }]
}
