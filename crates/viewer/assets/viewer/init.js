// The viewer's enhancement, loaded as a module (so only by browsers the
// design system supports) from /assets/viewer/init.js: a strict
// Content-Security-Policy allows no inline script. Every page works without it.
import { initAll } from '/assets/nhsuk-frontend.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()
