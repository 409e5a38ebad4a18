// The rule form: every field of a rule, the welcome email's template with
// its Preview / Edit / Delete, and the preview of the change before saving.

import { api, ruleDraft, setRuleDraft } from './api.js';
import { may } from './access.js';
import { catalogue, groupName } from './catalogue.js';
import { previewSummary } from './preview.js';
import { deviceGroupsField, languageField, opsSelect, productsField, roleField } from './rule-fields.js';
import { confirmAction, dialog, errorSlot, field, fieldError, h, heading, languageName, report, toast } from './ui.js';
import { FULL_ADMIN_RULE_REQUIRED, MASS_SUSPENSION, PRECONDITION_FAILED } from './codes.js';

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

  // the buttons that save: not while the product list cannot be read
  const save = h('button', { type: 'submit', class: 'primary', id: 'save', text: 'Save' });
  const saveAnother = h('button', { type: 'button', class: 'secondary', id: 'save-another', text: 'Save & add another' });
  let productsReady = false;
  const canSave = (c) => {
    productsReady = c.productsAvailable;
    save.disabled = saveAnother.disabled = !productsReady;
  };

  // products from the product API; device groups only for those that take them
  const devices = deviceGroupsField(cat, r.deviceGroups || []);
  const products = productsField(cat, r.products || [], {
    retry: async () => {
      let c;
      try {
        c = await catalogue(true);
      } catch (err) {
        toast(err.detail, 'error');
        return;
      }
      products.render(c);
      devices.update(c, products.value());
      canSave(c);
      if (c.productsAvailable) {
        toast('The product list was read.');
        document.querySelector('#products-set input')?.focus();
      } else toast('The product list still cannot be read.', 'error');
    },
    onChange: () => devices.update(cat, products.value()),
  });
  devices.update(cat, r.products || []);
  canSave(cat);

  const role = roleField(cat, r.adminRole);

  // the welcome email: the default template can only be previewed; one of
  // the organization's own can be edited or deleted too
  let templateList = templates.items;
  const templateSelect = h('select', { id: 'emailTemplate', 'aria-describedby': 'emailTemplate-error' });
  const fillTemplates = (chosen) =>
    templateSelect.replaceChildren(...templateList.map((t) => h('option', { value: t.id, text: t.readOnly ? `${t.name} (default)` : t.name, selected: chosen === t.id })));
  fillTemplates(r.emailTemplate || 'default');
  const chosenTemplate = () => templateList.find((t) => t.id === templateSelect.value) || null;
  const language = languageField(templateList, r.language, chosenTemplate);
  const previewTemplate = async () => {
    try {
      const e = await api('POST', `templates/${encodeURIComponent(templateSelect.value)}/preview`, { body: { language: language.value() } });
      await dialog(`Preview: ${e.subject}`, [h('p', { class: 'hint', text: `Language: ${e.language} (${languageName(e.language)}). Sample values.` }), h('pre', { class: 'email', text: e.text })], [{ label: 'Close', value: true, kind: 'primary' }]);
    } catch (err) {
      toast(err.detail, 'error');
    }
  };
  const editTemplate = h('button', {
    type: 'button',
    class: 'secondary',
    id: 'edit-template',
    text: 'Edit',
    onclick: () => {
      keepDraft(false);
      location.hash = `#/templates/${encodeURIComponent(templateSelect.value)}`;
    },
  });
  const deleteTemplate = h('button', { type: 'button', class: 'danger', id: 'delete-template', text: 'Delete' });
  deleteTemplate.addEventListener('click', async () => {
    const t = chosenTemplate();
    if (!t || t.readOnly) return;
    if (!(await confirmAction('Delete this template?', `"${t.name}" will be deleted. Rules that use it must be given another template first.`, 'Delete template', true))) return;
    try {
      await api('DELETE', `templates/${encodeURIComponent(t.id)}`, { ifMatch: t.version });
      templateList = templateList.filter((x) => x.id !== t.id);
      fillTemplates('default');
      templateSelect.dispatchEvent(new Event('change'));
      toast('Template deleted.');
      templateSelect.focus();
    } catch (err) {
      fieldError('emailTemplate', err.detail);
      toast(err.detail, 'error');
    }
  });
  const templateButtons = () => {
    const own = !chosenTemplate()?.readOnly;
    editTemplate.hidden = deleteTemplate.hidden = !own || !may('admin');
  };
  templateSelect.addEventListener('change', () => {
    fieldError('emailTemplate', '');
    templateButtons();
    language.check();
  });
  templateButtons();
  language.check();
  const templateBox = h(
    'div',
    { class: 'field' },
    h('label', { for: 'emailTemplate', text: 'Welcome email template' }),
    h(
      'div',
      { class: 'inline' },
      templateSelect,
      h('button', { type: 'button', class: 'secondary', id: 'preview-template', text: 'Preview', onclick: previewTemplate }),
      editTemplate,
      deleteTemplate,
      may('admin') ? h('a', { class: 'button secondary', href: '#/templates/new', text: 'Create new', onclick: () => keepDraft(true) }) : null,
    ),
    errorSlot('emailTemplate'),
  );

  // what ops sets up: a choice from the list, or who sets it up
  const userGroup = opsSelect('userGroup', 'User group', 'userGroups', cat, r.userGroup, 'No group');
  const settings = opsSelect('settingsTemplate', 'Settings template', 'settingsTemplates', cat, r.settingsTemplate, 'Default');

  const formError = errorSlot('form');
  formError.setAttribute('role', 'alert');
  const form = h(
    'form',
    { class: 'card', id: 'rule-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'group-search', text: 'Search directory groups' }), groupSearch),
    h('div', { class: 'field' }, h('label', { for: 'group', text: 'Directory group' }), groupSelect, groupStatus, errorSlot('group')),
    field('Description', description, 'Optional: what the rule is for.'),
    products.node,
    devices.node,
    role.node,
    templateBox,
    language.node,
    userGroup.node,
    settings.node,
    formError,
    h('div', { class: 'actions' }, may('admin') ? [save, saveAnother] : null, h('a', { class: 'button secondary', href: '#/sync', text: may('admin') ? 'Cancel' : 'Back' })),
  );
  // only an admin changes rules: the others read the rule, its fields disabled
  if (!may('admin')) {
    for (const el of form.querySelectorAll('input, select, textarea')) el.disabled = true;
  }
  groupSelect.setAttribute('aria-describedby', 'group-status group-error');

  const body = () => {
    const template = templateSelect.value;
    return {
      groupId: groupSelect.value,
      description: description.value.trim(),
      products: products.value(),
      adminRole: role.value(),
      emailTemplate: template && template !== 'default' ? template : null,
      language: language.value(),
      userGroup: userGroup.value(),
      deviceGroups: devices.value(),
      settingsTemplate: settings.value(),
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
      save.disabled = saveAnother.disabled = !productsReady;
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
