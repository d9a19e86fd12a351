// Starts the shared server for the tests (see server.ts) and hands the base
// URL and setup token to them through environment variables. The returned
// function stops the server and removes the data directory.
import { startGatehouse } from './server'

export default async function globalSetup(): Promise<() => Promise<void>> {
  const server = await startGatehouse()
  process.env.GATEHOUSE_E2E_URL = server.base
  process.env.GATEHOUSE_E2E_SETUP_TOKEN = server.token
  return async () => {
    await server.stop()
    if (process.env.GATEHOUSE_E2E_LOG) console.log(server.log.join('\n'))
  }
}
