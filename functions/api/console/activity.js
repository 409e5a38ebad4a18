// The Activity history page: newest first, filters, load more, export.

import { api } from './api.js';
import { may, offered } from './access.js';
import { ruleGroup, sentence, sentenceContext } from './activity-sentences.js';
import { catalogue } from './catalogue.js';
import { appendRows, FAILURE_TITLES, field, fieldError, h, heading, loadMoreButton, toast, when } from './ui.js';

const ACTIONS = [
  'account_created', 'account_updated', 'account_suspended', 'account_relinked', 'sync_failed', 'sync_retried',
  'welcome_email_sent', 'welcome_email_failed', 'rule_created', 'rule_updated', 'rule_deleted',
  'rules_reordered', 'sync_enabled', 'sync_disabled', 'template_created', 'template_updated',
  'template_deleted', 'catalog_changed', 'retention_changed', 'custom_attributes_changed', 'domain_added',
  'domain_verified', 'domain_removed', 'domain_claimed', 'domain_grandfathered', 'domain_record_missing',
  'domain_lapse_warning', 'domain_lapsed', 'domain_restored', 'reconcile_started', 'drift_corrected',
  'drift_checked', 'drift_check_changed',
];

const words = (s) => s.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/** A datetime-local value as RFC 3339 (the browser's time zone), or ''. */
function rfc3339(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? 'invalid' : d.toISOString();
}

/** What an entry is about, named as a person reads it (never by an internal id). */
async function subject(e, ctx) {
  const { kind, id } = e.subject;
  switch (kind) {
    case 'user':
      return h('a', { href: `#/users/${encodeURIComponent(id)}`, text: e.subjectName || 'a user no longer in the directory' });
    case 'rule':
      return `rule for ${await ruleGroup(e.details, ctx)}`;
    case 'template':
      return e.details && e.details.name ? `template ${e.details.name}` : 'a template';
    case 'catalog':
      return 'the catalogue';
    case 'sync':
      return id === 'activity' ? 'the activity history' : 'User Sync';
    case 'organization':
      return 'the organization';
    case 'domain':
      return id;
    default:
      return kind;
  }
}

/** An entry's sentence, and its raw details behind a disclosure. */
async function detailsCell(e, ctx) {
  let said;
  try {
    said = await sentence(e, ctx);
  } catch {
    said = words(e.action);
  }
  const raw = e.details && !(typeof e.details === 'object' && !Object.keys(e.details).length) ? JSON.stringify(e.details) : null;
  return h('td', { class: 'details' }, h('p', { class: 'sentence', text: `${said}.` }), raw ? h('details', {}, h('summary', { text: 'Raw details' }), h('code', { text: raw })) : null);
}

