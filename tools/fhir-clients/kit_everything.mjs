// Reads each patient's record from a running gateway with fhir-kit-client
// as an application would: `Patient/{nhs}/$everything` through the
// client's operation call (its default: POST), then every `next` page
// through `nextPage`. Each page is written to OUT_DIR as
// kit-{nhs}-{page}.json, and checked: a searchset Bundle; the matches of
// all pages add up to the first page's `total`; no entry is repeated; with
// --count N, no page holds more than N matches. Prints one line per
// patient and a closing `N passed, N failed` line; exits 1 on any failure.
//
// Usage: FHIR_TOKEN=<bearer JWT> node kit_everything.mjs BASE_URL OUT_DIR [--count N] NHS...
// (BASE_URL is the FHIR base, e.g. http://127.0.0.1:8080/fhir/r4)

import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'fhir-kit-client';

const MAX_PAGES = 1000;

function parseArgs(argv) {
  const [baseUrl, outDir, ...rest] = argv;
  let count;
  const patients = [];
  for (let i = 0; i < rest.length; i += 1) {
    if (rest[i] === '--count') {
      count = Number.parseInt(rest[i + 1], 10);
      i += 1;
    } else {
      patients.push(rest[i]);
    }
  }
  return { baseUrl, outDir, count, patients };
}

function describe(error) {
  const status = error.response?.status;
  const data = error.response?.data;
  const said = data?.issue?.map((i) => i.diagnostics || i.details?.text).join('; ');
  return status ? `HTTP ${status}: ${said || JSON.stringify(data)}` : String(error);
}

async function readAll(client, nhs, { outDir, count }) {
  const input = count === undefined
    ? undefined
    : { resourceType: 'Parameters', parameter: [{ name: '_count', valueInteger: count }] };
  const problems = [];
  const seen = new Set();
  let matches = 0;
  let page = await client.operation({ resourceType: 'Patient', id: nhs, name: '$everything', input });
  const total = page.total;
  let n = 0;
  while (page) {
    n += 1;
    fs.writeFileSync(path.join(outDir, `kit-${nhs}-${n}.json`), JSON.stringify(page));
    if (page.resourceType !== 'Bundle' || page.type !== 'searchset') {
      problems.push(`page ${n} is a ${page.resourceType} of type ${page.type}, not a searchset Bundle`);
      break;
    }
    const pageMatches = (page.entry || []).filter((e) => e.search?.mode === 'match').length;
    if (count !== undefined && pageMatches > count) {
      problems.push(`page ${n} holds ${pageMatches} matches, more than _count=${count}`);
    }
    matches += pageMatches;
    for (const e of page.entry || []) {
      if (seen.has(e.fullUrl)) problems.push(`page ${n} repeats ${e.fullUrl}`);
      seen.add(e.fullUrl);
    }
    if (n >= MAX_PAGES) {
      problems.push(`more than ${MAX_PAGES} pages`);
      break;
    }
    page = await client.nextPage({ bundle: page });
  }
  if (matches !== total) problems.push(`the pages hold ${matches} matches, total says ${total}`);
  return { pages: n, problems };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args.baseUrl || !args.outDir || args.patients.length === 0) {
    console.log('usage: FHIR_TOKEN=... node kit_everything.mjs BASE_URL OUT_DIR [--count N] NHS...');
    return 2;
  }
  const client = new Client({
    baseUrl: args.baseUrl,
    customHeaders: { Authorization: `Bearer ${process.env.FHIR_TOKEN || ''}` },
  });
  let passed = 0;
  let failed = 0;
  for (const nhs of args.patients) {
    let result;
    try {
      result = await readAll(client, nhs, args);
    } catch (error) {
      result = { pages: 0, problems: [describe(error)] };
    }
    if (result.problems.length > 0) {
      failed += 1;
      for (const p of result.problems) console.log(`FAIL ${nhs}: ${p}`);
    } else {
      passed += 1;
      console.log(`ok   ${nhs}: ${result.pages} page(s)`);
    }
  }
  console.log(`fhir-kit-client: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
