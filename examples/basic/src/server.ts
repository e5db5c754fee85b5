import { buildApp } from './app.js'
import { readConfig } from './config.js'

const config = readConfig()
const app = await buildApp(config, true)
await app.listen({ host: config.host, port: config.port })

const { endpoints } = app.deviceGrant
process.stdout.write(`
fastify-device-grant example on ${config.issuer}
  device authorization  POST ${endpoints.deviceAuthorization}
  token                 POST ${endpoints.token}
  verification page          ${endpoints.verification}
  metadata              GET  ${endpoints.metadata ?? '(off)'}
  demo clients          demo-tv (public), demo-cli (secret: demo-cli-secret)
`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}
