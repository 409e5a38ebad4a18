// The organization's catalogue and the names it gives: products (from the
// product API, with their seats), privileges, user groups, device groups and
// settings templates (set up by ops); directory groups by their name.

import { api } from './api.js';

let catalogueCache = null;
const groupNames = new Map();

/** The organization's catalogue (read once per page load; `fresh` reads it again). */
export async function catalogue(fresh = false) {
  if (!catalogueCache || fresh) catalogueCache = await api('GET', 'catalog');
  return catalogueCache;
}

/** A product's name from the catalogue, else its id. */
export function productName(id, cat = catalogueCache) {
  const p = cat && (cat.products || []).find((x) => x.id === id);
  return p ? p.name : id;
}

/** An entry's name in one of the catalogue's lists (`privileges`, `userGroups`…), else its id. */
export function entryName(list, id, cat = catalogueCache) {
  const e = cat && (cat[list] || []).find((x) => x.id === id);
  return e ? e.name : id;
}

/** A directory group's display name. */
export async function groupName(id) {
  if (!groupNames.has(id)) {
    groupNames.set(
      id,
      api('GET', `groups/${encodeURIComponent(id)}`)
        .then((g) => g.displayName)
        .catch(() => `(group ${id})`),
    );
  }
  return groupNames.get(id);
}

/** The words for the lists ops sets up: what one of them is called, in the plural. */
export const OPS_LISTS = {
  privileges: 'privileges',
  userGroups: 'user groups',
  deviceGroups: 'device groups',
  settingsTemplates: 'settings templates',
};

/** What the form says instead of a choice when ops set up no entries of `list`. */
export function notSetUp(list) {
  return `No ${OPS_LISTS[list]} are set up for this organization. Your User Sync operator sets them up (ops catalog set).`;
}

/** A product's seats in words: "8 of 25 seats in use", "unlimited". */
export function seatsText(p) {
  const s = p.seats || {};
  if (s.limit === null || s.limit === undefined) return 'unlimited';
  return `${s.used ?? 0} of ${s.limit} seats in use`;
}

/**
 * A rule's admin role in words, a manager's privileges and managed groups
 * by name: "Manager: Manage users; manages Sales".
 */
export function ruleRoleText(role, cat = catalogueCache) {
  if (!role) return 'Left to lower rules';
  if (role.type === 'full_admin') return 'Full access';
  if (role.type === 'none') return 'No admin rights';
  const privileges = (role.privileges || []).map((p) => entryName('privileges', p, cat)).join(', ') || 'no privileges';
  const groups = (role.managedGroups || []).map((g) => entryName('userGroups', g, cat)).join(', ') || 'no user group';
  return `Manager: ${privileges}; manages ${groups}`;
}
