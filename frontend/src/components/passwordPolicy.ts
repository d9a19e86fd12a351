// The server's password policy (GET /api/auth/options, read once per page
// load) for PasswordPolicyHint; the hint's messages are in
// passwordPolicyMessages.ts.
import { ref, type Ref } from 'vue'
import { api, call } from '@/api/client'
import type { components } from '@/api/schema'

export type PasswordPolicy = components['schemas']['AuthOptions']['passwordPolicy']

let loading: Promise<PasswordPolicy | null> | null = null
const policy = ref<PasswordPolicy | null>(null)

/** The policy, loaded on first use; null until it arrives (or if it cannot). */
export function usePasswordPolicy(): Ref<PasswordPolicy | null> {
  loading ??= call(api.GET('/api/auth/options'))
    .then((o) => (policy.value = o.passwordPolicy ?? null))
    .catch(() => {
      loading = null // try again on the next form
      return null
    })
  return policy
}

/** Forgets the loaded policy (tests; after an administrator changes it). */
export function resetPasswordPolicy(): void {
  loading = null
  policy.value = null
}

/** The hint's sentences: the rules the server applies, in its order. */
export function policyLines(p: PasswordPolicy, t: (key: string, named?: Record<string, unknown>) => string): string[] {
  const lines = [t('passwordPolicy.length', { min: p.minLength, max: p.maxLength })]
  if (p.blockCommon) lines.push(t('passwordPolicy.common'))
  if (p.blockPersonalInfo) lines.push(t('passwordPolicy.personal'))
  lines.push(t('passwordPolicy.passphrase'))
  return lines
}
