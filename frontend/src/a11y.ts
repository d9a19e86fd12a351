// Accessible names for naive-ui form controls, applied to the DOM as it
// renders (one MutationObserver for the whole console).
//
// naive-ui (2.45) draws a form item's <label> without tying it to its
// control, so a screen reader hears "Please input" for every field and
// getByLabel('Username') finds nothing. Its selects are focusable <div>s
// without a role or name, whose arrow icon announces itself as "loading";
// its number inputs carry unnamed +/− buttons. Rather than repeat ids and
// aria attributes in every form, this ties each n-form-item label to the
// first control inside the item (aria-labelledby, so the label's visible
// text is the name), gives selects the combobox role with aria-expanded
// kept in step, and hides the decorative icons and the pointer-only
// steppers (tabindex -1; the arrow keys step the value) from the
// accessibility tree. Controls that already carry a name of their own
// (aria-label, aria-labelledby) keep it.
let seq = 0

function ensureId(el: Element, prefix: string): string {
  if (!el.id) el.id = `${prefix}-${++seq}`
  return el.id
}

function hasOwnName(el: Element): boolean {
  return el.hasAttribute('aria-label') || (el.hasAttribute('aria-labelledby') && !el.hasAttribute('data-a11y-linked'))
}

function nameBy(el: Element, labelId: string): void {
  if (hasOwnName(el) && el.getAttribute('aria-labelledby') !== labelId) return
  el.setAttribute('aria-labelledby', labelId)
  el.setAttribute('data-a11y-linked', '')
}

const expandedWatch = new MutationObserver((records) => {
  for (const r of records) syncExpanded(r.target as Element)
})

function syncExpanded(sel: Element): void {
  const open = sel.classList.contains('n-base-selection--active')
  const value = open ? 'true' : 'false'
  if (sel.getAttribute('aria-expanded') !== value) sel.setAttribute('aria-expanded', value)
}

function fixSelection(sel: Element, labelId: string | null): void {
  if (!sel.hasAttribute('role')) {
    sel.setAttribute('role', 'combobox')
    sel.setAttribute('aria-haspopup', 'listbox')
    syncExpanded(sel)
    expandedWatch.observe(sel, { attributes: true, attributeFilter: ['class'] })
  }
  if (labelId) {
    nameBy(sel, labelId)
    for (const input of sel.querySelectorAll('input')) nameBy(input, labelId)
  }
}

function fixFormItem(item: Element): void {
  const label = item.querySelector(':scope > .n-form-item-label')
  const blank = item.querySelector(':scope > .n-form-item-blank')
  if (!blank) return
  const text = label?.textContent?.trim()
  const labelId = label && text ? ensureId(label, 'fl') : null
  if (!labelId) return
  const control = blank.querySelector(
    '.n-base-selection, [role="combobox"], input:not([type="hidden"]):not(.n-base-selection-input), textarea, [role="switch"], [role="checkbox"], [role="radiogroup"], .n-radio-group',
  )
  if (!control) return
  if (control.classList.contains('n-base-selection')) fixSelection(control, labelId)
  else if (control.classList.contains('n-radio-group')) {
    if (!control.hasAttribute('role')) control.setAttribute('role', 'radiogroup')
    nameBy(control, labelId)
  } else nameBy(control, labelId)
}

// Dialogs and drawers are named by their title.
function fixDialog(dialog: Element): void {
  if (dialog.hasAttribute('aria-label') || dialog.hasAttribute('aria-labelledby')) return
  const title = dialog.querySelector('.n-card-header__main, .n-drawer-header__main, [role="heading"]')
  if (title?.textContent?.trim()) dialog.setAttribute('aria-labelledby', ensureId(title, 'dt'))
}

function fix(root: Element): void {
  const scope = [root, ...root.querySelectorAll('*')]
  for (const el of scope) {
    const cls = el.classList
    if (el.getAttribute('role') === 'dialog') fixDialog(el)
    if (cls.contains('n-form-item')) fixFormItem(el)
    else if (cls.contains('n-base-selection') && !el.hasAttribute('role')) {
      fixSelection(el, null)
      // A select outside a form item is named by the aria-label given to NSelect.
      const named = el.closest('.n-select[aria-label]')?.getAttribute('aria-label')
      if (named && !el.hasAttribute('aria-labelledby')) el.setAttribute('aria-label', named)
    }
    else if (cls.contains('n-base-loading') || cls.contains('n-base-suffix') || cls.contains('n-base-clear')) {
      // The arrow, spinner and clear icons of selects and inputs.
      if (el.getAttribute('role') === 'img') el.setAttribute('aria-hidden', 'true')
    } else if (el.tagName === 'BUTTON' && el.getAttribute('tabindex') === '-1' && el.closest('.n-input-number')) {
      el.setAttribute('aria-hidden', 'true')
    } else if (cls.contains('n-scrollbar-container') && el.parentElement?.classList.contains('n-data-table-base-table-body')) {
      // A table wider than the screen scrolls sideways: keyboard users reach it with Tab.
      el.setAttribute('tabindex', '0')
    }
  }
}

let pending: Element[] = []
let scheduled = false

function flush(): void {
  scheduled = false
  const batch = pending
  pending = []
  for (const el of batch) if (el.isConnected) fix(el.closest('.n-form-item') ?? el)
}

/** Starts watching the document. Call once, before mounting the app. */
export function startA11yFixes(root: Node = document.body): void {
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      for (const node of r.addedNodes) if (node instanceof Element) pending.push(node)
      // A label's text may arrive after its item (translations).
      if (r.type === 'characterData' || r.target instanceof Element) {
        const t = r.target instanceof Element ? r.target : r.target.parentElement
        const item = t?.closest('.n-form-item')
        if (item) pending.push(item)
      }
    }
    if (!scheduled && pending.length) {
      scheduled = true
      queueMicrotask(flush)
    }
  })
  observer.observe(root, { childList: true, subtree: true })
  if (root instanceof Element) fix(root)
}
