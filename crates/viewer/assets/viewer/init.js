// The viewer's enhancement, loaded as a module (so only by browsers the
// design system supports) from /assets/viewer/init.js: a strict
// Content-Security-Policy allows no inline script. Every page works without it.
import { initAll } from '/assets/nhsuk-frontend.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()

// The find page: the NHS number's check digit checked as it is typed, said
// in the aria-live element beside the field. The server checks it again.
const field = document.getElementById('nhs')
const said = document.getElementById('nhs-check')
if (field && said) {
  field.addEventListener('input', () => { said.textContent = nhsNumberCheck(field.value) })
}

/**
 * What to say about a number as it is typed: nothing while it is short of
 * ten digits; spaces and hyphens allowed, as the server allows them.
 * @param {string} typed
 * @returns {string}
 */
export function nhsNumberCheck (typed) {
  const digits = typed.replace(/[\s\-\u2010-\u2013]/g, '')
  if (!/^[0-9]*$/.test(digits)) return 'Use only digits, spaces and hyphens'
  if (digits.length < 10) return ''
  if (digits.length > 10) return `An NHS number has 10 digits: this has ${digits.length}`
  if (/^([0-9])\1{9}$/.test(digits)) return 'Not a valid NHS number: one digit repeated is never issued'
  let sum = 0
  for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (10 - i)
  const check = (11 - (sum % 11)) % 11
  if (check !== Number(digits[9])) {
    return 'Not a valid NHS number: the check digit does not match — check for a typing mistake'
  }
  return 'The check digit is correct'
}
