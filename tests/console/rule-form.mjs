// The rule form as the seeds have it, in Debian's chromium, against a
// running stack: the admin checkbox and the four admin role semantics as
// saved, a manager's privileges and groups in the rules table, Preview only
// for the default template and Preview / Edit / Delete for custom ones,
// device groups only for products that take them, the "Default" settings
// template, the account's default language as names with a warning when the
// template lacks it, products with their seats from the product API (and a
// message when it cannot be read), the preview's "Unlimited" and "Unknown",
// and, for an organization whose operator set up no lists, the sentence
// saying who sets them up instead of any text box.
// Run by tests/tests/e2e/console.rs, which prepares two organizations and
// passes:
//   CONSOLE_URL     the console page ({base}/console)
//   ADMIN_TOKEN     the first organization's admin token. Its product API
//                   offers GoTo Meeting (no seat limit), GoTo Webinar (25
//                   seats) and GoTo Connect (takes device groups); ops set
//                   up privileges (Manage users, View reports), user groups
//                   (Sales, Support), device groups (Laptops) and settings
//                   templates (Standard). Directory groups Admins, Staff,
//                   Helpdesk and Managers; one rule: Admins → GoTo Meeting,
//                   Full access. Templates "Team welcome" (English, German),
//                   "Spare" and "Old welcome"; sync off.
//   ORG_ID          the first organization's id
//   SIMULATOR_URL   the product API simulator (its /control endpoints)
//   EMPTY_TOKEN     the admin token of an organization whose operator set up
//                   no list (its product API offers GoTo Connect)
//   SCREENSHOT_DIR  (optional) where to save rule-form.png, the form with a
//                   manager and the language warning
//   CHROMIUM        the browser (default /usr/bin/chromium)
// Exits 0 when every step passed; otherwise prints the failed step and
// exits 1.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { axeAuditor, env, expectEqual, fail, launch, openPage, request, simulatorControl, steps } from './harness.mjs';

const CONSOLE_URL = env('CONSOLE_URL');
const TOKEN = env('ADMIN_TOKEN');
const ORG = env('ORG_ID');
const SIM = env('SIMULATOR_URL');
const EMPTY_TOKEN = env('EMPTY_TOKEN');
const API = CONSOLE_URL.replace(/\/console$/, '/api/v1');
const SHOTS = process.env.SCREENSHOT_DIR;
const CACHE = 90_000;

const { step, current } = steps('console rule form', 6 * 60_000);

const control = simulatorControl(SIM);
/** The organization's rules as the admin API answers them. */
const rules = async () => (await request(API, TOKEN, 'GET', '/rules')).rules;

