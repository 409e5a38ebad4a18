// The User Sync page: the switch, the sync status with one banner per
// failure class, and the rules in priority order.

import { api } from './api.js';
import { may, offered, role } from './access.js';
import { confirmAction, FAILURE_TITLES, field, fieldError, h, heading, SYNC_STATUS, toast, when } from './ui.js';
import { catalogue, groupName, productName, ruleRoleText } from './catalogue.js';
import { previewSummary } from './preview.js';
import { FULL_ADMIN_RULE_REQUIRED, MASS_SUSPENSION, PRECONDITION_FAILED } from './codes.js';

const FAST = 2000;
const FAN_OUT_REASONS = { rule: 'a rule change', order: 'the new order of the rules', sync_on: 'User Sync turned on', reconcile: 'a full resync', drift_check: 'a drift check' };
const SLOW = 8000;

export async function syncPage(main) {
  let stopped = false;
  let timer = null;
  const openDetails = new Set();

  const switchInput = h('input', { type: 'checkbox', role: 'switch', id: 'sync-switch' });
  const switchState = h('span', { id: 'sync-switch-state', class: 'hint' });
  const switchError = h('p', { id: 'sync-switch-error', class: 'field-error', role: 'alert', hidden: true });
  switchInput.setAttribute('aria-describedby', 'sync-switch-state sync-switch-error');
  // only an admin turns sync on or off; the others see its state
  if (!may('admin')) switchInput.disabled = true;
  const switchRole = may('admin') ? null : h('p', { id: 'sync-switch-role', class: 'hint', text: `Only an admin turns User Sync on or off; your role is ${role()}.` });
  const statusBox = h('div', { id: 'sync-status', 'aria-live': 'polite' });
  const banners = h('div', { id: 'banners' });
  const rulesBox = h('div', { id: 'rules' });

  main.replaceChildren(
    heading('User Sync'),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'switch-title' },
      h('h2', { id: 'switch-title', class: 'visually-hidden', text: 'Sync switch' }),
      h('div', { class: 'switch-row' }, h('label', { class: 'switch', for: 'sync-switch' }, switchInput, h('span', { class: 'slider', 'aria-hidden': 'true' }), h('span', { text: 'User Sync is on' }))),
      switchState,
      switchRole,
      switchError,
    ),
    h('section', { class: 'card', 'aria-labelledby': 'status-title' }, h('h2', { id: 'status-title', text: 'Sync status' }), statusBox),
    banners,
    h('section', { class: 'card', 'aria-labelledby': 'rules-title' }, h('h2', { id: 'rules-title', tabindex: '-1', text: 'Rules' }), rulesBox),
  );

  const showSwitch = (sync) => {
    switchInput.checked = sync.enabled;
    switchState.textContent = sync.enabled
      ? `On${sync.changedAt ? ` since ${when(sync.changedAt)}` : ''}${sync.changedBy ? `, turned on by ${sync.changedBy}` : ''}. Changes in the directory and the rules are applied.`
      : 'Off. Nothing is applied to product accounts until User Sync is turned on; the directory keeps replicating.';
  };

  const showSwitchError = (message) => {
    switchError.textContent = message || '';
    switchError.hidden = !message;
  };

  switchInput.addEventListener('change', async () => {
    const enable = switchInput.checked;
    switchInput.checked = !enable; // until the API agrees
    showSwitchError('');
    switchInput.disabled = true;
    try {
      let confirm = false;
      if (enable) {
        const preview = await api('POST', 'rules/preview', { body: { change: { kind: 'sync_on' } } });
        if (preview.fullAdminRuleAfter) {
          const ok = await confirmAction(
            'Turn User Sync on?',
            [h('p', { text: 'The rules will be applied to every directory user.' }), previewSummary(preview, { turningOn: true })],
            preview.guardrail.confirmationRequired ? 'Turn on, suspending these users' : 'Turn on',
            preview.guardrail.confirmationRequired,
          );
          if (!ok) return;
          confirm = preview.guardrail.confirmationRequired;
        }
      } else {
        const ok = await confirmAction('Turn User Sync off?', 'Changes in the directory and the rules will no longer be applied to product accounts. Accounts stay as they are.', 'Turn off', true);
        if (!ok) return;
      }
      const sync = await setSync(enable, confirm);
      if (sync) {
        showSwitch(sync);
        toast(enable ? 'User Sync is on.' : 'User Sync is off.');
        refresh();
      }
    } catch (err) {
      if (err.code === FULL_ADMIN_RULE_REQUIRED) {
        showSwitchError(`Refused: ${err.detail}. Edit a rule and choose "Full access" under "Administrator for this account", so that someone can always manage the account; then turn User Sync on.`);
        toast('User Sync was not turned on.', 'error');
      } else {
        showSwitchError(err.detail);
        toast(err.detail, 'error');
      }
    } finally {
      switchInput.disabled = false;
      switchInput.focus();
    }
  });

  async function setSync(enabled, confirm) {
    try {
      return await api('PUT', 'sync', { body: { enabled, confirm } });
    } catch (err) {
      if (err.code === MASS_SUSPENSION && !confirm) {
        const ok = await confirmAction('Suspend many users?', err.detail, 'Turn on and suspend them', true);
        return ok ? api('PUT', 'sync', { body: { enabled, confirm: true } }) : null;
      }
      throw err;
    }
  }

  function showStatus(view) {
    const p = view.progress;
    const entitled = p.entitled ?? p.inSync + p.pending + p.failed;
    const busy = p.pending > 0 || view.fanOuts.length > 0;
    const count = (status, n, cls) => h('div', { class: `count ${cls}`, 'data-status': status }, h('span', { class: 'n', text: String(n) }), h('span', { text: SYNC_STATUS[status] }));
    // users with no active account are counted on their own, never as in sync
    const others = [
      [p.suspended, 'suspended'],
      [p.noRule, 'with no rule (no account)'],
      [p.inactive ?? 0, 'inactive in the directory (no account)'],
      [p.notSynced, 'not synced yet'],
    ]
      .filter(([n]) => n > 0)
      .map(([n, words]) => `${n} ${words}`);
    statusBox.replaceChildren(
      h(
        'div',
        { class: 'counts' },
        count('in_sync', p.inSync, 'ok'),
        count('pending', p.pending, 'pending'),
        count('failed', p.failed, 'failed'),
        count('suspended', p.suspended, 'idle'),
        count('no_rule', p.noRule, 'idle'),
        count('inactive', p.inactive ?? 0, 'idle'),
        count('not_synced', p.notSynced, 'idle'),
      ),
      h('progress', { max: String(Math.max(entitled, 1)), value: String(p.inSync), 'aria-label': 'Entitled users in sync' }),
      h(
        'p',
        { class: 'hint', id: 'sync-summary' },
        `${p.inSync} of ${entitled} entitled users in sync${others.length ? `; ${others.join('; ')}` : ''}${p.exact ? '' : ' (counted so far)'}. `,
        busy ? h('strong', { text: 'Sync in progress; this refreshes by itself. ' }) : null,
        view.fanOuts.length
          ? `Applying ${view.fanOuts.map((f) => `${FAN_OUT_REASONS[f.reason] || f.reason} (${f.usersReconciled} users so far)`).join(', ')}. `
          : '',
        p.lastChangeProcessed ? `Last change processed ${when(p.lastChangeProcessed.at)}.` : '',
      ),
    );
    return busy;
  }

  // the failure's message as the API words it names the product by its id
  const message = (f) => (f.product ? f.message.replace(new RegExp(`(?<![\\w-])${f.product.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`, 'g'), productName(f.product)) : f.message);

  function banner(f) {
    const title = `${FAILURE_TITLES[f.class] || f.class}${f.product ? `: ${productName(f.product)}` : ''}`;
    const key = `${f.class}/${f.product || ''}`;
    const id = `banner-${f.class}${f.product ? '-' + f.product.replace(/[^A-Za-z0-9_-]/g, '_') : ''}`;
    const details = h('div', { class: 'details', id: `${id}-details`, hidden: !openDetails.has(key) });
    const detailsButton = h('button', {
      type: 'button',
      class: 'secondary',
      'aria-expanded': String(openDetails.has(key)),
      'aria-controls': `${id}-details`,
      text: 'Details',
    });
    const retryButton = h('button', { type: 'button', class: 'primary', text: 'Retry sync' });
    const load = async (cursor) => {
      const page = await api('GET', `sync/failures/${encodeURIComponent(f.class)}`, { query: { product: f.product, limit: 50, cursor } });
      const rows = page.users.map((u) =>
        h('tr', {}, h('td', {}, h('a', { href: `#/users/${encodeURIComponent(u.userId)}`, text: u.userName || u.userId })), h('td', { text: u.name || '' }), h('td', { text: String(u.attempts) }), h('td', { text: when(u.failedAt) })),
      );
      let body = details.querySelector('tbody');
      if (!body || !cursor) {
        body = h('tbody');
        details.replaceChildren(
          h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { text: `Users affected (${page.count})` }), h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'User' }), h('th', { scope: 'col', text: 'Name' }), h('th', { scope: 'col', text: 'Attempts' }), h('th', { scope: 'col', text: 'Failed at' }))), body)),
        );
      }
      body.append(...rows);
      details.querySelector('.more')?.remove();
      if (page.nextCursor) {
        details.append(h('button', { type: 'button', class: 'secondary more', text: 'Show more users', onclick: () => load(page.nextCursor) }));
      }
    };
    detailsButton.addEventListener('click', async () => {
      const open = details.hidden;
      details.hidden = !open;
      detailsButton.setAttribute('aria-expanded', String(open));
      if (open) {
        openDetails.add(key);
        try {
          await load(null);
        } catch (err) {
          toast(err.detail, 'error');
        }
      } else openDetails.delete(key);
    });
    // what a running retry has done so far: it may take up to 20 seconds
    const progress = h('p', { class: 'hint retry-progress', id: `${id}-progress`, role: 'status', hidden: true });
    retryButton.addEventListener('click', async () => {
      retryButton.disabled = true;
      retryButton.textContent = 'Retrying…';
      const started = Date.now();
      const tick = () => {
        const seconds = Math.floor((Date.now() - started) / 1000);
        progress.textContent = `Retry sync is sending the failed users again… ${seconds} s`;
      };
      tick();
      progress.hidden = false;
      const ticker = setInterval(tick, 1000);
      try {
        const r = await api('POST', 'sync/retry', { body: { class: f.class } });
        // the cause (seats still short) is still there: they will fail again
        toast(`Retry sync: ${r.message}`, r.causeStillPresent ? 'error' : 'ok');
        refresh();
      } catch (err) {
        toast(err.detail, 'error');
      } finally {
        clearInterval(ticker);
        progress.hidden = true;
        retryButton.textContent = 'Retry sync';
        retryButton.disabled = false;
      }
    });
    if (openDetails.has(key)) load(null).catch(() => {});
    return h(
      'section',
      { class: 'banner', id, role: 'region', 'aria-labelledby': `${id}-title` },
      h('h2', { id: `${id}-title`, text: title }),
      h('p', { class: 'message', text: message(f) }),
      f.retriedAutomatically ? h('p', { class: 'hint', text: 'These are retried automatically; Retry sync tries again now.' }) : null,
      h('div', { class: 'actions' }, detailsButton, offered('operator', retryButton)),
      progress,
      details,
    );
  }

  async function showBanners() {
    // the catalogue names the products in the banners
    const [summary] = await Promise.all([api('GET', 'sync/failures'), catalogue().catch(() => null)]);
    const present = new Set(summary.failures.map((f) => `${f.class}/${f.product || ''}`));
    const current = [...banners.querySelectorAll('.banner')].map((b) => b.dataset.key);
    const same = current.length === present.size && current.every((k) => present.has(k));
    if (same) {
      // keep the banners (and their open details) in place; update their messages
      for (const f of summary.failures) {
        const b = banners.querySelector(`[data-key="${CSS.escape(`${f.class}/${f.product || ''}`)}"] .message`);
        if (b) b.textContent = message(f);
      }
      return;
    }
    banners.replaceChildren(
      ...summary.failures.map((f) => {
        const b = banner(f);
        b.dataset.key = `${f.class}/${f.product || ''}`;
        return b;
      }),
    );
  }

  async function showRules() {
    const [list, cat] = await Promise.all([api('GET', 'rules'), catalogue()]);
    const names = await Promise.all(list.rules.map((r) => groupName(r.groupId)));
    if (!list.rules.length) {
      rulesBox.replaceChildren(
        h(
          'div',
          { class: 'empty' },
          h('p', { text: 'No rules yet. A rule gives the members of a directory group their products and roles.' }),
          offered('admin', h('a', { class: 'button primary', href: '#/rules/new', id: 'create-first-rule', text: 'Create your first rule' })),
        ),
      );
      return;
    }
    const move = async (rule, direction, button) => {
      // the first rule's ↑ and the last one's ↓ stay focusable (aria-disabled), so the focus can stay on them
      if (button.getAttribute('aria-disabled') === 'true') return;
      try {
        await moveRule(rule, direction, list.version);
        toast(`Rule moved ${direction}.`);
        await showRules();
        const again = document.querySelector(`[data-rule="${CSS.escape(rule.id)}"] .move-${direction}`);
        (again || document.getElementById('rules-title'))?.focus();
      } catch (err) {
        toast(err.code === PRECONDITION_FAILED ? 'Another admin changed the order meanwhile; the rules were read again.' : err.detail, 'error');
        showRules();
      }
    };
    const rows = list.rules.map((r, i) =>
      h(
        'tr',
        { 'data-rule': r.id },
        h('td', { text: String(r.priority) }),
        h('td', {}, h('a', { href: `#/rules/${encodeURIComponent(r.id)}`, class: 'rule-link', text: names[i] }), r.description ? h('div', { class: 'hint', text: r.description }) : null),
        h('td', { text: (r.products || []).map((p) => productName(p, cat)).join(', ') || '—' }),
        h('td', { text: ruleRoleText(r.adminRole, cat) }),
        h(
          'td',
          { class: 'row-actions' },
          ...(may('admin') ? [] : [h('a', { class: 'button secondary', href: `#/rules/${encodeURIComponent(r.id)}`, 'aria-label': `View rule ${r.priority} (${names[i]})`, text: 'View' })]),
          offered('admin', h('button', { type: 'button', class: 'icon move-up', 'aria-label': `Move rule ${r.priority} (${names[i]}) up`, title: 'Move up', 'aria-disabled': i === 0 ? 'true' : null, onclick: (e) => move(r, 'up', e.currentTarget), text: '↑' })),
          offered('admin', h('button', { type: 'button', class: 'icon move-down', 'aria-label': `Move rule ${r.priority} (${names[i]}) down`, title: 'Move down', 'aria-disabled': i === list.rules.length - 1 ? 'true' : null, onclick: (e) => move(r, 'down', e.currentTarget), text: '↓' })),
          offered('admin', h('a', { class: 'button secondary', href: `#/rules/${encodeURIComponent(r.id)}`, 'aria-label': `Edit rule ${r.priority} (${names[i]})`, text: 'Edit' })),
          offered('admin', h('button', { type: 'button', class: 'danger', 'aria-label': `Delete rule ${r.priority} (${names[i]})`, onclick: () => remove(r, names[i]), text: 'Delete' })),
        ),
      ),
    );
    for (const [i, row] of rows.entries()) {
      // a click anywhere on the row opens the rule, as its link does
      row.addEventListener('click', (e) => {
        if (!e.target.closest('button, a')) location.hash = `#/rules/${encodeURIComponent(list.rules[i].id)}`;
      });
    }
    rulesBox.replaceChildren(
      h('p', { class: 'hint', text: 'Priority 1 is the highest: for single-valued settings (admin role, user group, templates, language) the highest matching rule wins; products and device groups add up.' }),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'rules-table' },
          h('caption', { class: 'visually-hidden', text: 'Rules in priority order' }),
          h('thead', {}, h('tr', {}, ['Priority', 'Directory group', 'Products', 'Administrator', 'Actions'].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, rows),
        ),
      ),
      offered('admin', h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/rules/new', id: 'add-rule', text: 'Add rule' }))),
    );
  }

  async function moveRule(rule, direction, version) {
    return api('POST', `rules/${encodeURIComponent(rule.id)}/move`, { body: { direction }, ifMatch: version });
  }

  async function remove(rule, name) {
    let preview;
    try {
      preview = await api('POST', 'rules/preview', { body: { change: { kind: 'delete', id: rule.id } } });
    } catch (err) {
      toast(err.detail, 'error');
      return;
    }
    const suspends = preview.guardrail.confirmationRequired;
    const ok = await confirmAction(
      'Delete this rule?',
      [h('p', { text: `Rule ${rule.priority} (${name}) will be deleted. Its members lose what only this rule gives them; users no rule matches any more are suspended.` }), previewSummary(preview)],
      suspends ? 'Delete and suspend these users' : 'Delete rule',
      true,
    );
    if (!ok) return;
    const del = (confirm) => api('DELETE', `rules/${encodeURIComponent(rule.id)}`, { ifMatch: rule.version, query: confirm ? { confirm: 'true' } : {} });
    try {
      try {
        await del(suspends);
      } catch (err) {
        if (err.code !== MASS_SUSPENSION) throw err;
        // the directory changed since the preview
        if (!(await confirmAction('Suspend many users?', 'Deleting this rule now suspends more users than the guardrail allows without confirmation.', 'Delete and suspend them', true))) return;
        await del(true);
      }
      toast('Rule deleted.');
      await showRules();
      document.getElementById('rules-title')?.focus();
    } catch (err) {
      toast(err.code === PRECONDITION_FAILED ? 'Another admin changed this rule meanwhile; the rules were read again.' : err.detail, 'error');
      showRules();
    }
  }

  async function refresh() {
    if (stopped) return;
    clearTimeout(timer);
    let busy = false;
    try {
      const view = await api('GET', 'sync');
      if (stopped) return;
      showSwitch(view);
      busy = showStatus(view);
      await showBanners();
    } catch (err) {
      if (err.status === 401) return;
      statusBox.replaceChildren(h('p', { class: 'notice error', text: `The status could not be read: ${err.detail}` }));
    }
    if (!stopped) timer = setTimeout(refresh, busy ? FAST : SLOW);
  }

  await Promise.all([refresh(), showRules(), driftCheckCard().then((card) => main.append(card), () => {})]);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

