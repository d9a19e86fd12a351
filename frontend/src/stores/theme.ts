// Light/dark preference: follows the system unless the user picked one,
// which is remembered in localStorage.
import { computed, ref } from 'vue'
import { useOsTheme } from 'naive-ui'

export type ThemePreference = 'system' | 'light' | 'dark'
export const themeStorageKey = 'gatehouse.theme'

function readPreference(): ThemePreference {
  try {
    const value = localStorage.getItem(themeStorageKey)
    if (value === 'light' || value === 'dark') return value
  } catch {
    // storage unavailable
  }
  return 'system'
}

const preference = ref<ThemePreference>(readPreference())

export function setThemePreference(value: ThemePreference): void {
  preference.value = value
  try {
    if (value === 'system') localStorage.removeItem(themeStorageKey)
    else localStorage.setItem(themeStorageKey, value)
  } catch {
    // storage unavailable
  }
}

/** Must be called from a component's setup (useOsTheme needs it). */
export function useThemePreference() {
  const os = useOsTheme()
  const isDark = computed(() =>
    preference.value === 'system' ? os.value === 'dark' : preference.value === 'dark',
  )
  return { preference, isDark, setThemePreference }
}
