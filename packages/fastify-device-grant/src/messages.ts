/** Every string the verification pages show. `{name}` marks a value filled in at render time. */
export interface PageMessages {
  lang: string
  title: string
  entryHeading: string
  entryIntro: string
  codeLabel: string
  codeHint: string
  continue: string
  invalidCode: string
  unknownCode: string
  confirmHeading: string
  confirmIntro: string
  checkCode: string
  scopesHeading: string
  noScopes: string
  requestedFrom: string
  ipAddress: string
  browser: string
  warning: string
  /** On the confirm page when the browser is on another network than the device. */
  differentNetwork: string
  approve: string
  deny: string
  approvedHeading: string
  approvedBody: string
  deniedHeading: string
  deniedBody: string
  expiredHeading: string
  expiredBody: string
  usedHeading: string
  usedBody: string
  tooManyHeading: string
  tooManyBody: string
  formExpiredHeading: string
  formExpiredBody: string
  signInHeading: string
  signInBody: string
  startAgain: string
  errorHeading: string
  errorBody: string
  unavailableHeading: string
  unavailableBody: string
  /** The page `proximity: 'require'` shows instead of approving from another network. */
  differentNetworkHeading: string
  differentNetworkBody: string
}

export const en: PageMessages = {
  lang: 'en',
  title: 'Connect a device',
  entryHeading: 'Connect a device',
  entryIntro: 'Enter the code shown on your device.',
  codeLabel: 'Code',
  codeHint: 'For example {example}. Capitals, spaces and dashes do not matter.',
  continue: 'Continue',
  invalidCode: 'That does not look like a code. Check the code on your device and type it again.',
  unknownCode: 'We could not find that code. Check the code on your device and try again.',
  confirmHeading: 'Is this your device?',
  confirmIntro: '{client} is asking to sign in to your account.',
  checkCode: 'Check that this code matches the one on your device:',
  scopesHeading: 'If you approve, it will be able to:',
  noScopes: 'Sign in as you',
  requestedFrom: 'The request came from',
  ipAddress: 'IP address',
  browser: 'Device software',
  warning: 'Only approve if you started this yourself, on a device you have with you. If someone sent you this code or link, deny it.',
  differentNetwork: 'Warning: this request came from a different network than the one you are on now. If the device is not right here with you, someone else may be trying to get into your account. Deny it.',
  approve: 'Approve',
  deny: 'Deny',
  approvedHeading: 'Device connected',
  approvedBody: '{client} is signed in. You can return to your device.',
  deniedHeading: 'Request denied',
  deniedBody: '{client} was not connected to your account. You can close this page.',
  expiredHeading: 'This code has expired',
  expiredBody: 'Start again on your device to get a new code.',
  usedHeading: 'This code has already been used',
  usedBody: 'Nothing more to do here. If your device is not signed in, start again on it.',
  tooManyHeading: 'Too many attempts',
  tooManyBody: 'Please wait {minutes} minute(s), then try again.',
  formExpiredHeading: 'This form has expired',
  formExpiredBody: 'For your safety the request was not sent. Enter the code again to continue.',
  signInHeading: 'Sign in required',
  signInBody: 'Sign in first, then enter the code again.',
  startAgain: 'Enter a code',
  errorHeading: 'Something went wrong',
  errorBody: 'The request could not be completed. Enter the code again to continue.',
  unavailableHeading: 'Temporarily unavailable',
  unavailableBody: 'We cannot complete this right now. Please try again in a moment.',
  differentNetworkHeading: 'Approve from the device’s network',
  differentNetworkBody: 'This request came from a different network than the one you are on, so it cannot be approved from here. Connect to the same network as the device (the same Wi-Fi, for example) and enter the code again. If you did not start this yourself, ignore it.'
}

