// A real OpenID provider for the ICR gateway's viewer to sign in with:
// panva's certified `oidc-provider`, configured for one public client (the
// gateway, PKCE required) and one test account whose ID token carries the
// ICR's claims (name, role, org, purpose). Used by tests/viewer_oidc.rs;
// nothing is downloaded at run time (install once: install.sh).
//
//   node provider.mjs --port 0 --redirect-uri http://127.0.0.1:8080/callback \
//       --jwks-out /tmp/provider.jwks.json [--key private.jwk.json] [--deny]
//
// Prints `oidc-provider listening on http://127.0.0.1:PORT` once it serves;
// that URL is its issuer. The public JWKS is written to --jwks-out before
// then, for the gateway's `[[auth.issuer]] jwks`.
//
// Sign-in needs no typing: the interaction page signs the test account in
// and grants what was asked at once (a login page is not what is tested);
// with --deny it refuses instead (`access_denied`, as when a person
// cancels).

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'redirect-uri': { type: 'string' },
    'jwks-out': { type: 'string' },
    key: { type: 'string' },
    deny: { type: 'boolean', default: false },
  },
});
if (!args['redirect-uri'] || !args['jwks-out']) {
  console.error('usage: provider.mjs --port N --redirect-uri URI --jwks-out FILE [--key FILE] [--deny]');
  process.exit(2);
}

// The signing key: a P-256 private JWK from --key, or a fresh one per run.
const privateJwk = args.key
  ? JSON.parse(readFileSync(args.key, 'utf8'))
  : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const signing = { ...privateJwk, kid: privateJwk.kid ?? `icr-test-${randomUUID()}`, alg: 'ES256', use: 'sig' };
const { d: _private, ...publicJwk } = signing;
writeFileSync(args['jwks-out'], JSON.stringify({ keys: [publicJwk] }, null, 2));

// The test account: a clinician at Salisbury (RN3), as the demo's are.
const ACCOUNT = {
  sub: 'oidc-test-clinician',
  name: 'Dr Olive Provider',
  role: 'R8000',
  org: 'RN3',
  purpose: 'directcare',
};

// Bind first, so that the issuer names the port actually listened on.
const { createServer } = await import('node:http');
const server = createServer();
await new Promise((resolve) => server.listen(Number(args.port), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'icr-gateway',
    token_endpoint_auth_method: 'none',
    redirect_uris: [args['redirect-uri']],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signing] },
  // PKCE is required for a public client by default; say so anyway.
  pkce: { required: () => true },
  // The ICR's claims, asked for with the `icr` scope.
  claims: {
    openid: ['sub'],
    profile: ['name'],
    icr: ['role', 'org', 'purpose'],
  },
  scopes: ['openid', 'profile', 'icr'],
  // The gateway's credential is the ID token: the claims the scopes grant
  // go in it, not only in the userinfo answer (the default, conforming to
  // OpenID Connect Core 5.4, keeps them out of an ID token issued with an
  // access token).
  conformIdTokenClaims: false,
  findAccount: async (_ctx, id) => (id === ACCOUNT.sub
    ? { accountId: id, claims: async () => ({ ...ACCOUNT }) }
    : undefined),
  // Ten minutes: well within the gateway's max_token_lifetime_s.
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomUUID()] },
  renderError: async (ctx, out) => {
    ctx.type = 'text/plain';
    ctx.body = `${out.error}: ${out.error_description ?? ''}`;
  },
});

// What the test account's interaction ends with: signed in, and what was
// asked granted; or, with --deny, refused.
async function outcome(details) {
  if (args.deny) {
    return { error: 'access_denied', error_description: 'the test account may not sign in' };
  }
  const grant = new provider.Grant({ accountId: ACCOUNT.sub, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const missing = details.prompt.details.missingOIDCClaims;
  if (missing) {
    grant.addOIDCClaims(missing);
  }
  return { login: { accountId: ACCOUNT.sub }, consent: { grantId: await grant.save() } };
}

provider.use(async (ctx, next) => {
  if (ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) {
    return next();
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const to = await provider.interactionResult(ctx.req, ctx.res, await outcome(details), {
    mergeWithLastSubmission: false,
  });
  // 303 kept by koa's redirect: a GET to where the provider resumes.
  ctx.status = 303;
  ctx.redirect(to);
});

server.on('request', provider.callback());
console.log(`oidc-provider listening on ${issuer}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
