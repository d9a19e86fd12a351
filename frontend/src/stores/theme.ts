// Light/dark preference: follows the system unless the user picked one,
// which is remembered in localStorage.
import { computed, ref, shallowRef, watchEffect } from 'vue'
import { useOsTheme, type GlobalTheme } from 'naive-ui'

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

/** True when the page would start dark (the stored choice, else the system's). */
export function startsDark(): boolean {
  if (preference.value !== 'system') return preference.value === 'dark'
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches
}

const loadedDarkTheme = shallowRef<GlobalTheme | null>(null)
let darkThemeLoad: Promise<void> | null = null

/** Loads naive-ui's dark theme (a chunk of its own) once. */
export function loadDarkTheme(): Promise<void> {
  darkThemeLoad ??= import('@/darkTheme').then((m) => {
    loadedDarkTheme.value = m.darkTheme
  })
  return darkThemeLoad
}

/** The naive-ui theme to use: null (light) until the dark one is loaded. */
export function useNaiveTheme() {
  const { isDark } = useThemePreference()
  watchEffect(() => {
    if (isDark.value) void loadDarkTheme()
  })
  const theme = computed(() => (isDark.value ? loadedDarkTheme.value : null))
  return { isDark, theme }
}
