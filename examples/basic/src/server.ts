import { buildApp } from './app.js'
import { readConfig } from './config.js'

const config = readConfig()
const app = await buildApp(config, true)
await app.listen({ host: config.host, port: config.port })
// A shared store means several instances: a random per-process secret would make a sign-in or a
// form from one instance fail on the next.
if ((config.store?.kind ?? 'memory') !== 'memory' && process.env.SESSION_SECRET === undefined) {
  app.log.warn('SESSION_SECRET is not set: set the same one on every instance, or cookies and CSRF tokens from one instance fail on the others')
}

const { endpoints } = app.deviceGrant
process.stdout.write(`
fastify-device-grant example on ${config.issuer}
  device authorization  POST ${endpoints.deviceAuthorization}
  token                 POST ${endpoints.token}
  verification page          ${endpoints.verification}
  metadata              GET  ${endpoints.metadata ?? '(off)'}
  store                 ${config.store?.kind ?? 'memory'}
  log level             ${config.logLevel} (LOG_LEVEL; debug shows every request and poll)
  demo clients          demo-tv (public), demo-tv-dpop (public, DPoP only), demo-cli (secret: demo-cli-secret)
  DPoP                  on${config.dpopNonces === true ? ', with server nonces' : ''}
`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}
