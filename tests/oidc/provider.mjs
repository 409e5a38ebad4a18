// A real OpenID provider (the certified `oidc-provider` package) for the
// tests and the local stack: `node tests/oidc/provider.mjs --port 0`.
//
// It listens on 127.0.0.1 and, once ready, prints one JSON line on stdout:
//   {"issuer":"http://127.0.0.1:PORT","control":"http://127.0.0.1:PORT/control"}
// The issuer is that origin. Accounts (any password):
//   ada "Ada Admin" [user-sync-admins], otto "Otto Operator" [user-sync-operators],
//   vera "Vera Viewer" [user-sync-viewers], nina "Nina Nobody" [].
// The ID token carries `name`, `preferred_username` and `groups` (scope
// `openid profile`). Clients are public (no secret), code flow with PKCE S256.
//
// Control endpoints (loopback only, JSON):
//   POST /control/clients {"client_id","redirect_uris":[…],"post_logout_redirect_uris":[…]}
//        adds (or replaces) a client                          → {"client_id"}
//   POST /control/rotate  a new signing key becomes the current one; the JWKS
//        then lists the new key first and the previous one after (older keys
//        are dropped)                                          → {"kid","previous"}
//   POST /control/sign {"claims":{…},"key":"current"|"other"} signs the claims
//        RS256 with the current key, or with a key the JWKS never lists
//                                                              → {"token"}
//
// Keys are generated at start and live in memory only. Everything stops when
// the process does.

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';
// The package's in-memory adapter on its module-wide store (the default gives
// each instance a store of its own): every instance built here, as clients
// are added and keys rotated, sees the same sessions, interactions and codes.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

const ACCOUNTS = {
  ada: { name: 'Ada Admin', groups: ['user-sync-admins'] },
  otto: { name: 'Otto Operator', groups: ['user-sync-operators'] },
  vera: { name: 'Vera Viewer', groups: ['user-sync-viewers'] },
  nina: { name: 'Nina Nobody', groups: [] },
};

const { values: args } = parseArgs({
  options: { port: { type: 'string', default: '0' } },
});

/** A new RSA signing key as a private JWK, with a random `kid`. */
function newKey(prefix) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `${prefix}-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

// What a rebuilt provider (a client added, a key rotated) starts from; its
// stored state is in the shared adapter, and the cookie keys stay the same.
const state = {
  keys: [newKey('k1')], // the current key first
  other: newKey('other'), // never published
  clients: new Map(),
  cookieKeys: [randomBytes(32).toString('hex')],
};
let rotations = 1;

function findAccount(_ctx, sub) {
  const account = ACCOUNTS[sub];
  if (!account) return undefined;
  return {
    accountId: sub,
    async claims() {
      return { sub, name: account.name, preferred_username: sub, groups: account.groups };
    },
  };
}

/** Consent is granted at once: every client gets `openid profile`. */
async function loadExistingGrant(ctx) {
  const { client, session, provider } = ctx.oidc;
  const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
  if (grantId) return provider.Grant.find(grantId);
  const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  grant.addOIDCScope('openid profile');
  await grant.save();
  return grant;
}

function build(issuer) {
  const provider = new Provider(issuer, {
    adapter: (model) => new MemoryAdapter(model),
    findAccount,
    loadExistingGrant,
    jwks: { keys: state.keys },
    clients: [...state.clients.values()],
    cookies: { keys: state.cookieKeys },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'groups'] },
    // the profile scope's claims go into the ID token itself, not only userinfo
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    // public clients call the token endpoint from the browser
    clientBasedCORS: () => true,
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    ttl: { AuthorizationCode: 60, IdToken: 3600, AccessToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
  });
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  return provider;
}

function client(body) {
  const { client_id: id, redirect_uris: redirects, post_logout_redirect_uris: logouts = [] } = body;
  if (typeof id !== 'string' || !id || !Array.isArray(redirects) || !redirects.length) {
    throw new Error('client_id (a string) and redirect_uris (a non-empty array) are required');
  }
  return {
    client_id: id,
    redirect_uris: redirects,
    post_logout_redirect_uris: logouts,
    token_endpoint_auth_method: 'none',
    response_types: ['code'],
    grant_types: ['authorization_code'],
    id_token_signed_response_alg: 'RS256',
  };
}

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** `claims` signed RS256 with `jwk` (a private JWK). */
function jwt(claims, jwk) {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: jwk.kid })}.${b64(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: jwk, format: 'jwk' });
  return `${input}.${signature.toString('base64url')}`;
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

async function control(req, res, issuer, swap) {
  if (!LOOPBACK.has(req.socket.remoteAddress)) return answer(res, 403, { error: 'loopback only' });
  if (req.method !== 'POST') return answer(res, 405, { error: 'POST only' });
  let body;
  try {
    body = await readJson(req);
  } catch (e) {
    return answer(res, 400, { error: `the body is not JSON: ${e.message}` });
  }
  const path = new URL(req.url, issuer).pathname;
  switch (path) {
    case '/control/clients': {
      let metadata;
      try {
        metadata = client(body);
      } catch (e) {
        return answer(res, 400, { error: e.message });
      }
      const previous = state.clients.get(metadata.client_id);
      state.clients.set(metadata.client_id, metadata);
      try {
        const next = build(issuer);
        // the package checks a client's metadata when it first finds it
        await next.Client.find(metadata.client_id);
        swap(next);
      } catch (e) {
        // the package refused the metadata: keep what was there
        if (previous) state.clients.set(metadata.client_id, previous);
        else state.clients.delete(metadata.client_id);
        return answer(res, 400, { error: e.error_description ?? e.message });
      }
      return answer(res, 200, { client_id: metadata.client_id });
    }
    case '/control/rotate': {
      rotations += 1;
      const previous = state.keys[0];
      state.keys = [newKey(`k${rotations}`), previous];
      swap(build(issuer));
      return answer(res, 200, { kid: state.keys[0].kid, previous: previous.kid });
    }
    case '/control/sign': {
      const { claims, key = 'current' } = body;
      if (claims === null || typeof claims !== 'object' || !['current', 'other'].includes(key)) {
        return answer(res, 400, { error: 'claims (an object) and key ("current" or "other") are required' });
      }
      return answer(res, 200, { token: jwt(claims, key === 'other' ? state.other : state.keys[0]) });
    }
    default:
      return answer(res, 404, { error: `no control endpoint ${path}` });
  }
}

let handler;
const server = createServer((req, res) => {
  if (req.url.startsWith('/control/')) {
    control(req, res, issuer, (provider) => {
      handler = provider.callback();
    }).catch((e) => answer(res, 500, { error: e.message }));
  } else {
    handler(req, res);
  }
});
let issuer;
server.listen(Number(args.port), '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  handler = build(issuer).callback();
  process.stdout.write(`${JSON.stringify({ issuer, control: `${issuer}/control` })}\n`);
});
server.on('error', (e) => {
  console.error(`the OpenID provider cannot listen on 127.0.0.1:${args.port}: ${e.message}`);
  process.exit(1);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
