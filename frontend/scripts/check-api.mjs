// Fails when frontend/src/api/schema.d.ts is not what openapi-typescript
// generates from server/api/openapi.yaml today (CI: a stale generated file).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..', '..')
const committed = join(root, 'frontend/src/api/schema.d.ts')
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-api-'))
const fresh = join(dir, 'schema.d.ts')
try {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/openapi-typescript/bin/cli.js'), join(root, 'server/api/openapi.yaml'), '-o', fresh],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  let current = ''
  try {
    current = readFileSync(committed, 'utf8')
  } catch {
    current = ''
  }
  if (current !== readFileSync(fresh, 'utf8')) {
    console.error('frontend/src/api/schema.d.ts is stale: run `npm run gen:api` and commit the result.')
    process.exitCode = 1
  } else {
    console.log('frontend/src/api/schema.d.ts matches server/api/openapi.yaml')
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