export const fr: PageMessages = {
  lang: 'fr',
  title: 'Connecter un appareil',
  entryHeading: 'Connecter un appareil',
  entryIntro: 'Saisissez le code affiché sur votre appareil.',
  codeLabel: 'Code',
  codeHint: 'Par exemple {example}. Majuscules, espaces et tirets sont sans importance.',
  continue: 'Continuer',
  invalidCode: 'Ce n’est pas un code valide. Vérifiez le code affiché sur votre appareil et saisissez-le à nouveau.',
  unknownCode: 'Ce code est introuvable. Vérifiez le code affiché sur votre appareil et réessayez.',
  confirmHeading: 'Est-ce bien votre appareil ?',
  confirmIntro: '{client} demande à se connecter à votre compte.',
  checkCode: 'Vérifiez que ce code est identique à celui de votre appareil :',
  scopesHeading: 'Si vous acceptez, il pourra :',
  noScopes: 'Se connecter en votre nom',
  requestedFrom: 'La demande provient de',
  ipAddress: 'Adresse IP',
  browser: 'Logiciel de l’appareil',
  warning: 'N’acceptez que si vous avez lancé cette demande vous-même, sur un appareil que vous avez avec vous. Si quelqu’un vous a envoyé ce code ou ce lien, refusez.',
  differentNetwork: 'Attention : cette demande vient d’un autre réseau que celui où vous êtes. Si l’appareil n’est pas ici, avec vous, quelqu’un d’autre essaie peut-être d’accéder à votre compte. Refusez-la.',
  approve: 'Accepter',
  deny: 'Refuser',
  approvedHeading: 'Appareil connecté',
  approvedBody: '{client} est connecté. Vous pouvez revenir à votre appareil.',
  deniedHeading: 'Demande refusée',
  deniedBody: '{client} n’a pas été connecté à votre compte. Vous pouvez fermer cette page.',
  expiredHeading: 'Ce code a expiré',
  expiredBody: 'Recommencez sur votre appareil pour obtenir un nouveau code.',
  usedHeading: 'Ce code a déjà été utilisé',
  usedBody: 'Il n’y a plus rien à faire ici. Si votre appareil n’est pas connecté, recommencez sur celui-ci.',
  tooManyHeading: 'Trop de tentatives',
  tooManyBody: 'Patientez {minutes} minute(s), puis réessayez.',
  formExpiredHeading: 'Ce formulaire a expiré',
  formExpiredBody: 'Par sécurité, la demande n’a pas été envoyée. Saisissez à nouveau le code pour continuer.',
  signInHeading: 'Connexion requise',
  signInBody: 'Connectez-vous d’abord, puis saisissez à nouveau le code.',
  startAgain: 'Saisir un code',
  errorHeading: 'Un problème est survenu',
  errorBody: 'La demande n’a pas pu aboutir. Saisissez à nouveau le code pour continuer.',
  unavailableHeading: 'Service momentanément indisponible',
  unavailableBody: 'Impossible de terminer pour le moment. Réessayez dans un instant.',
  differentNetworkHeading: 'Acceptez depuis le réseau de l’appareil',
  differentNetworkBody: 'Cette demande vient d’un autre réseau que celui où vous êtes : elle ne peut pas être acceptée d’ici. Connectez-vous au même réseau que l’appareil (le même Wi-Fi, par exemple) et saisissez à nouveau le code. Si vous n’êtes pas à l’origine de cette demande, ignorez-la.'
}

export const builtInLocales: Record<string, PageMessages> = { en, fr }

/**
 * Picks the best of `locales` for an `Accept-Language` header (q-values honoured, `fr-CA`
 * matching `fr`), falling back to `fallback`.
 */
export function negotiateLocale (header: string | undefined, locales: Record<string, PageMessages>, fallback: string): PageMessages {
  const ranked = (header ?? '')
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';')
      const q = params.map(p => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find(v => v !== undefined)
      return { tag, q: q === undefined ? 1 : Number(q), i }
    })
    .filter(x => x.tag !== '' && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
  // Own keys only: the tags come from the request, and `__proto__` or `constructor` would
  // otherwise pick Object.prototype's members as the page's messages (a 500).
  for (const { tag } of ranked) {
    if (Object.hasOwn(locales, tag)) return locales[tag] as PageMessages
    const base = tag.split('-')[0] as string
    if (Object.hasOwn(locales, base)) return locales[base] as PageMessages
  }
  return locales[fallback] as PageMessages
}

export function interpolate (text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole))
}
