// The console's messages in each language, merged from the features' files.
// Data only (no imports but message files): the build
// (frontend/build/precompileMessages.ts) replaces this module with the same
// messages compiled to functions, so the console's bundle carries no message
// compiler and compiles no message at runtime. Tests and the dev server use
// it as it is, with vue-i18n's compiler.
import en from './locales/en'
import zhCN from './locales/zh-CN'
import { accountsMessages } from '@/features/admin/users/locales'
import { authSettingsMessages } from '@/features/admin/auth/locales'
import { authPagesMessages } from '@/features/auth/locales'
import { accountSecurityMessages } from '@/features/account/locales'
import { providerMessages } from '@/features/admin/providers/locales'
import { integrationsMessages } from '@/features/admin/integrations/locales'
import { apiKeysMessages } from '@/features/admin/apikeys/locales'
import { webhooksMessages } from '@/features/admin/webhooks/locales'
import { applicationsMessages } from '@/features/admin/applications/locales'
import { apiErrorMessages } from './apiErrors'
import { passwordPolicyMessages } from '@/components/passwordPolicyMessages'

export const messages = {
  en: { ...en, ...accountsMessages.en, ...authSettingsMessages.en, ...authPagesMessages.en, ...accountSecurityMessages.en, ...providerMessages.en, ...integrationsMessages.en, ...apiKeysMessages.en, ...webhooksMessages.en, ...applicationsMessages.en, ...apiErrorMessages.en, ...passwordPolicyMessages.en },
  'zh-CN': { ...zhCN, ...accountsMessages['zh-CN'], ...authSettingsMessages['zh-CN'], ...authPagesMessages['zh-CN'], ...accountSecurityMessages['zh-CN'], ...providerMessages['zh-CN'], ...integrationsMessages['zh-CN'], ...apiKeysMessages['zh-CN'], ...webhooksMessages['zh-CN'], ...applicationsMessages['zh-CN'], ...apiErrorMessages['zh-CN'], ...passwordPolicyMessages['zh-CN'] },
}
