// The signed-in key's name and role (GET /me, read at sign-in, and again
// after a reload): the console offers only the controls the role may use. The
// admin API enforces the same roles for every operation (a forced call is
// refused 403 with a message naming the role it needs).

const RANK = { viewer: 0, operator: 1, admin: 2 };
// kept in memory only (session storage holds the token alone): a reload
// reads it again
let current = null;

/** `{ name, role, keyId, orgId }`, or null before sign-in. */
export function me() {
  return current;
}

export function setMe(value) {
  current = value || null;
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