const DRIFT_CHECKS = { off: 'Off', hourly: 'Every hour', daily: 'Every day' };

// How often every product account is read back and corrected where it
// differs from what the rules say (GET/PUT /sync/drift-check).
async function driftCheckCard() {
  const setting = await api('GET', 'sync/drift-check');
  const select = h('select', { id: 'drift-check', disabled: !may('admin') }, Object.entries(DRIFT_CHECKS).map(([value, text]) => h('option', { value, text, selected: value === setting.driftCheck })));
  const form = h(
    'form',
    { class: 'filters', id: 'drift-check-form', novalidate: true },
    field('Check product accounts', select, 'Every account is read back from the product; one changed there (by a product admin) is set back to what the rules say, and the activity history names what differed.'),
    offered('admin', h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', text: 'Save' }))),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fieldError('drift-check', '');
    try {
      const saved = await api('PUT', 'sync/drift-check', { body: { driftCheck: select.value }, ifMatch: setting.version });
      setting.version = saved.version;
      toast(`Drift check: ${DRIFT_CHECKS[saved.driftCheck].toLowerCase()}.`);
    } catch (err) {
      fieldError('drift-check', err.detail);
      toast('The drift check was not saved.', 'error');
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'drift-title' }, h('h2', { id: 'drift-title', text: 'Drift check' }), form);
}