export async function activityPage(main) {
  const action = h('select', { id: 'f-action' }, h('option', { value: '', text: 'Any action' }), ACTIONS.map((a) => h('option', { value: a, text: words(a) })));
  const outcome = h('select', { id: 'f-outcome' }, h('option', { value: '', text: 'Any outcome' }), h('option', { value: 'success', text: 'Success' }), h('option', { value: 'failure', text: 'Failure' }));
  const user = h('input', { id: 'f-user', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const from = h('input', { id: 'f-from', type: 'datetime-local' });
  const to = h('input', { id: 'f-to', type: 'datetime-local' });
  const body = h('tbody');
  const more = loadMoreButton('activity-more', () => load(false));
  const summary = h('p', { class: 'hint', 'aria-live': 'polite' });
  let cursor = null;
  let shown = 0;
  // the catalogue, templates and groups the sentences name, read once
  let ctxPromise = null;
  const context = () => (ctxPromise ||= catalogue().catch(() => null).then(sentenceContext));

  const filters = () => ({ action: action.value, outcome: outcome.value, userId: userId, from: rfc3339(from.value), to: rfc3339(to.value) });
  let userId = '';

  // a refused filter shows no rows: those shown belong to the filter before
  const clearRows = (why = 'No entries shown: the filter was refused.') => {
    cursor = null;
    shown = 0;
    body.replaceChildren();
    more.hidden = true;
    summary.textContent = why;
  };

  // the user filter takes a person's name, a user name or an email (or a
  // user id), found through the Users search
  const resolveUser = async () => {
    const v = user.value.trim();
    if (!v || /^[0-9a-f-]{36}$/i.test(v)) {
      userId = v;
      return true;
    }
    const page = await api('GET', 'users', { query: { search: v, limit: 10 } });
    const same = (s) => (s || '').toLowerCase() === v.toLowerCase();
    const exact = page.items.filter((u) => same(u.userName) || same(u.email) || same(u.name));
    const found = exact.length === 1 ? exact : page.items;
    if (found.length === 1 && !page.nextCursor) {
      userId = found[0].id;
      return true;
    }
    fieldError('f-user', found.length ? `${found.length}${page.nextCursor ? '+' : ''} users match "${v}"; type the whole name, user name or email.` : `No user matches "${v}".`);
    user.focus();
    return false;
  };

  const load = async (reset) => {
    for (const id of ['f-from', 'f-to', 'f-user']) fieldError(id, '');
    if (reset) {
      cursor = null;
      shown = 0;
      body.replaceChildren();
    }
    try {
      const page = await api('GET', 'activity', { query: { ...filters(), limit: 50, cursor } });
      const ctx = await context();
      const rows = await Promise.all(
        page.items.map(async (e) =>
          h(
            'tr',
            { class: e.outcome === 'failure' ? 'failure' : '' },
            h('td', {}, h('time', { datetime: e.at, text: when(e.at) })),
            h('td', { text: e.actor }),
            h('td', { text: words(e.action) }),
            h('td', {}, await subject(e, ctx)),
            h('td', { text: e.outcome === 'failure' ? `Failure${e.failureClass ? `: ${FAILURE_TITLES[e.failureClass] || e.failureClass}` : ''}` : 'Success' }),
            await detailsCell(e, ctx),
          ),
        ),
      );
      appendRows(body, rows, reset);
      shown += page.items.length;
      cursor = page.nextCursor;
      more.hidden = !cursor;
      summary.textContent = `${shown} entries shown, newest first${cursor ? '; more are older' : ''}.`;
    } catch (err) {
      const m = /^(from|to|userId)\b/.exec(err.detail || '');
      if (m) fieldError({ from: 'f-from', to: 'f-to', userId: 'f-user' }[m[1]], err.detail);
      if (reset) clearRows(err.status === 400 ? undefined : 'No entries shown: the history could not be read.');
      toast(err.detail, 'error');
    }
  };

  const exportAs = async (format) => {
    try {
      fieldError('f-user', '');
      if (!(await resolveUser())) return;
      const res = await api('GET', 'activity/export', { query: { ...filters(), format }, raw: true });
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `activity.${format}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      toast(`Exported as ${format.toUpperCase()}${res.headers.get('next-cursor') ? ' (the first 10,000 entries)' : ''}.`);
    } catch (err) {
      toast(err.detail, 'error');
    }
  };

  const form = h(
    'form',
    { class: 'card filters', id: 'activity-filters', novalidate: true },
    field('Action', action),
    field('Outcome', outcome),
    field('User (name, user name, email or id)', user),
    field('From', from),
    field('To', to),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Apply filters' }), h('button', { type: 'button', class: 'secondary', text: 'Export CSV', onclick: () => exportAs('csv') }), h('button', { type: 'button', class: 'secondary', text: 'Export JSON lines', onclick: () => exportAs('jsonl') })),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fieldError('f-user', '');
    try {
      if (await resolveUser()) load(true);
      else clearRows();
    } catch (err) {
      clearRows();
      toast(err.detail, 'error');
    }
  });

  // how long entries are kept
  const settings = await api('GET', 'activity/settings');
  const days = h('input', { id: 'retention', type: 'number', min: '90', max: '3650', inputmode: 'numeric', readonly: !may('admin'), value: settings.retentionDays === null || settings.retentionDays === undefined ? '' : String(settings.retentionDays) });
  const retention = h(
    'form',
    { class: 'card filters', id: 'retention-form', novalidate: true },
    field('Keep entries for (days)', days, "90 to 3650; empty: the deployment's default. Applies to entries written from now on; earlier entries keep theirs."),
    offered('admin', h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', text: 'Save retention' }))),
  );
  retention.addEventListener('submit', async (e) => {
    e.preventDefault();
    fieldError('retention', '');
    const v = days.value.trim();
    try {
      const saved = await api('PUT', 'activity/settings', { body: { retentionDays: v === '' ? null : Number(v) }, ifMatch: settings.version });
      settings.version = saved.version;
      toast(saved.retentionDays ? `Entries are kept for ${saved.retentionDays} days.` : "Entries are kept for the deployment's default.");
    } catch (err) {
      fieldError('retention', err.detail);
      days.focus();
      toast('The retention was not saved.', 'error');
    }
  });

  main.replaceChildren(
    heading('Activity history'),
    h('p', { class: 'hint', text: 'Everything User Sync did (actor "Sync user") and every admin change, newest first.' }),
    form,
    summary,
    h(
      'div',
      { class: 'table-wrap' },
      h('table', { id: 'activity-table' }, h('caption', { class: 'visually-hidden', text: 'Activity entries' }), h('thead', {}, h('tr', {}, ['Time', 'Actor', 'Action', 'Subject', 'Outcome', 'Details'].map((t) => h('th', { scope: 'col', text: t })))), body),
    ),
    more,
    h('h2', { text: 'Retention' }),
    retention,
  );
  await load(true);
  return null;
}
