// Chunk groups (issue 15, time to interactive). Left to itself the bundler
// makes a chunk of every set of modules that the same set of lazy pages
// shares: the Accounts screen asked for 73 script files, 35 of them under
// 2 kB (naive-ui's per-component themes, small helpers), and each request
// costs the renderer's main thread a fetch start, a response and a module
// record before any of the page's code runs. These groups put the code the
// measured pages import statically into a few chunks, by which of them need
// it (vite.config.ts names them):
//
//   shared   needed by both the sign-in page and the admin area
//   public   by the sign-in page only (its layout and form)
//   admin    by the admin area's layout (menu, header) or the Accounts
//            screen (table, filters), not by the sign-in page
//
// The pages themselves (the route components named as roots) stay chunks of
// their own, loaded lazily by the router; the entry's static imports are
// one chunk with the entry (vite.config.ts, the `$initial` group, which comes
// first). Other pages take what they need from these chunks and from the
// bundler's own chunks for the rest. Groups are computed from the module
// graph (static imports), so a new import moves with its page.
import { readFileSync, realpathSync } from 'node:fs'
import type { Rolldown } from 'vite'

type ChunkingContext = { getModuleInfo(id: string): Rolldown.ModuleInfo | null }

export interface ChunkGroupRoots {
  /** Page name → the lazy route components whose static imports are its. */
  pages: Record<string, string[]>
  /** The chunk of a module that the named pages (one or more) reach. */
  chunk: (pages: string[]) => string
  /** Packages imported through an index of all their components: name → the index's file. */
  barrels?: Record<string, string>
}

/**
 * A package's index that re-exports every component (naive-ui's): a module
 * importing a few names from it reaches those names' files, not the whole
 * library, which the bundler's tree-shaking leaves out.
 */
export interface Barrel {
  /** The index module's id. */
  id: string
  /** The package name as imported (`from 'naive-ui'`). */
  name: string
  /** Exported name → the id of the module that defines it. */
  exports: Map<string, string>
}

/**
 * Reads a barrel made of `import X from "./a.mjs"` lines and one
 * `export { X as Name, ... }` (naive-ui's es/index.mjs).
 */
export function readBarrel(id: string, name: string, code: string): Barrel {
  const dir = id.slice(0, id.lastIndexOf('/') + 1)
  const local = new Map<string, string>()
  for (const m of code.matchAll(/^import\s+(.+?)\s+from\s+"(\.[^"]+)";/gm)) {
    const file = new URL(m[2]!, 'file://' + dir).pathname
    for (const part of m[1]!.replace(/[{}]/g, ',').split(',')) {
      const p = part.trim()
      if (!p) continue
      const as = p.split(/\s+as\s+/)
      local.set((as[1] ?? as[0])!.trim(), file)
    }
  }
  const exports = new Map<string, string>()
  for (const m of code.matchAll(/^export\s*\{([^}]*)\}/gm)) {
    for (const part of m[1]!.split(',')) {
      const p = part.trim()
      if (!p) continue
      const as = p.split(/\s+as\s+/)
      const file = local.get(as[0]!.trim())
      if (file) exports.set((as[1] ?? as[0])!.trim(), file)
    }
  }
  return { id, name, exports }
}

/** The names a module's code imports from a package (`import { A, B as C } from "pkg"`). */
export function importedNames(code: string, pkg: string): string[] {
  const names: string[] = []
  const quoted = pkg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  for (const m of code.matchAll(new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*["']${quoted}["']`, 'g'))) {
    for (const part of m[1]!.split(',')) {
      const n = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!.trim()
      if (n) names.push(n)
    }
  }
  return names
}

/**
 * Modules reached from `starts` by static imports, the starts (and
 * `stopAt`) left out. An import of a barrel reaches only the imported
 * names' modules.
 */
export function staticClosure(ctx: ChunkingContext, starts: string[], stopAt: Set<string> = new Set(), barrels: Barrel[] = []): Set<string> {
  const seen = new Set<string>()
  const todo: string[] = []
  const follow = (id: string): void => {
    const info = ctx.getModuleInfo(id)
    for (const dep of info?.importedIds ?? []) {
      const barrel = barrels.find((b) => b.id === dep)
      if (!barrel) {
        todo.push(dep)
        continue
      }
      for (const n of importedNames(info?.code ?? '', barrel.name)) {
        const file = barrel.exports.get(n)
        if (file) todo.push(file)
      }
    }
  }
  for (const s of starts) follow(s)
  while (todo.length > 0) {
    const id = todo.pop() as string
    if (seen.has(id) || stopAt.has(id) || starts.includes(id)) continue
    seen.add(id)
    follow(id)
  }
  return seen
}

/**
 * The name function of one code-splitting group: a module's chunk is
 * roots.chunk of the pages that reach it; null (the bundler decides) for the
 * modules no named page reaches. The first call computes the table (the
 * module graph is complete by then).
 */
export function chunkGroupName(roots: ChunkGroupRoots, rootIds: (id: string) => string = (id) => id) {
  let table: Map<string, string> | undefined
  const routeRoots = new Set(Object.values(roots.pages).flat().map(rootIds))
  return (id: string, ctx: ChunkingContext): string | null => {
    if (!table) {
      const reached = new Map<string, string[]>()
      const barrels = Object.entries(roots.barrels ?? {}).map(([name, file]) => readBarrel(realpathSync(file), name, readFileSync(file, 'utf8')))
      for (const [name, starts] of Object.entries(roots.pages)) {
        for (const m of staticClosure(ctx, starts.map(rootIds), routeRoots, barrels)) {
          reached.set(m, [...(reached.get(m) ?? []), name])
        }
      }
      table = new Map([...reached].map(([m, pages]) => [m, roots.chunk(pages)]))
    }
    return table.get(id) ?? null
  }
}
