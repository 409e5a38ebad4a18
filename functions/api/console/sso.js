// Single sign-on: the organization's identity provider signs the person in
// with the authorization code flow, as a public client (no secret): PKCE
// (S256), state and nonce. The console's address for an organization,
// `/console/?org={orgId}`, is the redirect URI the provider answers to; the
// page served there may connect to that provider's token endpoint, where it
// redeems the code itself. The ID token is kept in this tab's session storage
// only, as the bearer of every API call, until it expires or the person signs
// out (at the provider too, when it offers an end-session endpoint).

import { setSession, session, setToken } from './api.js';

// the flow under way, from the redirect to the provider until its answer
const FLOW = 'userSync.signInFlow';

/** The organization the address names (`?org=`), or null. */
export function addressedOrg() {
  return new URLSearchParams(location.search).get('org') || null;
}

/** The console's address for `org`: its redirect URI, and where sign-out returns. */
export function consoleAddress(org) {
  return new URL(`./?org=${encodeURIComponent(org)}`, location.href).href;
}

/**
 * What `org`'s sign-in page shows (`GET /sign-in/{orgId}`, no token):
 * `{ organization, tokenSignIn, sso }`, or null for an unknown organization.
 */
export async function signInOptions(org) {
  const url = new URL(`../api/v1/sign-in/${encodeURIComponent(org)}`, location.href);
  let res;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  } catch {
    throw new Error('The admin API could not be reached. Check the connection and try again.');
  }
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`The sign-in options could not be read (${res.status}). Try again.`);
  return res.json();
}

const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const random = (n = 32) => base64url(crypto.getRandomValues(new Uint8Array(n)));

/** Sends the browser to `sso`'s authorization endpoint for `org`. */
export async function startSignIn(org, sso) {
  const verifier = random();
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const flow = {
    org,
    state: random(),
    nonce: random(),
    verifier,
    redirectUri: consoleAddress(org),
    issuer: sso.issuer,
    clientId: sso.clientId,
    tokenEndpoint: sso.tokenEndpoint,
    endSession: sso.endSessionEndpoint || null,
    hash: location.hash.startsWith('#/') ? location.hash : '#/sync',
  };
  sessionStorage.setItem(FLOW, JSON.stringify(flow));
  const url = new URL(sso.authorizationEndpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: flow.clientId,
    redirect_uri: flow.redirectUri,
    scope: sso.scopes,
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })) {
    url.searchParams.set(k, v);
  }
  location.assign(url.href);
}

/** True when the address carries the provider's answer (`code` or `error`). */
export function isProviderAnswer() {
  const q = new URLSearchParams(location.search);
  return q.has('state') && (q.has('code') || q.has('error'));
}

/** The JWT's payload, unverified (the admin API verifies it on every call). */
function payloadOf(jwt) {
  const part = String(jwt).split('.')[1] || '';
  const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
}

/**
 * Completes the sign-in the address answers: checks the state, redeems the
 * code with the verifier, checks the ID token's nonce, issuer and audience,
 * and keeps it for this tab. The address is cleaned of the answer either
 * way. Throws an Error whose message the sign-in page shows.
 */
export async function completeSignIn() {
  const q = new URLSearchParams(location.search);
  let flow = null;
  try {
    flow = JSON.parse(sessionStorage.getItem(FLOW) || 'null');
  } catch {
    flow = null;
  }
  sessionStorage.removeItem(FLOW);
  const org = flow?.org || addressedOrg();
  history.replaceState(null, '', org ? consoleAddress(org) : new URL('./', location.href).href);
  if (!flow || q.get('state') !== flow.state) {
    throw new Error('This sign-in was not started here, or it was started again since. Sign in again.');
  }
  if (q.has('error')) {
    const why = q.get('error_description') || q.get('error');
    throw new Error(`The identity provider did not sign you in: ${why}`);
  }
  let res;
  try {
    res = await fetch(flow.tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: q.get('code'),
        redirect_uri: flow.redirectUri,
        client_id: flow.clientId,
        code_verifier: flow.verifier,
      }),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new Error('The identity provider could not be reached to finish signing in. Try again.');
  }
  let answer = {};
  try {
    answer = await res.json();
  } catch {
    answer = {};
  }
  if (!res.ok || !answer.id_token) {
    const why = answer.error_description || answer.error || `status ${res.status}`;
    throw new Error(`The identity provider did not finish signing you in (${why}). Sign in again.`);
  }
  let claims;
  try {
    claims = payloadOf(answer.id_token);
  } catch {
    throw new Error('The identity provider answered with an ID token that cannot be read.');
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.nonce !== flow.nonce || claims.iss !== flow.issuer || !audiences.includes(flow.clientId)) {
    throw new Error('The ID token is not the answer to this sign-in. Sign in again.');
  }
  setToken(answer.id_token);
  setSession({
    org: flow.org,
    clientId: flow.clientId,
    endSession: flow.endSession,
    expiresAt: Number(claims.exp) * 1000,
  });
  return flow.hash;
}

/**
 * Where signing out of `org`'s provider goes (its end-session endpoint, with
 * the ID token as hint and the console as the way back), or null when the
 * session is not a single sign-on one or the provider offers none.
 */
export function endSessionUrl(idToken) {
  const s = session();
  if (!s || !s.endSession) return null;
  const url = new URL(s.endSession);
  url.searchParams.set('id_token_hint', idToken);
  url.searchParams.set('client_id', s.clientId);
  url.searchParams.set('post_logout_redirect_uri', consoleAddress(s.org));
  return url.href;
}

let expiryTimer = null;

/** Calls `expired` when the single sign-on session's ID token expires. */
export function watchExpiry(expired) {
  clearTimeout(expiryTimer);
  const s = session();
  if (!s || !s.expiresAt) return;
  // setTimeout's longest delay is about 24.8 days
  const wait = Math.min(Math.max(s.expiresAt - Date.now(), 0), 2 ** 31 - 1);
  expiryTimer = setTimeout(expired, wait);
}
