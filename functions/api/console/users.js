// The Users page: directory users with their sync status, and one user's
// explain view (which rule gave which field, the last outcome).

import { api } from './api.js';
import { may } from './access.js';
import { appendRows, FAILURE_TITLES, field, h, heading, languageName, loadMoreButton, pill, roleText, SUSPEND_REASONS, SYNC_STATUS, toast, when } from './ui.js';
import { productName, catalogue } from './catalogue.js';

function statusPill(status) {
  return pill(SYNC_STATUS[status] || status, status);
}

function failureText(f) {
  if (!f) return '';
  return `${FAILURE_TITLES[f.class] || f.class}${f.product ? ` (${f.product})` : ''}`;
}

export async function usersPage(main) {
  await catalogue();
  const search = h('input', { id: 'user-search', type: 'search', autocomplete: 'off' });
  const status = h('select', { id: 'user-status' }, h('option', { value: '', text: 'Any status' }), Object.entries(SYNC_STATUS).map(([v, t]) => h('option', { value: v, text: t })));
  const failure = h('select', { id: 'user-failure' }, h('option', { value: '', text: 'Any' }), Object.entries(FAILURE_TITLES).map(([v, t]) => h('option', { value: v, text: t })));
  const body = h('tbody');
  const more = loadMoreButton('users-more', () => load(false));
  const summary = h('p', { class: 'hint', 'aria-live': 'polite' });
  let cursor = null;
  let shown = 0;
  // the latest load: an answer to an earlier one (the filters changed
  // meanwhile) is dropped, so that two answers never add up in the table
  let latest = 0;

  const load = async (reset) => {
    const run = ++latest;
    if (reset) {
      cursor = null;
      shown = 0;
      body.replaceChildren();
    }
    try {
      // a failure class lists failed users only
      const query = failure.value
        ? { failureClass: failure.value, status: status.value === 'failed' ? 'failed' : '', limit: 50, cursor }
        : { search: search.value.trim(), status: status.value, limit: 50, cursor };
      const page = await api('GET', 'users', { query });
      if (run !== latest) return;
      const rows = page.items.map((u) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: `#/users/${encodeURIComponent(u.id)}`, text: u.userName })),
          h('td', { text: u.name || '' }),
          h('td', { text: u.directoryStatus }),
          h('td', {}, statusPill(u.syncStatus)),
          h('td', { text: failureText(u.failure) }),
          h('td', { text: (u.products || []).map((p) => productName(p)).join(', ') }),
        ),
      );
      appendRows(body, rows, reset);
      shown += page.items.length;
      cursor = page.nextCursor;
      more.hidden = !cursor;
      summary.textContent = `${shown} users shown${cursor ? '; more may match' : ''}.`;
    } catch (err) {
      toast(err.detail, 'error');
    }
  };
  let timer;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(true), 300);
  });
  status.addEventListener('change', () => load(true));
  failure.addEventListener('change', () => {
    // the API lists a failure class's users without search or another status
    search.disabled = Boolean(failure.value);
    load(true);
  });

  main.replaceChildren(
    heading('Users'),
    h('p', { class: 'hint', text: 'Users come from the identity provider and are read-only here.' }),
    h('div', { class: 'card filters' }, field('Search by name, user name or email', search), field('Sync status', status), field('Failure', failure, 'Lists the users that failure affects now (search and status are then not applied).')),
    summary,
    h(
      'div',
      { class: 'table-wrap' },
      h('table', { id: 'users-table' }, h('caption', { class: 'visually-hidden', text: 'Directory users' }), h('thead', {}, h('tr', {}, ['User', 'Name', 'Directory', 'Sync status', 'Failure', 'Products'].map((t) => h('th', { scope: 'col', text: t })))), body),
    ),
    more,
  );
  await load(true);
  return null;
}

/**
 * Why the user has no active account, in the status list's words: "No rule —
 * no account" when no rule ever gave them one, "Inactive — no account" when
 * the directory deactivated or deleted them first, "Suspended" when their
 * account exists and is kept.
 */
function suspensionNotice(a, why) {
  if (a.status !== 'suspended') return null;
  const reason = SUSPEND_REASONS[a.reason] || a.reason;
  // generation 0 (or nothing decided yet): no account was ever asked for
  const account = Boolean(why.desired && why.desired.generation > 0);
  const text = account
    ? `${SYNC_STATUS.suspended}: ${reason}${a.reason === 'no_matching_rule' ? ' any more' : ''}; the account is kept.`
    : a.reason === 'no_matching_rule'
      ? `${SYNC_STATUS.no_rule}: ${reason}, so the user has no product account.`
      : `${SYNC_STATUS.inactive}: ${reason}, so none is created.`;
  return h('p', { class: 'notice', id: 'suspension', text });
}