const browser = await launch();
try {
  const { page, problems } = await openPage(browser);
  const { audit, violations } = axeAuditor(page);
  const dialog = page.locator('dialog[open]');
  const expectToast = (text) => page.waitForFunction((t) => document.getElementById('toast').textContent.includes(t), text);
  const rulesRows = page.locator('#rules-table tbody tr');
  const ruleRow = (group) => rulesRows.filter({ has: page.getByRole('link', { name: group, exact: true }) });
  const adminBox = page.getByRole('checkbox', { name: 'Administrator for this account' });
  const radio = (name) => page.getByRole('radio', { name });
  const groupSearch = page.getByLabel('Search directory groups');
  const chooseGroup = async (name) => {
    await groupSearch.fill(name);
    await page.waitForFunction((n) => [...document.querySelectorAll('#group option')].some((o) => o.textContent.startsWith(`${n} (`)), name);
    const label = await page.locator('#group option', { hasText: `${name} (` }).first().textContent();
    await page.getByLabel('Directory group', { exact: true }).selectOption({ label });
  };
  const saveRule = async () => {
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  };
  const savedRole = async (description) => {
    const r = (await rules()).find((x) => x.description === description);
    if (!r) fail(`no rule "${description}"`);
    return r;
  };

  step('sign in');
  await page.goto(CONSOLE_URL);
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  await ruleRow('Admins').getByText('Full access').waitFor();

  step('products with their seats; device groups only for a product that takes them');
  await page.getByRole('link', { name: 'Add rule' }).click();
  await page.getByRole('heading', { name: 'New rule' }).waitFor();
  await page.getByRole('checkbox', { name: 'GoTo Webinar (0 of 25 seats in use)' }).waitFor();
  await page.getByRole('checkbox', { name: 'GoTo Meeting (unlimited)' }).waitFor();
  const devices = page.locator('#deviceGroups-set');
  if (await devices.isVisible()) fail('device groups are shown with no product ticked');
  await page.getByRole('checkbox', { name: 'GoTo Webinar' }).check();
  if (await devices.isVisible()) fail('device groups are shown for a product that takes none');
  await page.getByRole('checkbox', { name: 'GoTo Connect' }).check();
  await devices.getByRole('checkbox', { name: 'Laptops' }).waitFor();
  await page.getByRole('checkbox', { name: 'GoTo Connect' }).uncheck();
  await devices.waitFor({ state: 'hidden' });

  step('the admin checkbox: Full access or Manager when ticked, lower rules or no rights when not');
  if (await adminBox.isChecked()) fail('a new rule makes its members administrators');
  if (!(await radio('Leave it to lower rules').isChecked())) fail('a new rule does not leave the role to lower rules');
  if (await radio('Full access').isVisible()) fail('Full access is offered with the checkbox unticked');
  await adminBox.check();
  if (!(await radio('Full access').isChecked())) fail('Full access is not the first choice once ticked');
  if (await radio('Leave it to lower rules').isVisible()) fail('"Leave it to lower rules" is offered with the checkbox ticked');
  if (await page.locator('#privileges-set').isVisible()) fail('privileges are shown for Full access');
  await radio('Manager').check();
  await page.locator('#privileges-set').getByRole('checkbox', { name: 'Manage users' }).check();
  await page.locator('#managedGroups-set').getByRole('checkbox', { name: 'Sales' }).check();

  step('settings template "Default"; the language as names, with a warning when the template lacks it');
  const settings = page.getByLabel('Settings template');
  expectEqual(await settings.locator('option').first().textContent(), 'Default', 'the settings template when none is chosen');
  const language = page.getByLabel('Account’s default language');
  expectEqual(await language.locator('option').first().textContent(), 'From the directory (or the organization’s default)', 'the language when none is chosen');
  const languageLabels = await language.locator('option').allTextContents();
  for (const name of ['German', 'Japanese', 'English']) if (!languageLabels.includes(name)) fail(`no ${name} in ${languageLabels}`);
  if (languageLabels.some((l) => /^[a-z]{2}(-[A-Z]{2})?$/.test(l))) fail(`a language shown as a code: ${languageLabels}`);
  const warning = page.locator('#language-warning');
  await language.selectOption({ label: 'Japanese' });
  if (await warning.isVisible()) fail('a warning for a language the default template has');
  expectEqual(await page.locator('#emailTemplate option:checked').textContent(), 'Default welcome email (default)', 'the template of a new rule');
  // the default template: Preview only
  await page.locator('#preview-template').waitFor();
  if (await page.locator('#edit-template').isVisible()) fail('Edit is offered for the default template');
  if (await page.locator('#delete-template').isVisible()) fail('Delete is offered for the default template');
  await page.getByLabel('Welcome email template').selectOption({ label: 'Team welcome' });
  await warning.getByText('"Team welcome" has no Japanese text').waitFor();
  if (!(await warning.textContent()).includes('else in English')) fail(`the warning does not say what is used instead: ${await warning.textContent()}`);
  expectEqual(await warning.getAttribute('aria-live'), 'polite', 'the warning is announced');
  await page.locator('#edit-template').waitFor();
  await page.locator('#delete-template').waitFor();
  await audit('rule form: manager, language warning');
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'rule-form.png'), fullPage: true });
  }
  await language.selectOption({ label: 'German' });
  await warning.waitFor({ state: 'hidden' });

  step('a manager saved: its privileges and groups in the rules table');
  await chooseGroup('Staff');
  await page.getByLabel('Description').fill('staff managers');
  await saveRule();
  await ruleRow('Staff').getByText('Manager: Manage users; manages Sales').waitFor();
  await audit('rules with a manager');
  const manager = await savedRole('staff managers');
  expectEqual(JSON.stringify(manager.adminRole), JSON.stringify({ type: 'manager', privileges: ['manage_users'], managedGroups: ['sales'] }), 'the manager rule\'s role');
  expectEqual(manager.language, 'de', 'the manager rule\'s language');
  expectEqual(manager.settingsTemplate ?? null, null, 'the manager rule\'s settings template');
  expectEqual(manager.deviceGroups?.length ?? 0, 0, 'the manager rule\'s device groups');

  step('"Also remove admin rights that a lower rule gives" saves none');
  await page.getByRole('link', { name: 'Add rule' }).click();
  await page.getByRole('heading', { name: 'New rule' }).waitFor();
  await chooseGroup('Helpdesk');
  await page.getByLabel('Description').fill('helpdesk');
  await page.getByRole('checkbox', { name: 'GoTo Meeting' }).check();
  await radio('Also remove admin rights that a lower rule gives').check();
  await settings.selectOption({ label: 'Standard' });
  await page.getByRole('checkbox', { name: 'GoTo Connect' }).check();
  await devices.getByRole('checkbox', { name: 'Laptops' }).check();
  await saveRule();
  await ruleRow('Helpdesk').getByText('No admin rights').waitFor();
  const none = await savedRole('helpdesk');
  expectEqual(JSON.stringify(none.adminRole), JSON.stringify({ type: 'none' }), 'the "remove admin rights" rule\'s role');
  expectEqual(none.settingsTemplate, 'standard', 'the settings template chosen');
  expectEqual(JSON.stringify(none.deviceGroups), JSON.stringify(['laptops']), 'the device groups of a product that takes them');

  step('"Leave it to lower rules" saves no role');
  await page.getByRole('link', { name: 'Add rule' }).click();
  await page.getByRole('heading', { name: 'New rule' }).waitFor();
  await chooseGroup('Managers');
  await page.getByLabel('Description').fill('managers');
  await page.getByRole('checkbox', { name: 'GoTo Meeting' }).check();
  await saveRule();
  await ruleRow('Managers').getByText('Left to lower rules').waitFor();
  expectEqual((await savedRole('managers')).adminRole ?? null, null, 'the role left to lower rules');

  step('Full access through the checkbox; the none rule read back');
  await ruleRow('Helpdesk').getByRole('link', { name: 'Helpdesk', exact: true }).click();
  await page.getByRole('heading', { name: /^Edit rule/ }).waitFor();
  if (await adminBox.isChecked()) fail('the none rule reads back as administrators');
  if (!(await radio('Also remove admin rights that a lower rule gives').isChecked())) fail('the none rule does not read back');
  await audit('rule form: none read back');
  await adminBox.check();
  await saveRule();
  await ruleRow('Helpdesk').getByText('Full access').waitFor();
  expectEqual(JSON.stringify((await savedRole('helpdesk')).adminRole), JSON.stringify({ type: 'full_admin' }), 'the role after ticking the checkbox');

  step('the templates list: Preview for the default, Preview / Edit / Delete for custom ones');
  await page.getByRole('link', { name: 'Email templates' }).click();
  await page.getByRole('heading', { name: 'Email templates' }).waitFor();
  const templateRow = (name) => page.locator('#templates-table tbody tr', { hasText: name });
  const buttonsOf = async (name) => (await templateRow(name).locator('td.row-actions').locator('a, button').allTextContents()).join('/');
  expectEqual(await buttonsOf('Default welcome email'), 'Preview', 'the default template\'s actions');
  expectEqual(await buttonsOf('Team welcome'), 'Preview/Edit/Delete', 'a custom template\'s actions');
  await audit('templates');

  step("Delete in a custom template's own form");
  await page.getByRole('link', { name: 'Edit Old welcome' }).click();
  await page.getByRole('heading', { name: 'Edit template: Old welcome' }).waitFor();
  await page.locator('#delete-this-template').click();
  await dialog.getByRole('button', { name: 'Delete template' }).click();
  await expectToast('Template deleted');
  await page.getByRole('heading', { name: 'Email templates' }).waitFor();
  await templateRow('Old welcome').waitFor({ state: 'detached' });

  step("Delete in the rule form; a template in use is refused at the field");
  await page.goto(`${CONSOLE_URL}#/rules/new`);
  await page.getByRole('heading', { name: 'New rule' }).waitFor();
  await page.getByLabel('Welcome email template').selectOption({ label: 'Team welcome' });
  await page.locator('#delete-template').click();
  await dialog.getByRole('button', { name: 'Delete template' }).click();
  await page.locator('#emailTemplate-error').waitFor();
  await page.getByLabel('Welcome email template').selectOption({ label: 'Spare' });
  await page.locator('#delete-template').click();
  await dialog.getByRole('button', { name: 'Delete template' }).click();
  await expectToast('Template deleted');
  expectEqual(await page.locator('#emailTemplate option:checked').textContent(), 'Default welcome email (default)', 'the template after deleting the chosen one');
  if ((await page.locator('#emailTemplate option').allTextContents()).includes('Spare')) fail('the deleted template is still offered');
  if (await page.locator('#delete-template').isVisible()) fail('Delete is offered for the default template after a deletion');

  step('the turn-on preview: "Unlimited" for a product with no limit');
  await page.goto(`${CONSOLE_URL}#/sync`);
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  await rulesRows.nth(3).waitFor();
  const sw = page.getByRole('switch', { name: 'User Sync is on' });
  const seatRow = (product) => dialog.locator('table', { hasText: 'Seats needed' }).locator('tr', { hasText: product });
  await sw.click();
  await seatRow('GoTo Meeting').getByText('Unlimited').waitFor();
  await seatRow('GoTo Webinar').getByText('Enough').waitFor();
  await audit('turn-on preview');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });

  step('the product API down: the preview says "Unknown", never "Enough"');
  await control('PUT', `/orgs/${ORG}/faults`, { down: true });
  await sw.click();
  await seatRow('GoTo Webinar').getByText('Unknown: the product API did not answer').waitFor();
  if ((await dialog.locator('table', { hasText: 'Seats needed' }).textContent()).includes('Enough')) fail('"Enough" with the product API down');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });

  step('the product API down: the form says the products cannot be read, and saves nothing');
  const unavailable = page.locator('#products-unavailable');
  const deadline = Date.now() + CACHE;
  for (;;) {
    await page.goto(`${CONSOLE_URL}#/rules/new`);
    await page.reload();
    await page.getByRole('heading', { name: 'New rule' }).waitFor();
    await page.locator('#products-set').waitFor();
    if (await unavailable.isVisible()) break;
    if (Date.now() > deadline) fail('the form still offers products with the product API down');
    await page.waitForTimeout(2_000);
  }
  await unavailable.getByText('The product list could not be read').waitFor();
  if (!(await page.locator('#save').isDisabled())) fail('Save is offered while the products cannot be read');
  await audit('rule form: products unavailable');
  await control('DELETE', `/orgs/${ORG}/faults`);
  const back = Date.now() + CACHE;
  for (;;) {
    await page.getByRole('button', { name: 'Try again' }).click();
    await expectToast('The product list');
    if (await page.getByRole('checkbox', { name: 'GoTo Meeting' }).isVisible()) break;
    if (Date.now() > back) fail('the product list is not read again after the product API is back');
    await page.waitForTimeout(2_000);
  }
  if (await page.locator('#save').isDisabled()) fail('Save stays disabled once the products are read');

  step('no list set up: a sentence saying who sets it up, no text box for ids');
  const other = await openPage(browser);
  const { audit: auditOther, violations: violationsOther } = axeAuditor(other.page);
  const p2 = other.page;
  await p2.goto(CONSOLE_URL);
  await p2.getByLabel('Admin token').fill(EMPTY_TOKEN);
  await p2.getByRole('button', { name: 'Sign in' }).click();
  await p2.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  await p2.goto(`${CONSOLE_URL}#/rules/new`);
  await p2.getByRole('heading', { name: 'New rule' }).waitFor();
  await p2.getByRole('checkbox', { name: 'GoTo Connect' }).check();
  await p2.getByRole('checkbox', { name: 'Administrator for this account' }).check();
  await p2.getByRole('radio', { name: 'Manager' }).check();
  for (const [box, words] of [
    ['#userGroup', 'user groups'],
    ['#settingsTemplate', 'settings templates'],
    ['#deviceGroups-set', 'device groups'],
    ['#privileges-set', 'privileges'],
    ['#managedGroups-set', 'user groups'],
  ]) {
    await p2.locator(box).getByText(`No ${words} are set up for this organization. Your User Sync operator sets them up (ops catalog set).`).waitFor();
  }
  const typed = await p2.locator('#rule-form input[type=text], #rule-form input:not([type]), #rule-form textarea').evaluateAll((els) => els.map((e) => e.id));
  expectEqual(JSON.stringify(typed), JSON.stringify(['description']), 'the text boxes of the form');
  await auditOther('rule form: no list set up');
  if (other.problems.length) fail(`the second page reported problems:\n${other.problems.join('\n')}`);
  violations.push(...violationsOther);

  if (problems.length) fail(`the page reported problems:\n${problems.join('\n')}`);
  if (violations.length) fail(`accessibility violations:\n${violations.join('\n')}`);
  console.log('[console rule form] all steps passed');
} catch (e) {
  console.error(`[console rule form] FAILED at step "${current()}": ${e.message}`);
  for (const ctx of browser.contexts()) {
    const page = ctx.pages()[0];
    if (!page) continue;
    const state = await page
      .evaluate(() => ({
        dialog: document.querySelector('dialog[open]')?.textContent.slice(0, 500),
        main: document.getElementById('main')?.textContent.slice(0, 1500),
      }))
      .catch((err) => err.message);
    console.error(JSON.stringify(state, null, 1));
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
