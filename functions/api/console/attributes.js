// The Custom attributes page: the custom SCIM attributes captured.

import { api } from './api.js';
import { offered, may } from './access.js';
import { field, fieldError, h, heading, toast } from './ui.js';

export async function attributesPage(main) {
  const current = await api('GET', 'custom-attributes');
  let { version } = current;
  const text = h('textarea', { id: 'attributes', rows: '8', spellcheck: 'false', readonly: !may('admin') });
  text.value = current.attributes.join('\n');
  const save = h('button', { type: 'submit', class: 'primary', text: 'Save' });
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    field('Attribute names, one per line', text, 'A letter, then letters, digits or _ (at most 64 characters); at most 50 names, unique ignoring case. The identity provider sends them in the extension urn:ietf:params:scim:schemas:extension:usersync:2.0:User.'),
    offered('admin', h('div', { class: 'actions' }, save)),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fieldError('attributes', '');
    const attributes = text.value
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    save.disabled = true;
    try {
      // If-Match: another admin's change in between is refused (412), not overwritten
      const saved = await api('PUT', 'custom-attributes', { body: { attributes }, ifMatch: version });
      version = saved.version;
      text.value = saved.attributes.join('\n');
      toast(`Saved: ${saved.attributes.length} custom attributes.`);
    } catch (err) {
      fieldError('attributes', err.detail);
      text.focus();
      toast('The attributes were not saved.', 'error');
    } finally {
      save.disabled = false;
    }
  });
  main.replaceChildren(heading('Custom attributes'), h('p', { class: 'hint', text: "Attributes of your own that the identity provider may send with each user. Each user's values show on the user's page." }), form);
  return null;
}
