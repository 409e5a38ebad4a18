// The admin API, called with the bearer kept in session storage: an admin
// key, or the ID token of a single sign-on session.

import { setMe } from './access.js';

const BASE = new URL('../api/v1/', document.baseURI);
const KEY = 'userSync.adminToken';
const DRAFT = 'userSync.ruleDraft';
const SESSION = 'userSync.ssoSession';

/** An answer other than 2xx: `code` and `detail` come from the problem details. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || `the request failed (${status})`);
    this.status = status;
    this.code = problem.code || 'http_' + status;
    this.detail = problem.detail || this.message;
  }
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  sessionStorage.setItem(KEY, value);
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(DRAFT);
  sessionStorage.removeItem(SESSION);
  setMe(null);
}

/**
 * The single sign-on session, when the bearer is an ID token: `{ org,
 * clientId, endSession, expiresAt (ms) }`; null for a key.
 */
export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION) || 'null');
  } catch {
    return null;
  }
}

export function setSession(value) {
  sessionStorage.setItem(SESSION, JSON.stringify(value));
}

/**
 * The rule form's unsaved input, kept while the admin edits or creates a
 * welcome email template from it: `{ for: rule id or 'new', version, rule,
 * back: the form's address, pick: use the next template created }`.
 */
export function ruleDraft() {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFT) || 'null');
  } catch {
    return null;
  }
}

export function setRuleDraft(draft) {
  if (draft) sessionStorage.setItem(DRAFT, JSON.stringify(draft));
  else sessionStorage.removeItem(DRAFT);
}

let unauthorized = () => {};
/** Called when the API refuses the token (it was revoked meanwhile). */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `method path` (relative to /api/v1). `query` is an object of
 * parameters (empty ones are left out); `ifMatch` a version; `raw` answers
 * the Response itself; `probe` (signing in) leaves a 401 to the caller.
 */
export async function api(method, path, { body, query, ifMatch, raw, probe } = {}) {
  const url = new URL(path, BASE);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: 'application/json', Authorization: `Bearer ${token() || ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch !== undefined && ifMatch !== null) headers['If-Match'] = `"${ifMatch}"`;
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, { code: 'network', detail: 'The admin API could not be reached. Check the connection and try again.' });
    }
    if (res.status === 429 && attempt < 3) {
      const wait = Math.min(Number(res.headers.get('retry-after')) || 1, 10);
      await sleep(wait * 1000);
      continue;
    }
    if (!res.ok) {
      let problem = {};
      try {
        problem = await res.json();
      } catch (e) {
        problem = {};
      }
      const err = new ApiError(res.status, problem);
      if (res.status === 401 && !probe) unauthorized(err);
      throw err;
    }
    if (raw) return res;
    if (res.status === 204) return null;
    return res.json();
  }
}
