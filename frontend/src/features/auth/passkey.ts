// Passkey sign-in: passwordless (a button, or the identifier field's
// autofill through conditional mediation) and as the second step.
import { api, call } from '@/api/client'
import type { LoginResponse } from '@/api/types'
import { credentialJSON, requestOptions } from '@/utils/webauthn'

type PublicKeyJSON = Record<string, unknown>

async function assert(publicKey: PublicKeyJSON, signal?: AbortSignal, conditional = false): Promise<Record<string, unknown>> {
  const cred = (await navigator.credentials.get({
    publicKey: requestOptions(publicKey),
    ...(signal ? { signal } : {}),
    ...(conditional ? { mediation: 'conditional' as CredentialMediationRequirement } : {}),
  })) as PublicKeyCredential | null
  if (!cred) throw new DOMException('no credential', 'NotAllowedError')
  return credentialJSON(cred)
}

/** Signs in with a discoverable passkey; conditional waits for the autofill. */
export async function signInWithPasskey(signal?: AbortSignal, conditional = false): Promise<LoginResponse> {
  const opts = await call(api.POST('/api/auth/passkey/options', { body: { conditional } }))
  const credential = await assert(opts.publicKey, signal, conditional)
  return call(api.POST('/api/auth/passkey', { body: { ceremony: opts.ceremony, credential } }))
}

/** The second factors the account at the password step can use. */
export async function mfaMethods(): Promise<string[]> {
  return (await call(api.GET('/api/auth/mfa'))).methods
}

/** The second step with a passkey of the account at the password step. */
export async function verifyMfaWithPasskey(): Promise<LoginResponse> {
  const opts = await call(api.POST('/api/auth/mfa/passkey/options'))
  const credential = await assert(opts.publicKey)
  return call(api.POST('/api/auth/mfa/passkey', { body: { ceremony: opts.ceremony, credential } }))
}
