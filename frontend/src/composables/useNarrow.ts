// Whether the window is phone-sized (at most 768 px wide), following resizes.
import { onBeforeUnmount, ref, type Ref } from 'vue'

export const narrowQuery = '(max-width: 768px)'

export function useNarrow(query = narrowQuery): Ref<boolean> {
  const mql = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(query) : null
  const narrow = ref(mql?.matches === true)
  const update = (e: MediaQueryListEvent) => (narrow.value = e.matches)
  mql?.addEventListener('change', update)
  onBeforeUnmount(() => mql?.removeEventListener('change', update))
  return narrow
}
