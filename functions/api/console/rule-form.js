// The rule form (every field of a rule), its preview before saving, and
// what the other pages borrow: the catalogue, group names, the preview's
// summary.

import { api, ruleDraft, setRuleDraft } from './api.js';
import { dialog, errorSlot, field, fieldError, h, heading, languageName, report, roleName, toast } from './ui.js';
import { FULL_ADMIN_RULE_REQUIRED, MASS_SUSPENSION, PRECONDITION_FAILED } from './codes.js';

let catalogueCache = null;
const groupNames = new Map();

/** The organization's catalogue (read once per page load). */
export async function catalogue() {
  if (!catalogueCache) catalogueCache = await api('GET', 'catalog');
  return catalogueCache;
}

/** A product's name from the catalogue, else its id. */
export function productName(id, cat = catalogueCache) {
  const p = cat && (cat.products || []).find((x) => x.id === id);
  return p ? p.name : id;
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

const ROLE_CHOICES = [
  ['unset', 'Not set here (a lower rule may set it)'],
  ['none', 'No admin rights'],
  ['full_admin', 'Full access'],
  ['manager', 'Manager'],
];

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
      h('td', { text: s.available === null || s.available === undefined ? 'unknown' : String(s.available) }),
      h('td', { text: s.sufficient === false ? 'Not enough seats' : s.sufficient ? 'Enough' : 'Unknown' }),
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

function checkboxes(name, legend, entries, selected, hint) {
  const id = `${name}-set`;
  return h(
    'fieldset',
    { id, class: 'checks', 'aria-describedby': `${id}-error` },
    h('legend', { text: legend }),
    hint ? h('p', { class: 'hint', text: hint }) : null,
    entries.length
      ? entries.map((e) =>
          h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value: e.id, checked: selected.includes(e.id) }), ` ${e.name}${e.seats !== undefined ? (e.seats === null ? ' (unlimited seats)' : ` (${e.seats} seats)`) : ''}`),
        )
      : h('p', { class: 'hint', text: 'None in the catalogue.' }),
    errorSlot(id),
  );
}

function select(id, entries, value, emptyLabel) {
  return h(
    'select',
    { id, name: id },
    h('option', { value: '', text: emptyLabel, selected: !value }),
    entries.map((e) => h('option', { value: e.id, text: e.name, selected: e.id === value })),
    value && !entries.some((e) => e.id === value) ? h('option', { value, text: value, selected: true }) : null,
  );
}

