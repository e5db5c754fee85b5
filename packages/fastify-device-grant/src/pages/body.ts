import type { FastifyInstance } from 'fastify'
import { parseForm } from '../form.js'

/** The pages take small form posts and nothing else. */
export function acceptFormsOnly (instance: FastifyInstance): void {
  instance.removeAllContentTypeParsers()
  instance.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8192 }, (_request, body, done) => {
    done(null, parseForm(body as string))
  })
}
