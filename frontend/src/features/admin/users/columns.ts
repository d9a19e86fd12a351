// The Accounts table's optional columns and which of them are hidden,
// remembered in localStorage. Name and the selection box always show. The
// defaults fit a 1280 px window beside the menu (the public ID and time zone
// are a click away under "Columns").
export const optionalColumns = ['email', 'publicId', 'role', 'status', 'plan', 'expires', 'balance', 'timezone', 'lastLoginAt'] as const
export type OptionalColumn = (typeof optionalColumns)[number]

export const columnsStorageKey = 'gatehouse.accounts.hiddenColumns'
export const defaultHidden: OptionalColumn[] = ['publicId', 'timezone']

function isColumn(v: unknown): v is OptionalColumn {
  return typeof v === 'string' && (optionalColumns as readonly string[]).includes(v)
}

export function loadHiddenColumns(): OptionalColumn[] {
  try {
    const raw = localStorage.getItem(columnsStorageKey)
    if (raw === null) return [...defaultHidden]
    const value: unknown = JSON.parse(raw)
    return Array.isArray(value) ? value.filter(isColumn) : [...defaultHidden]
  } catch {
    return [...defaultHidden]
  }
}

export function saveHiddenColumns(hidden: OptionalColumn[]): void {
  try {
    localStorage.setItem(columnsStorageKey, JSON.stringify(hidden))
  } catch {
    // storage unavailable: the choice lasts for this page
  }
}
