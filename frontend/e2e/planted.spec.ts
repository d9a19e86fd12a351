import { expect, test, uniqueTag } from './admin-fixtures'
import { putGroup, queuePerson, startMailsink, startMockIdP, waitForMail } from './devtools'

// Planted accounts (issue 13, item 5) end to end: a provider that does not
// verify email addresses (internal/devtools/mockoidc, email_verified
// false) registers an account holding someone else's address; the owner
// of the mailbox registers and confirms it through our link and owns it;
// the planted account loses it and its identity reaches only itself.
// mockoidc and mailsink are built to bin/ by `make test-e2e`.

interface Me {
  publicId: string
  username: string
  email: string | null
  emailVerified: boolean
}

test('an address a provider did not verify goes to whoever proves it; the planted identity never reaches the owner', async ({ adminApi, browser, baseURL }) => {
  // Two helper processes, a registration, a confirmation and three
  // sign-ins (each a password hash): more than the default minute on a
  // busy machine.
  test.setTimeout(180_000)
  const idp = await startMockIdP()
  const sink = await startMailsink()
  const { issuer, clientId, clientSecret } = idp
  const tag = uniqueTag('plant')
  const slug = `unverified-${tag}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40).replace(/-+$/, '')
  const victim = `${tag}-owner@example.org`
  const password = 'lantern-harbor-6620'
  try {
    await putGroup(adminApi, 'email', { host: sink.smtpHost, port: sink.smtpPort, username: '', password: null, senderName: 'Gatehouse', senderAddress: 'noreply@gatehouse.test', tlsMode: 'none' })
    await putGroup(adminApi, 'registration', { emailRegistrationEnabled: true, requireEmailVerification: true, allowedDomains: [] })
    await putGroup(adminApi, 'signin', { usernameEnabled: true, thirdPartyEnabled: true })
    const ep = (await (await adminApi.post('/api/admin/identity-providers/discover', { data: { issuerUrl: issuer } })).json()) as Record<string, string>
    const created = await adminApi.post('/api/admin/identity-providers', {
      data: {
        slug, name: 'Careless ID', type: 'oidc', clientId, clientSecret, issuerUrl: ep.issuerUrl, authorizationUrl: ep.authorizationUrl,
        tokenUrl: ep.tokenUrl, userinfoUrl: ep.userinfoUrl, jwksUrl: ep.jwksUrl, scopes: ['openid', 'email', 'profile'],
        loginEnabled: true, registrationEnabled: true,
      },
    })
    expect(created.status(), await created.text()).toBe(201)

    const attackerCtx = await browser.newContext({ baseURL })
    const attacker = await attackerCtx.newPage()
    const signInWithProvider = async (): Promise<Me> => {
      await queuePerson(idp, { sub: `${tag}-evil`, username: `${tag}-evil`, email: victim, emailVerified: false })
      await attacker.goto('/login')
      await attacker.getByTestId(`provider-${slug}`).click()
      await expect(attacker).toHaveURL(/\/account\//, { timeout: 30_000 })
      return (await (await attacker.request.get('/api/me')).json()) as Me
    }

    let planted: Me
    await test.step('a provider that did not verify the address registers an account with it', async () => {
      planted = await signInWithProvider()
      expect(planted).toMatchObject({ email: victim, emailVerified: false })
    })

    const ownerCtx = await browser.newContext({ baseURL })
    const owner = await ownerCtx.newPage()
    await test.step('the owner of the mailbox registers with it: not refused, a confirmation link arrives', async () => {
      await owner.goto('/register')
      await owner.getByTestId('register-username').fill(`${tag}-owner`)
      await owner.getByTestId('register-email').fill(victim)
      await owner.getByTestId('register-password').fill(password)
      await owner.getByTestId('register-confirm').fill(password)
      await owner.getByTestId('register-submit').click()
      await expect(owner).toHaveURL(/\/check-email/, { timeout: 30_000 })
      const mail = await waitForMail(sink, victim, 'Confirm')
      const link = /(https?:\/\/\S+\/verify-email\?token=\S+)/.exec(mail.text)?.[1]
      expect(link, mail.text).toBeTruthy()
      await owner.goto(new URL(link!).pathname + new URL(link!).search)
      await expect(owner.getByTestId('verify-done')).toBeVisible()
    })

    let ownerMe: Me
    await test.step('the owner signs in and holds the verified address', async () => {
      await owner.goto('/login')
      await owner.getByTestId('login-identifier').fill(`${tag}-owner`)
      await owner.getByTestId('login-password').fill(password)
      await owner.getByTestId('login-submit').click()
      await expect(owner).toHaveURL(/\/account/, { timeout: 30_000 }) // a password hash on a busy machine
      ownerMe = (await (await owner.request.get('/api/me')).json()) as Me
      expect(ownerMe).toMatchObject({ email: victim, emailVerified: true })
    })

    await test.step('the planted account lost the address, audited', async () => {
      const me = (await (await attacker.request.get('/api/me')).json()) as Me
      expect(me.publicId).toBe(planted.publicId)
      expect(me.email).toBeNull()
      const audit = (await (await adminApi.get(`/api/admin/audit?action=account.email_released&target=${planted.publicId}`)).json()) as { items: unknown[] }
      expect(audit.items).toHaveLength(1)
    })

    await test.step("the planted identity signs in again and reaches only its own account", async () => {
      await attacker.request.post('/api/auth/logout')
      const me = await signInWithProvider()
      expect(me.publicId).toBe(planted.publicId)
      expect(me.publicId).not.toBe(ownerMe.publicId)
      expect(me.email).toBeNull()
    })
    await attackerCtx.close()
    await ownerCtx.close()
  } finally {
    await putGroup(adminApi, 'registration', { emailRegistrationEnabled: false, requireEmailVerification: false, allowedDomains: [] })
    idp.proc.kill('SIGTERM')
    sink.proc.kill('SIGTERM')
  }
})
