// The signed-in key's name and role (GET /me, read at sign-in and kept in
// this tab): the console offers only the controls the role may use. The
// admin API enforces the same roles for every operation (a forced call is
// refused 403 with a message naming the role it needs).

const KEY = 'userSync.me';
const RANK = { viewer: 0, operator: 1, admin: 2 };

/** `{ name, role, keyId, orgId }`, or null before sign-in. */
export function me() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

export function setMe(value) {
  if (value) sessionStorage.setItem(KEY, JSON.stringify(value));
  else sessionStorage.removeItem(KEY);
}

/** The caller's role; an unknown one is treated as the least (viewer). */
export function role() {
  const r = me()?.role;
  return r in RANK ? r : 'viewer';
}

/** True when the caller's role is `needed` or above. */
export function may(needed) {
  return RANK[role()] >= RANK[needed];
}

/** `element` when the role may use it, else nothing (the control is not offered). */
export function offered(needed, element) {
  return may(needed) ? element : null;
}
