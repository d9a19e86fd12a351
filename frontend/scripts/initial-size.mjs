// Prints the gzip size of the JavaScript a first visit loads: the scripts
// of frontend/dist/index.html (early.js and the entry) and every chunk the
// entry imports statically.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'

const dist = resolve(import.meta.dirname, '..', 'dist')
const html = readFileSync(join(dist, 'index.html'), 'utf8')
const scripts = [...html.matchAll(/<script[^>]+src="\/([^"]+\.js)"/g)].map((m) => m[1])
if (!scripts.some((s) => s.startsWith('assets/'))) throw new Error('no entry script in frontend/dist/index.html')

const seen = new Set()
function visit(file) {
  if (seen.has(file)) return
  seen.add(file)
  const code = readFileSync(join(dist, file), 'utf8')
  // Static imports only: `import ... from "./x.js"` and `import "./x.js"`, not import().
  for (const m of code.matchAll(/(?:^|[;}\s])import\s*(?:[^'"();]*?from\s*)?["'](\.\/[^"']+\.js)["']/g)) {
    visit(join('assets', m[1].slice(2)))
  }
}
for (const s of scripts) visit(s)

let raw = 0
let gz = 0
for (const file of seen) {
  const buf = readFileSync(join(dist, file))
  raw += buf.length
  gz += gzipSync(buf, { level: 9 }).length
  console.log(`${file}  ${(buf.length / 1024).toFixed(1)} kB`)
}
console.log(`initial JS: ${seen.size} files, ${(raw / 1024).toFixed(1)} kB raw, ${(gz / 1024).toFixed(1)} kB gzip`)
