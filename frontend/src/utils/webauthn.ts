// The browser side of passkey ceremonies: the API answers WebAuthn options
// as JSON with base64url binary fields (as the spec's toJSON forms do);
// navigator.credentials wants ArrayBuffers, and its answers go back as JSON.

export function b64urlToBuffer(s: string): ArrayBuffer {
  const pad = '='.repeat((4 - (s.length % 4)) % 4)
  const bin = atob((s + pad).replace(/-/g, '+').replace(/_/g, '/'))
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out.buffer
}

export function bufferToB64url(buf: ArrayBuffer | ArrayBufferView | null | undefined): string {
  if (!buf) return ''
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

type Json = Record<string, unknown>

interface Descriptor {
  id: string
  type: string
  transports?: string[]
}

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] | undefined {
  if (!Array.isArray(list)) return undefined
  return (list as Descriptor[]).map((d) => ({
    type: 'public-key',
    id: b64urlToBuffer(d.id),
    ...(d.transports ? { transports: d.transports as AuthenticatorTransport[] } : {}),
  }))
}

/** Options for navigator.credentials.create from the API's publicKey. */
export function creationOptions(pk: Json): PublicKeyCredentialCreationOptions {
  const user = pk.user as Json
  return {
    ...(pk as unknown as PublicKeyCredentialCreationOptions),
    challenge: b64urlToBuffer(pk.challenge as string),
    user: { ...(user as unknown as PublicKeyCredentialUserEntity), id: b64urlToBuffer(user.id as string) },
    excludeCredentials: descriptors(pk.excludeCredentials),
  }
}

/** Options for navigator.credentials.get from the API's publicKey. */
export function requestOptions(pk: Json): PublicKeyCredentialRequestOptions {
  return {
    ...(pk as unknown as PublicKeyCredentialRequestOptions),
    challenge: b64urlToBuffer(pk.challenge as string),
    allowCredentials: descriptors(pk.allowCredentials),
  }
}

/** The JSON form of a created or asserted credential, for the API. */
export function credentialJSON(cred: PublicKeyCredential): Json {
  const r = cred.response as AuthenticatorAttestationResponse & AuthenticatorAssertionResponse
  const response: Json = { clientDataJSON: bufferToB64url(r.clientDataJSON) }
  if ('attestationObject' in r && r.attestationObject) {
    response.attestationObject = bufferToB64url(r.attestationObject)
    if (typeof r.getTransports === 'function') response.transports = r.getTransports()
  }
  if ('authenticatorData' in r && r.authenticatorData) {
    response.authenticatorData = bufferToB64url(r.authenticatorData)
    response.signature = bufferToB64url(r.signature)
    if (r.userHandle) response.userHandle = bufferToB64url(r.userHandle)
  }
  return {
    id: cred.id,
    rawId: bufferToB64url(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
    response,
    clientExtensionResults: cred.getClientExtensionResults(),
  }
}

/** Whether this browser can use passkeys at all. */
export function passkeysSupported(): boolean {
  return typeof window !== 'undefined' && typeof window.PublicKeyCredential === 'function' && !!navigator.credentials
}

/** Whether the browser offers passkeys in the sign-in field's autofill. */
export async function conditionalMediationAvailable(): Promise<boolean> {
  if (!passkeysSupported()) return false
  const pkc = window.PublicKeyCredential as unknown as { isConditionalMediationAvailable?: () => Promise<boolean> }
  try {
    return (await pkc.isConditionalMediationAvailable?.()) === true
  } catch {
    return false
  }
}

/** A user's cancel or a timeout: nothing to report as an error. */
export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'NotAllowedError' || err.name === 'AbortError')
}
