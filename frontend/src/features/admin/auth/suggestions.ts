// Shorter values suggested for high-security deployments (applied to the
// form only; the admin still saves). Mentioned in the suggestion box text.
import type { SecuritySettings } from './api'

export const highSecuritySuggestion: Pick<
  SecuritySettings,
  'sessionLifetimeSeconds' | 'sessionIdleTimeoutSeconds' | 'accessTokenLifetimeSeconds' | 'lockThreshold' | 'lockDurationSeconds'
> = {
  sessionLifetimeSeconds: 8 * 3600,
  sessionIdleTimeoutSeconds: 30 * 60,
  accessTokenLifetimeSeconds: 5 * 60,
  lockThreshold: 5,
  lockDurationSeconds: 30 * 60,
}
