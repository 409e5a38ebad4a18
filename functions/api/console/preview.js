// What a preview of a change says (a rule saved or deleted, User Sync
// turned on): the totals, the seats needed, the first users, the guardrail.

import { productName } from './catalogue.js';
import { h, roleName } from './ui.js';

const FIELD_WORDS = { userGroup: 'user group', deviceGroups: 'device groups', settingsTemplate: 'settings template', privileges: 'privileges', managedGroups: 'managed groups', emailTemplate: 'welcome email template', language: 'language' };

/**
 * What a preview says, as a summary with the seats and the first users.
 * `edit`: the preview of a rule's edit; `turningOn`: of turning User Sync on
 * (so the note that nothing is applied while it is off does not apply).
 */
export function previewSummary(p, { edit = false, turningOn = false } = {}) {
  const t = p.totals;
  const list = (o) => Object.entries(o).map(([k, n]) => `${productName(k)} (${n})`).join(', ');
  const items = [
    t.changedUsers === 0
      ? edit
        ? 'No change: this edit changes no user.'
        : 'No user would change.'
      : `${t.changedUsers} of ${t.affectedUsers} users would change`,
    t.newAccounts ? `${t.newAccounts} new accounts` : null,
    t.suspended ? `${t.suspended} suspended` : null,
    t.unsuspended ? `${t.unsuspended} no longer suspended` : null,
    t.roleChanged ? `${t.roleChanged} with another admin role` : null,
    Object.keys(t.productsAdded).length ? `products added: ${list(t.productsAdded)}` : null,
    Object.keys(t.productsRemoved).length ? `products removed: ${list(t.productsRemoved)}` : null,
  ].filter(Boolean);
  const seats = p.seats.filter((s) => s.additional > 0).map((s) =>
    h(
      'tr',
      { class: s.sufficient === false ? 'short' : '' },
      h('td', { text: productName(s.product) }),
      h('td', { text: String(s.additional) }),
      seatVerdict(s),
    ),
  );
  const change = (u) => {
    const c = u.change;
    return [
      c.newAccount ? 'new account' : null,
      c.suspended ? 'suspended' : null,
      c.unsuspended ? 'unsuspended' : null,
      c.productsAdded.length ? `+ ${c.productsAdded.map((x) => productName(x)).join(', ')}` : null,
      c.productsRemoved.length ? `− ${c.productsRemoved.map((x) => productName(x)).join(', ')}` : null,
      c.role ? `admin role ${roleName(c.role[0])} → ${roleName(c.role[1])}` : null,
      c.otherFields.length ? `also ${c.otherFields.map((f) => FIELD_WORDS[f] || f).join(', ')}` : null,
    ]
      .filter(Boolean)
      .join('; ');
  };
  return h(
    'div',
    { class: 'preview', id: 'preview' },
    h('ul', {}, items.map((i) => h('li', { text: i }))),
    !p.complete ? h('p', { class: 'hint', text: 'Counted on part of the directory: the organization is large.' }) : null,
    seats.length
      ? h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { text: 'Seats needed' }), h('thead', {}, h('tr', {}, ['Product', 'Needed', 'Available', ''].map((x) => h('th', { scope: 'col', text: x })))), h('tbody', {}, seats)))
      : null,
    p.users.length
      ? h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { text: p.usersTruncated ? 'First users that would change' : 'Users that would change' }), h('tbody', {}, p.users.map((u) => h('tr', {}, h('td', { text: u.userName }), h('td', { text: change(u) }))))))
      : null,
    p.guardrail.confirmationRequired
      ? h('p', { class: 'notice error', role: 'alert', text: `This would suspend ${p.guardrail.suspended} of ${p.guardrail.directoryUsers} directory users, more than the ${p.guardrail.thresholdPercent}% allowed without confirmation.` })
      : null,
    !p.syncEnabled && !turningOn ? h('p', { class: 'hint', text: 'User Sync is off: nothing is applied until it is turned on.' }) : null,
  );
}

/**
 * A product's seats against the need: available and the verdict. Unknown
 * (the product API did not answer) is never "Enough"; no limit is
 * "Unlimited".
 */
function seatVerdict(s) {
  if (s.sufficient === null || s.sufficient === undefined) return h('td', { colspan: '2', text: 'Unknown: the product API did not answer' });
  if (s.limit === null || s.limit === undefined) return [h('td', { text: 'Unlimited' }), h('td', { text: 'Enough' })];
  return [h('td', { text: String(s.available ?? 0) }), h('td', { text: s.sufficient ? 'Enough' : 'Not enough seats' })];
}
