// Loaded by index.html ahead of the console's own scripts (async, so it
// never holds the page up): starts the two calls that every first
// navigation waits for, GET /api/me and GET /api/setup/status, while the
// browser still fetches and compiles the console. src/api/early.ts hands
// each answer to its first caller; when the console runs first, it marks
// the slot taken and this script does nothing.
;(function () {
  if (window.__gatehouseEarly !== undefined) return
  var init = { credentials: 'same-origin', headers: { Accept: 'application/json' } }
  window.__gatehouseEarly = {
    '/api/me': fetch('/api/me', init),
    '/api/setup/status': fetch('/api/setup/status', init),
  }
})()
