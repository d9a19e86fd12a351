// Calls of the sign-in feature.
import { api, call } from '@/api/client'
import type { paths } from '@/api/schema'
import type { LoginRequest, LoginResponse, SetupRequest } from '@/api/types'
import { takeAuthOptions } from './options'

/** The sign-in options; uses the call the router started, if any. */
export function fetchAuthOptions() {
  return takeAuthOptions().answer
}

export function login(body: LoginRequest) {
  return call(api.POST('/api/auth/login', { body }))
}

export function setup(body: SetupRequest) {
  return call(api.POST('/api/setup', { body }))
}

export function verifyMfa(code: string): Promise<LoginResponse> {
  return call(api.POST('/api/auth/mfa', { body: { code } }))
}

// Registration, email verification and password reset (public pages).
type Body<P extends keyof paths> = paths[P] extends { post: { requestBody: { content: { 'application/json': infer B } } } } ? B : never
export type RegisterRequest = Body<'/api/auth/register'>

export function register(body: RegisterRequest) {
  return call(api.POST('/api/auth/register', { body }))
}

export function verifyEmail(token: string) {
  return call(api.POST('/api/auth/verify-email', { body: { token } }))
}

export function resendVerification(email: string) {
  return call(api.POST('/api/auth/resend-verification', { body: { email } }))
}

export function forgotPassword(email: string) {
  return call(api.POST('/api/auth/forgot-password', { body: { email } }))
}

export function resetPassword(token: string, password: string) {
  return call(api.POST('/api/auth/reset-password', { body: { token, password } }))
}

// The consent page of the OpenID Provider.
export type ConsentRequest = paths['/api/oauth/consent/{requestId}']['get']['responses']['200']['content']['application/json']

export function getConsentRequest(requestId: string) {
  return call(api.GET('/api/oauth/consent/{requestId}', { params: { path: { requestId } } }))
}

export function answerConsent(requestId: string, approve: boolean) {
  return call(api.POST('/api/oauth/consent/{requestId}', { params: { path: { requestId } }, body: { approve } }))
}