export async function userPage(main, id) {
  const [user, why, , templates] = await Promise.all([api('GET', `users/${encodeURIComponent(id)}`), api('GET', `users/${encodeURIComponent(id)}/assignment`), catalogue(), api('GET', 'templates').catch(() => ({ items: [] }))]);
  const rules = new Map(why.matchingRules.map((r) => [r.id, r]));
  const byRule = (ruleId) => {
    if (!ruleId) return '—';
    const r = rules.get(ruleId);
    return r ? `rule ${r.priority}${r.description ? ` (${r.description})` : ''}` : 'a rule';
  };
  const a = why.assignment;
  // the account's language: a rule's, else the directory's, else the organization's default
  const languageFrom = (l) => (!l ? '—' : l.from === 'rule' ? byRule(l.rule) : l.from === 'directory' ? 'the directory' : "the organization's default");
  const cat = await catalogue();
  const named = (list, v) => ((cat[list] || []).find((e) => e.id === v) || {}).name || v;
  const p = a.provenance || {};
  const row = (label, value, from) => h('tr', {}, h('th', { scope: 'row', text: label }), h('td', { text: value }), h('td', { text: from }));
  const retry = h('button', {
    type: 'button',
    class: 'primary',
    text: 'Retry sync for this user',
    // Retry sync: operators and admins
    hidden: user.syncStatus !== 'failed' || !may('operator'),
    onclick: async () => {
      try {
        const r = await api('POST', 'sync/retry', { body: { userId: id } });
        // the cause (seats still short) is still there: they will fail again
        toast(`Retry sync: ${r.message}`, r.causeStillPresent ? 'error' : 'ok');
      } catch (err) {
        toast(err.detail, 'error');
      }
    },
  });
  const dl = (pairs) => h('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== undefined).map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v === null || v === '' ? '—' : v)]));
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/users', text: '← All users' })),
    heading(user.name || user.userName),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'u-status' },
      h('h2', { id: 'u-status', text: 'Sync status' }),
      dl([
        ['User name', user.userName],
        ['Email', user.email],
        ['In the directory', user.directoryStatus],
        ['Sync status', statusPill(user.syncStatus)],
        ['Last outcome', user.lastOutcome || (['no_rule', 'inactive'].includes(user.syncStatus) ? 'nothing to apply: the user has no account' : 'not attempted yet')],
        ['Failure', user.failure ? failureText(user.failure) : null],
        ['Attempts', user.attempts === null ? null : String(user.attempts)],
        ['Last attempt', when(user.lastAttemptAt)],
        ['User Sync', why.syncEnabled ? 'on' : 'off'],
      ]),
      retry,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'u-why' },
      h('h2', { id: 'u-why', text: 'Why the user has what they have' }),
      suspensionNotice(a, why),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'explain' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Field' }), h('th', { scope: 'col', text: 'Value' }), h('th', { scope: 'col', text: 'Given by' }))),
          h(
            'tbody',
            {},
            (a.products || []).map((prod) => row('Product', productName(prod), ((p.products || {})[prod] || []).map(byRule).join(', '))),
            row('Administrator', roleText(a.adminRole), byRule(p.adminRole)),
            row('User group', a.userGroup ? named('userGroups', a.userGroup) : 'No group', byRule(p.userGroup)),
            (a.deviceGroups || []).map((d) => row('Device group', named('deviceGroups', d), ((p.deviceGroups || {})[d] || []).map(byRule).join(', '))),
            row('Settings template', a.settingsTemplate ? named('settingsTemplates', a.settingsTemplate) : 'None', byRule(p.settingsTemplate)),
            row('Welcome email template', a.emailTemplate ? (templates.items.find((t) => t.id === a.emailTemplate) || { name: 'a deleted template' }).name : 'Default', byRule(p.emailTemplate)),
            row('Language', why.language ? languageName(why.language.language) : 'None', languageFrom(why.language)),
          ),
        ),
      ),
      h('h3', { text: 'Matching rules, highest priority first' }),
      why.matchingRules.length
        ? h('ol', {}, why.matchingRules.map((r) => h('li', {}, h('a', { href: `#/rules/${encodeURIComponent(r.id)}`, text: `Rule ${r.priority}` }), r.description ? ` — ${r.description}` : '')))
        : h('p', { text: 'No rule matches this user.' }),
      h('h3', { text: `Groups (${why.groupCount})` }),
      h('ul', {}, why.groups.map((g) => h('li', { text: `${g.displayName || g.id}${g.namedByRules ? ' (named by a rule)' : ''}` }))),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'u-dir' },
      h('h2', { id: 'u-dir', text: 'From the directory' }),
      dl([
        ['First name', user.directory.givenName],
        ['Last name', user.directory.familyName],
        ['Locale', user.directory.locale],
        ['External id', user.directory.externalId],
        ['Created', when(user.directory.created)],
        ['Last modified', when(user.directory.lastModified)],
        ...Object.entries(user.directory.enterprise || {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
        ...Object.entries(user.customAttributes || {}).map(([k, v]) => [`${k} (custom)`, v]),
      ]),
    ),
  );
  return null;
}
