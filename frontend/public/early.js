// Loaded by index.html ahead of the console's own scripts (async, so it
// never holds the page up; first in <head> and asked for with high priority,
// so that its calls are not queued behind the console's sixty-odd script
// files on the browser's six connections): starts the calls that the first
// navigation waits for, GET /api/me and GET /api/setup/status, while the
// browser still fetches and compiles the console. On the Accounts screen
// opened without a query (the default list), it also asks for the list's
// first page once /api/me has answered with an administrator, so a person
// who is signed out or not an administrator never sees that call refused.
// src/api/early.ts hands each answer to its first caller, by its exact
// path; when the console runs first, it marks the slot taken and this
// script does nothing.
;(function () {
  if (window.__gatehouseEarly !== undefined) return
  var init = { credentials: 'same-origin', headers: { Accept: 'application/json' } }
  var me = fetch('/api/me', init)
  var slot = {
    '/api/me': me,
    '/api/setup/status': fetch('/api/setup/status', init),
  }
  window.__gatehouseEarly = slot
  // The query the Accounts screen sends for its default list (query.ts:
  // toApiQuery(parseUserQuery({}))); early.spec.ts keeps the two the same.
  var list = '/api/admin/users?sort=-id&page=1&perPage=20'
  if (!/^\/admin(\/users)?\/?$/.test(location.pathname) || location.search !== '') return
  slot[list] = me
    .then(function (res) {
      return res.ok ? res.clone().json() : null
    })
    .then(function (user) {
      if (!user || (user.role !== 'admin' && user.role !== 'super_admin')) return null
      return fetch(list, init)
    })
    .catch(function () {
      return null
    })
})()
