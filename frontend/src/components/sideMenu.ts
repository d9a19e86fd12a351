/** One item of SideMenu: a link to a named route. */
export interface SideMenuItem {
  /** Route name the item links to (also its key). */
  name: string
  label: string
  testId?: string
}
