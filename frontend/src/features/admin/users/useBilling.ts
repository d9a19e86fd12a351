// The platform billing mode and currency, read once and shared by the account
// list and the user page; the Billing page refreshes it after a save.
import { reactive } from 'vue'
import { getBillingSettings } from './api'
import type { BillingMode, SettingsGroup } from './types'

interface BillingState {
  mode: BillingMode
  currency: string
  loaded: boolean
}

const state = reactive<BillingState>({ mode: 'self', currency: '', loaded: false })
let pending: Promise<void> | null = null

/** Takes the values of a GET or PUT answer of the billing group. */
export function rememberBilling(group: SettingsGroup): void {
  state.mode = group.mode ?? 'self'
  state.currency = group.currency ?? ''
  state.loaded = true
}

/** Loads the billing settings unless they are known already (or force). */
export function loadBilling(force = false): Promise<void> {
  if (state.loaded && !force) return Promise.resolve()
  pending ??= getBillingSettings()
    .then(rememberBilling)
    .finally(() => (pending = null))
  return pending
}

export function useBilling() {
  return state
}
