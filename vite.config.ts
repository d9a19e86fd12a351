import { readFileSync } from 'node:fs'
import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import type { Plugin } from 'vite'
import { defineConfig } from 'vitest/config'
import { naiveA11y } from './frontend/build/naiveA11y'
import { precompileMessages } from './frontend/build/precompileMessages'
import { routePreload, type RoutePreload } from './frontend/build/routePreload'
import { chunkGroupName } from './frontend/build/chunkGroups'

// bundledPackages writes dist/bundled-packages.json: the npm packages whose
// code is in the built console, with their versions. The release reads it
// to put their licences in THIRD_PARTY_NOTICES (internal/devtools/notices);
// the dependency tree also holds build-time packages that never reach a
// browser.
function bundledPackages(): Plugin {
  return {
    name: 'gatehouse-bundled-packages',
    apply: 'build',
    generateBundle(_, bundle) {
      const found = new Map<string, string>()
      for (const out of Object.values(bundle)) {
        if (out.type !== 'chunk') continue
        for (const id of out.moduleIds) {
          const path = id.replace(/\\/g, '/').replace(/\?.*$/, '')
          const at = path.lastIndexOf('/node_modules/')
          if (at < 0) continue
          const parts = path.slice(at + '/node_modules/'.length).split('/')
          const depth = parts[0]?.startsWith('@') ? 2 : 1
          const root = path.slice(0, at) + '/node_modules/' + parts.slice(0, depth).join('/')
          const pkg = JSON.parse(readFileSync(root + '/package.json', 'utf8')) as { name: string; version: string }
          found.set(pkg.name + '@' + pkg.version, root.slice(root.lastIndexOf('node_modules/')))
        }
      }
      const list = [...found.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, dir]) => ({ name: key.slice(0, key.lastIndexOf('@')), version: key.slice(key.lastIndexOf('@') + 1), dir }))
      this.emitFile({ type: 'asset', fileName: 'bundled-packages.json', source: JSON.stringify(list, null, 1) + '\n' })
    },
  }
}

// Pages whose chunks route-preload.js asks for as the page opens, before the
// entry script has run (frontend/build/routePreload.ts): the screens whose
// time to interactive is measured (BENCHMARKS.md, "Console"), the landing
// page of each area and the account editor. Paths follow src/router/routes.ts.
const routePreloads: RoutePreload[] = [
  { path: '^/login/?$', modules: ['features/auth/LoginPage.vue'] },
  { path: '^/admin(/users)?/?$', modules: ['features/admin/AdminLayout.vue', 'features/admin/users/UsersListPage.vue'] },
  { path: '^/admin/users/[^/]+/?$', modules: ['features/admin/AdminLayout.vue', 'features/admin/users/UserPage.vue'] },
  { path: '^/account(/profile)?/?$', modules: ['features/account/AccountLayout.vue', 'features/account/ProfilePage.vue'] },
]

const src = fileURLToPath(new URL('./frontend/src', import.meta.url))

// The chunks of the measured pages' static imports (frontend/build/chunkGroups.ts):
// a module the sign-in page and the admin area both need goes to "shared",
// one only the admin area's layout or the Accounts screen needs to "admin",
// one only the sign-in page needs to "public". The pages stay lazy chunks.
// The Accounts screen loads 7 script files (75 before), the sign-in page 6
// (51): BENCHMARKS.md, session 16.
const chunkName = chunkGroupName({
  pages: {
    public: [`${src}/features/auth/LoginPage.vue`],
    admin: [`${src}/features/admin/AdminLayout.vue`, `${src}/features/admin/users/UsersListPage.vue`],
  },
  chunk: (pages) => (pages.length > 1 ? 'shared' : pages[0]!),
  barrels: { 'naive-ui': fileURLToPath(new URL('./node_modules/naive-ui/es/index.mjs', import.meta.url)) },
})

// Message modules compiled to functions at build time
// (frontend/build/precompileMessages.ts): every message source of the console.
const messageModules = ['i18n/messages.ts', 'i18n/messages.en.ts', 'i18n/messages.zh-CN.ts', 'features/admin/audit/actionMessages.ts'].map((f) => `${src}/${f}`)

// The console lives in frontend/ and is built into frontend/dist, which the Go
// binary embeds. package.json stays at the repository root.
export default defineConfig({
  root: fileURLToPath(new URL('./frontend', import.meta.url)),
  plugins: [precompileMessages(messageModules, src, { '@': src }), naiveA11y(), vue(), bundledPackages(), routePreload(routePreloads, fileURLToPath(new URL('./frontend/src', import.meta.url)))],
  resolve: {
    alias: { '@': src },
  },
  define: {
    __VUE_OPTIONS_API__: 'true',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'true',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      // First the entry's static imports (rolldown's `$initial` tag), one
      // chunk with the entry instead of 18 files; then the pages' groups.
      // Without includeDependenciesRecursively a group would also pull in
      // the modules its own modules import (vue, the entry's), and the
      // entry would then import the admin chunk.
      output: { codeSplitting: { groups: [{ name: 'index', tags: ['$initial'], priority: 1 }, { name: chunkName }], includeDependenciesRecursively: false } },
    },
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false } },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.spec.ts'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
    // The spec files share one environment per worker instead of a fresh
    // one each: 14 s instead of 75 s for the suite on an idle 2-core
    // machine (most of the 75 s was setting up happy-dom and importing
    // the app 43 times). src/test/setup.ts unmounts what each test
    // mounted; passes with --sequence.shuffle too.
    isolate: false,
    // Hang guards, not speed checks: CI runs these beside the PostgreSQL
    // suite, and at load 25 (CI at 8cd79c0) five tests that take 0.2-2 s
    // alone passed the default 5 s.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
