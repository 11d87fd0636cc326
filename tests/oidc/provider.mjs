// A real OpenID provider (oidc-provider, OpenID certified) on loopback, for Burrow's single
// sign-on tests. Started by tests/integration/sso.rs as
//   node provider.mjs REDIRECT_URI [TAMPER]
// It listens on a free loopback port and prints `listening http://127.0.0.1:PORT` once ready.
// One client: id `burrow`, secret `burrow-test-secret`. Any login name is an account whose
// email is that name; the email is verified unless the name starts with `unverified`.
// TAMPER makes the provider's token answers hostile (the provider itself stays real): its
// genuine ID token is re-signed with one thing changed: `nonce`, `audience`, `expired`
// (with the provider's own key), or `other-key` (same claims and key id, another key).
// TAMPER `userinfo` is not hostile: the email is then only at the userinfo endpoint.
// TAMPER `rotate` is not hostile either: once `POST /test/rotate` is called, the provider
// publishes a second key beside the first and signs its ID tokens with it (key rotation).

import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';

const [redirectUri, tamper = ''] = process.argv.slice(2);
if (!redirectUri) {
  console.error('usage: node provider.mjs REDIRECT_URI [nonce|audience|expired|other-key|userinfo|rotate]');
  process.exit(2);
}

const kid = 'test-key';
const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
const other = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
// After a rotation: both public keys, the new one signing.
const rotatedKid = 'test-key-2';
const rotatedKeys = [
  { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  { ...(await exportJWK(other.publicKey)), kid: rotatedKid, alg: 'RS256', use: 'sig' },
];
let rotated = false;

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'burrow',
      client_secret: 'burrow-test-secret',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  // The email in the ID token itself, as Google, Keycloak and Entra ID send it; or, with
  // TAMPER `userinfo` (not hostile), only at the userinfo endpoint, as OpenID Core 5.4 has it.
  conformIdTokenClaims: tamper === 'userinfo',
  features: { devInteractions: { enabled: false } },
  findAccount: (ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, email: id, email_verified: !id.startsWith('unverified') }),
  }),
  // No consent screen: every client gets the scopes it asks for (a test provider).
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email');
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

// The sign-in page: one field, any name signs in (the name is the account).
provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!m) return next();
  if (ctx.method === 'GET' && !m[2]) {
    await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Test provider</title><link rel="icon" href="data:,">
<form method="post" action="/interaction/${m[1]}/login">
<label>Login <input name="login" id="login" autofocus></label>
<button type="submit" id="submit">Sign in</button></form>`;
    return undefined;
  }
  if (ctx.method === 'POST' && m[2]) {
    const raw = await new Promise((resolve) => {
      let body = '';
      ctx.req.on('data', (c) => { body += c; });
      ctx.req.on('end', () => resolve(body));
    });
    const login = new URLSearchParams(raw).get('login') || '';
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } }, {
      mergeWithLastSubmission: false,
    });
    ctx.respond = false;
    return undefined;
  }
  return next();
});

// Key rotation (TAMPER `rotate`): the switch, then the published keys and the signature.
provider.use(async (ctx, next) => {
  if (tamper !== 'rotate') return next();
  if (ctx.method === 'POST' && ctx.path === '/test/rotate') {
    rotated = true;
    ctx.body = { rotated };
    return undefined;
  }
  if (rotated && ctx.path === '/jwks') {
    ctx.body = { keys: rotatedKeys };
    return undefined;
  }
  await next();
  if (rotated && ctx.path === '/token' && ctx.body && ctx.body.id_token) {
    const claims = decodeJwt(ctx.body.id_token);
    const idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: rotatedKid }).sign(other.privateKey);
    ctx.body = { ...ctx.body, id_token: idToken };
  }
  return undefined;
});

// The hostile switch: re-sign the genuine ID token of a token answer with one thing changed.
provider.use(async (ctx, next) => {
  await next();
  if (!tamper || tamper === 'userinfo' || tamper === 'rotate' || ctx.path !== '/token' || !ctx.body || !ctx.body.id_token) return;
  const claims = decodeJwt(ctx.body.id_token);
  let key = privateKey;
  if (tamper === 'nonce') claims.nonce = 'not-the-nonce-burrow-sent';
  else if (tamper === 'audience') claims.aud = 'another-client';
  else if (tamper === 'expired') {
    claims.iat -= 7200;
    claims.exp = claims.iat + 600;
  } else if (tamper === 'other-key') key = other.privateKey;
  else throw new Error(`unknown tamper mode ${tamper}`);
  ctx.body = {
    ...ctx.body,
    id_token: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(key),
  };
});

server.on('request', provider.callback());
console.log(`listening ${issuer}`);

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The test that started us may die without a word: stop when our stdin closes.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
