// Unsaved edits: a form reports whether it holds changes that are not
// saved; leaving the page (another route, reload, closing the tab) then asks
// first. One registry for the console, read by the router's guard.
import { onBeforeUnmount, reactive, watch, type WatchSource } from 'vue'

const dirtyForms = reactive(new Set<symbol>())
let unloadHooked = false

/** True while some mounted form holds unsaved changes. */
export function hasUnsavedChanges(): boolean {
  return dirtyForms.size > 0
}

/**
 * Asks before leaving when a form holds unsaved changes; true to go on
 * (the edits are then given up: the forms are forgotten).
 */
export function confirmLeave(question: string, ask: (q: string) => boolean = (q) => window.confirm(q)): boolean {
  if (!hasUnsavedChanges()) return true
  if (!ask(question)) return false
  dirtyForms.clear()
  return true
}

function onBeforeUnload(e: BeforeUnloadEvent): void {
  if (!hasUnsavedChanges()) return
  e.preventDefault()
  e.returnValue = ''
}

/** Registers the calling form: dirty says whether it holds unsaved changes. */
export function useUnsavedChanges(dirty: WatchSource<boolean>): void {
  const id = Symbol('form')
  if (!unloadHooked && typeof window !== 'undefined') {
    window.addEventListener('beforeunload', onBeforeUnload)
    unloadHooked = true
  }
  watch(
    dirty,
    (d) => {
      if (d) dirtyForms.add(id)
      else dirtyForms.delete(id)
    },
    { immediate: true },
  )
  onBeforeUnmount(() => dirtyForms.delete(id))
}
