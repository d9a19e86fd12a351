// Load, edit and save one settings group: the form keeps the version it was
// read at, saves the whole group with it, shows field errors next to fields
// and turns a stale version (409) into "changed by someone else — reload".
import { computed, ref, type Ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { useMessage } from 'naive-ui'
import { ApiError } from '@/api/client'
import { useApiErrors } from '@/composables/useApiErrors'
import { useUnsavedChanges } from '@/composables/useUnsavedChanges'
import { getSettings, putSettings, type AdminSignIn, type SettingsGroup, type SettingsGroupName } from './api'

export interface SettingsFormOptions<T> {
  /** The group's editable fields out of an answer. */
  pick: (answer: SettingsGroup) => T
  /** Called after every load or save with the full answer (for read-only flags). */
  onAnswer?: (answer: SettingsGroup) => void
}

export function useSettingsForm<T extends object>(group: SettingsGroupName, options: SettingsFormOptions<T>) {
  const { t, te } = useI18n()
  const message = useMessage()
  const errors = useApiErrors()

  const form = ref(null) as Ref<T | null>
  const version = ref(0)
  const signIn = ref<AdminSignIn | null>(null)
  const loading = ref(false)
  const saving = ref(false)
  const stale = ref(false)
  /** A code the API refused the last save with (e.g. would_lock_out_admins). */
  const refusal = ref('')
  /** The usernames a would_cut_off_super_admins refusal names. */
  const refusedAccounts = ref<string[]>([])
  /** The form as last loaded or saved, to tell unsaved edits. */
  const pristine = ref('')
  const dirty = computed(() => form.value !== null && JSON.stringify(form.value) !== pristine.value)
  useUnsavedChanges(dirty)
  errors.clearOnEdit(() => form.value as Record<string, unknown> | null)

  function apply(answer: SettingsGroup): void {
    form.value = options.pick(answer)
    pristine.value = JSON.stringify(form.value)
    version.value = answer.version
    signIn.value = answer.adminSignInPaths ?? null
    options.onAnswer?.(answer)
  }

  async function load(): Promise<void> {
    loading.value = true
    errors.clear()
    stale.value = false
    refusal.value = ''
    try {
      apply(await getSettings(group))
    } catch (err) {
      errors.capture(err)
    } finally {
      loading.value = false
    }
  }

  /** Saves the whole group (plus extra fields such as a write-only secret); true when stored. */
  async function save(extra: Partial<SettingsGroup> = {}): Promise<boolean> {
    if (!form.value) return false
    saving.value = true
    errors.clear()
    stale.value = false
    refusal.value = ''
    try {
      apply(await putSettings(group, { ...form.value, ...extra, version: version.value }))
      const tab = group.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
      message.success(te(`authSettings.tabs.${tab}`) ? t('authSettings.savedGroup', { group: t(`authSettings.tabs.${tab}`) }) : t('authSettings.saved'))
      return true
    } catch (err) {
      if (err instanceof ApiError && err.code === 'stale_version') {
        stale.value = true
        errors.message.value = t('authSettings.stale')
      } else {
        // A rule's refusal: a 409, or a 422 that names its rule instead of validation_failed.
        if (err instanceof ApiError && (err.status === 409 || (err.status === 422 && err.code !== 'validation_failed'))) {
          refusal.value = err.code
          refusedAccounts.value = (err.detail.accounts ?? []).map((a) => a.username)
        }
        errors.capture(err)
      }
      return false
    } finally {
      saving.value = false
    }
  }

  return { form, version, signIn, loading, saving, stale, refusal, refusedAccounts, dirty, errors, load, save }
}

export type SettingsForm = ReturnType<typeof useSettingsForm>