/** The rule form: a new rule (`id` null) or rule `id`. */
export async function ruleForm(main, id) {
  const [cat, templates, rule] = await Promise.all([
    catalogue(),
    api('GET', 'templates'),
    id ? api('GET', `rules/${encodeURIComponent(id)}`) : null,
  ]);
  const blank = rule || { groupId: '', description: '', products: [], adminRole: null, deviceGroups: [], emailTemplate: null, language: null, userGroup: null, settingsTemplate: null };
  // back from a template: the input the admin had not saved yet, unless the
  // rule changed meanwhile
  const key = id || 'new';
  const draft = ruleDraft();
  const restored = draft && draft.for === key && (draft.version ?? null) === (blank.version ?? null);
  if (draft && draft.for === key) setRuleDraft(null);
  const r = restored ? { ...blank, ...draft.rule } : blank;
  const configured = cat.configured;
  const languages = [...new Set(templates.items.flatMap((t) => t.languages))].sort();

  // directory group: a search box filtering a list of the organization's groups
  const groupSearch = h('input', { id: 'group-search', type: 'search', autocomplete: 'off', placeholder: 'Type part of the name' });
  const groupSelect = h('select', { id: 'group', name: 'group', size: '6', required: true });
  const groupStatus = h('p', { id: 'group-status', class: 'hint', 'aria-live': 'polite' });
  let searchTimer;
  const searchGroups = async () => {
    const chosen = groupSelect.value || r.groupId;
    try {
      const page = await api('GET', 'groups', { query: { search: groupSearch.value.trim(), limit: 50 } });
      const options = page.items.map((g) => h('option', { value: g.id, text: `${g.displayName} (${g.memberCount} ${g.memberCount === 1 ? 'member' : 'members'})`, selected: g.id === chosen }));
      if (chosen && !page.items.some((g) => g.id === chosen)) {
        options.unshift(h('option', { value: chosen, text: await groupName(chosen), selected: true }));
      }
      groupSelect.replaceChildren(...options);
      groupStatus.textContent = page.items.length ? `${page.items.length}${page.nextCursor ? '+' : ''} groups found.` : 'No group matches.';
    } catch (err) {
      groupStatus.textContent = err.detail;
    }
  };
  groupSearch.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(searchGroups, 250);
  });
  groupSearch.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      groupSelect.focus();
    }
  });
  groupSelect.addEventListener('change', () => fieldError('group', ''));

  const description = h('input', { id: 'description', type: 'text', maxlength: '500', value: r.description || '' });

  // products
  const productsBox = configured
    ? checkboxes('products', 'Products', cat.products || [], r.products || [], 'Members get every product ticked here, plus those of the other rules that match them.')
    : field('Products', h('input', { id: 'products-set', type: 'text', value: (r.products || []).join(', ') }), 'Product ids, separated by commas (the organization has no catalogue).');

  // the admin role
  const roleType = r.adminRole ? r.adminRole.type : 'unset';
  const managed = r.adminRole && r.adminRole.type === 'manager' ? r.adminRole : { privileges: [], managedGroups: [] };
  const managerBox = h(
    'div',
    { id: 'manager-options', class: 'nested', hidden: roleType !== 'manager' },
    checkboxes('privileges', 'Privileges', cat.privileges || [], managed.privileges || []),
    checkboxes('managedGroups', 'Managed user groups', cat.userGroups || [], managed.managedGroups || []),
  );
  const roleBox = h(
    'fieldset',
    { id: 'role-set', class: 'radios', 'aria-describedby': 'role-set-error' },
    h('legend', { text: 'Administrator for this account' }),
    ROLE_CHOICES.map(([v, label]) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'role', value: v, checked: v === roleType }), ` ${label}`)),
    managerBox,
    errorSlot('role-set'),
  );
  roleBox.addEventListener('change', () => {
    managerBox.hidden = roleBox.querySelector('input[name=role]:checked')?.value !== 'manager';
  });

  // the welcome email
  const templateSelect = h(
    'select',
    { id: 'emailTemplate' },
    templates.items.map((t) => h('option', { value: t.id, text: t.readOnly ? `${t.name} (default)` : t.name, selected: (r.emailTemplate || 'default') === t.id })),
  );
  const languageSelect = select('language', languages.map((l) => ({ id: l, name: `${languageName(l)} (${l})` })), r.language, "The user's or the organization's language");
  const previewTemplate = async () => {
    try {
      const e = await api('POST', `templates/${encodeURIComponent(templateSelect.value)}/preview`, { body: { language: languageSelect.value || null } });
      await dialog(`Preview: ${e.subject}`, [h('p', { class: 'hint', text: `Language: ${e.language} (${languageName(e.language)}). Sample values.` }), h('pre', { class: 'email', text: e.text })], [{ label: 'Close', value: true, kind: 'primary' }]);
    } catch (err) {
      toast(err.detail, 'error');
    }
  };
  const templateBox = h(
    'div',
    { class: 'field' },
    h('label', { for: 'emailTemplate', text: 'Welcome email template' }),
    h(
      'div',
      { class: 'inline' },
      templateSelect,
      h('button', { type: 'button', class: 'secondary', id: 'preview-template', text: 'Preview', onclick: previewTemplate }),
      h('button', {
        type: 'button',
        class: 'secondary',
        text: 'Edit',
        onclick: () => {
          keepDraft(false);
          location.hash = `#/templates/${encodeURIComponent(templateSelect.value)}`;
        },
      }),
      h('a', { class: 'button secondary', href: '#/templates/new', text: 'Create new', onclick: () => keepDraft(true) }),
    ),
    errorSlot('emailTemplate'),
  );
  templateSelect.setAttribute('aria-describedby', 'emailTemplate-error');

  const userGroup = configured
    ? select('userGroup', cat.userGroups || [], r.userGroup, 'No group')
    : h('input', { id: 'userGroup', type: 'text', value: r.userGroup || '', placeholder: 'No group' });
  const devices = configured
    ? checkboxes('deviceGroups', 'Device groups', cat.deviceGroups || [], r.deviceGroups || [])
    : field('Device groups', h('input', { id: 'deviceGroups-set', type: 'text', value: (r.deviceGroups || []).join(', ') }), 'Ids, separated by commas.');
  const settings = configured
    ? select('settingsTemplate', cat.settingsTemplates || [], r.settingsTemplate, 'None')
    : h('input', { id: 'settingsTemplate', type: 'text', value: r.settingsTemplate || '', placeholder: 'None' });

  const formError = errorSlot('form');
  formError.setAttribute('role', 'alert');
  const save = h('button', { type: 'submit', class: 'primary', id: 'save', text: 'Save' });
  const saveAnother = h('button', { type: 'button', class: 'secondary', id: 'save-another', text: 'Save & add another' });
  const form = h(
    'form',
    { class: 'card', id: 'rule-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'group-search', text: 'Search directory groups' }), groupSearch),
    h('div', { class: 'field' }, h('label', { for: 'group', text: 'Directory group' }), groupSelect, groupStatus, errorSlot('group')),
    field('Description', description, 'Optional: what the rule is for.'),
    productsBox,
    roleBox,
    templateBox,
    field('Language of the welcome email', languageSelect),
    field('User group', userGroup),
    devices,
    field('Settings template', settings),
    formError,
    h('div', { class: 'actions' }, save, saveAnother, h('a', { class: 'button secondary', href: '#/sync', text: 'Cancel' })),
  );
  groupSelect.setAttribute('aria-describedby', 'group-status group-error');

  const ticked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
  const listOf = (inputId) =>
    document
      .getElementById(inputId)
      .value.split(',')
      .map((s) => s.trim())
      .filter(Boolean);

  const body = () => {
    const role = form.querySelector('input[name=role]:checked')?.value || 'unset';
    const adminRole =
      role === 'unset' ? null : role === 'manager' ? { type: 'manager', privileges: ticked('privileges'), managedGroups: ticked('managedGroups') } : { type: role };
    const template = templateSelect.value;
    return {
      groupId: groupSelect.value,
      description: description.value.trim(),
      products: configured ? ticked('products') : listOf('products-set'),
      adminRole,
      emailTemplate: template && template !== 'default' ? template : null,
      language: languageSelect.value || null,
      userGroup: userGroup.value.trim() || null,
      deviceGroups: configured ? ticked('deviceGroups') : listOf('deviceGroups-set'),
      settingsTemplate: settings.value.trim() || null,
    };
  };

  // leaving for a template keeps what was typed, for the way back
  function keepDraft(pick) {
    setRuleDraft({ for: key, version: r.version ?? null, rule: body(), back: location.hash, pick });
  }

  const FIELDS = {
    groupId: 'group',
    description: 'description',
    products: 'products-set',
    adminRole: 'role-set',
    privileges: 'role-set',
    managedGroups: 'role-set',
    emailTemplate: 'emailTemplate',
    language: 'language',
    userGroup: 'userGroup',
    deviceGroups: 'deviceGroups-set',
    settingsTemplate: 'settingsTemplate',
  };

  const clearErrors = () => {
    for (const el of form.querySelectorAll('.field-error')) {
      el.hidden = true;
      el.textContent = '';
    }
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  };

  let busy = false;
  const submit = async (another) => {
    if (busy) return;
    clearErrors();
    const b = body();
    if (!b.groupId) {
      fieldError('group', 'Choose the directory group this rule is for.');
      groupSearch.focus();
      return;
    }
    busy = true;
    // the button (or field) that asked: the focus goes back to it after the
    // preview, which opens while the buttons are disabled
    const opener = document.activeElement;
    save.disabled = saveAnother.disabled = true;
    try {
      const change = id ? { kind: 'update', id, rule: b } : { kind: 'create', rule: b };
      const preview = await api('POST', 'rules/preview', { body: { change } });
      const go = await dialog(
        id ? 'Save the changes to this rule?' : 'Create this rule?',
        [h('p', { text: 'What saving would do:' }), previewSummary(preview, { edit: Boolean(id) })],
        [
          { label: preview.guardrail.confirmationRequired ? 'Save and suspend these users' : 'Save', value: true, kind: preview.guardrail.confirmationRequired ? 'danger' : 'primary' },
          { label: 'Back to the form', value: false },
        ],
      );
      if (go !== true) return;
      const write = (confirm) =>
        id
          ? api('PUT', `rules/${encodeURIComponent(id)}`, { body: { ...b, confirm }, ifMatch: r.version })
          : api('POST', 'rules', { body: { ...b, confirm } });
      try {
        await write(preview.guardrail.confirmationRequired);
      } catch (err) {
        if (err.code !== MASS_SUSPENSION) throw err;
        const again = await dialog('Suspend many users?', [h('p', { text: err.detail })], [
          { label: 'Save and suspend them', value: true, kind: 'danger' },
          { label: 'Cancel', value: false },
        ]);
        if (again !== true) return;
        await write(true);
      }
      toast(id ? 'Rule saved.' : 'Rule created.');
      if (another) {
        if (location.hash === '#/rules/new') ruleForm(main, null).then(() => document.getElementById('page-title')?.focus());
        else location.hash = '#/rules/new';
      } else location.hash = '#/sync';
    } catch (err) {
      if (err.code === PRECONDITION_FAILED) {
        fieldError('form', 'Another admin changed this rule meanwhile. Reload the page to see their change, then edit again.');
        toast('The rule was not saved.', 'error');
      } else if (err.code === FULL_ADMIN_RULE_REQUIRED) {
        fieldError('role-set', err.detail);
        toast('The rule was not saved.', 'error');
      } else report(err, FIELDS, 'form');
    } finally {
      busy = false;
      save.disabled = saveAnother.disabled = false;
      // (the dialog could not give it back to a disabled button: it is on
      // the page's body, or still on the closed dialog's button)
      if (!form.contains(document.activeElement) && form.contains(opener)) opener.focus();
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit(false);
  });
  saveAnother.addEventListener('click', () => submit(true));

  main.replaceChildren(
    heading(id ? `Edit rule ${r.priority}` : 'New rule'),
    h('p', { class: 'hint', text: id ? 'Members of the group get what the rule sets. Saving shows what would change first.' : 'A new rule goes last in the priority order; move it with the arrows on the User Sync page.' }),
    form,
  );
  await searchGroups();
  if (restored) toast('Your unsaved changes to this rule are back.', 'info');
  else if (draft && draft.for === key) toast('This rule was changed by another admin meanwhile: your unsaved changes were dropped.', 'error');
  return null;
}
