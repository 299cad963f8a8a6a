// Validates every FHIR R4 Bundle file given on the command line with
// FHIR.js (npm `fhir`), as `new Fhir().validate(bundle)`: the core R4
// structure definitions, cardinalities and value types. Prints each error
// and a closing `N passed, N failed` line; exits 1 on any error.
//
// Usage: node validate_bundles.js FILE...
'use strict';

const fs = require('fs');
const { Fhir } = require('fhir');

function errors(fhir, path) {
  let bundle;
  try {
    bundle = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (e) {
    return [`not readable JSON: ${e.message}`];
  }
  const result = fhir.validate(bundle, {});
  return (result.messages || [])
    .filter((m) => m.severity === 'error')
    .map((m) => `${m.location}: ${m.message}`);
}

function main(paths) {
  const fhir = new Fhir();
  let passed = 0;
  let failed = 0;
  for (const path of paths) {
    const found = errors(fhir, path);
    if (found.length > 0) {
      failed += 1;
      for (const e of found) console.log(`FAIL ${path}: ${e}`);
    } else {
      passed += 1;
      console.log(`ok   ${path}`);
    }
  }
  console.log(`FHIR.js: ${passed} passed, ${failed} failed`);
  return failed > 0 || paths.length === 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
