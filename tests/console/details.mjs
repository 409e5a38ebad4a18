// The console's small details in Debian's chromium, against a running stack:
// no literal "null", the focus back on the control that opened a dialog or
// moved a rule, the dialogs' words, the activity filter by a person's name,
// toasts that cover no table cell, the activity table at 768 px.
// Run by tests/tests/e2e/console.rs, which prepares the organization (a
// catalogue; Ada and Grace; the groups Pair, with both, and Solo, with Ada;
// a rule for Pair with Full access, then one for Solo; sync off), and passes:
//   CONSOLE_URL     the console page ({base}/console)
//   ADMIN_TOKEN     the organization's admin token
//   ADA_EMAIL       Ada's email (and userName); her name is "Ada Test"
//   CHROMIUM        the browser (default /usr/bin/chromium)
// Exits 0 when every step passed; otherwise prints the failed step and
// exits 1.

import { axeAuditor, env, expectEqual, fail, launch, openPage, steps } from './harness.mjs';

const CONSOLE_URL = env('CONSOLE_URL');
const TOKEN = env('ADMIN_TOKEN');
const ADA_EMAIL = env('ADA_EMAIL');
const PIPELINE = 120_000;

const { step, current } = steps('console details', 5 * 60_000);

const browser = await launch();
try {
  const { page, problems } = await openPage(browser);

  const { audit, violations } = axeAuditor(page);
  // the DOM shows a null handed to replaceChildren as the text "null"
  const noNull = async (screen) => {
    const found = await page.evaluate(() => {
      const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      let n = 0;
      while (walk.nextNode()) if (walk.currentNode.textContent.trim() === 'null') n += 1;
      return n;
    });
    if (found) fail(`${screen}: ${found} text node(s) reading "null"`);
  };
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    return el ? el.id || el.getAttribute('aria-label') || el.tagName : '';
  });
  const expectToast = (text) => page.waitForFunction((t) => document.getElementById('toast').textContent.includes(t), text);
  // the toast's box and every table cell's box do not intersect
  const toastCoversNoCell = async (screen) => {
    const covered = await page.evaluate(() => {
      const t = document.getElementById('toast').getBoundingClientRect();
      if (!t.width || !t.height) return 'the toast is not shown';
      const cells = [...document.querySelectorAll('td, th')].filter((c) => {
        const r = c.getBoundingClientRect();
        return r.width && r.height && r.left < t.right && t.left < r.right && r.top < t.bottom && t.top < r.bottom;
      });
      return cells.length ? `the toast covers ${cells.length} table cell(s), the first reading "${cells[0].textContent}"` : '';
    });
    if (covered) fail(`${screen}: ${covered}`);
  };
  const dialog = page.locator('dialog[open]');

  step('the sign-in page: no "null"');
  await page.goto(CONSOLE_URL);
  await page.getByRole('heading', { name: 'Sign in to User Sync' }).waitFor();
  await noNull('the sign-in page');
  await audit('sign-in');
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  await page.locator('#rules-table tbody tr').nth(1).waitFor();

  step('moving a rule to the top keeps the focus on its arrow; the toast covers no cell');
  await page.getByRole('button', { name: 'Move rule 2 (Solo) up' }).click();
  await expectToast('Rule moved up');
  await page.waitForFunction(() => document.querySelector('#rules-table tbody tr td:nth-child(2) a')?.textContent === 'Solo');
  expectEqual(await focused(), 'Move rule 1 (Solo) up', 'the focus after moving the rule to the top');
  await toastCoversNoCell('the rules after a move');
  // at the top its ↑ does nothing, and says so
  expectEqual(await page.getByRole('button', { name: 'Move rule 1 (Solo) up' }).getAttribute('aria-disabled'), 'true', 'the first rule\'s ↑');
  await audit('rules after a move');

  step('moving a rule to the bottom keeps the focus on its arrow');
  await page.getByRole('button', { name: 'Move rule 1 (Solo) down' }).click();
  await page.waitForFunction(() => document.querySelector('#rules-table tbody tr td:nth-child(2) a')?.textContent === 'Pair');
  await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Move rule 2 (Solo) down');

  step('the turn-on dialog: no "sync is off" note; Escape gives the focus back to the switch');
  const sw = page.getByRole('switch', { name: 'User Sync is on' });
  await sw.click();
  await dialog.getByRole('heading', { name: 'Turn User Sync on?' }).waitFor();
  const turnOnText = await dialog.textContent();
  if (turnOnText.includes('User Sync is off')) fail(`the turn-on dialog says sync is off: ${turnOnText}`);
  if (!turnOnText.includes('2 of 2 users would change')) fail(`the turn-on dialog does not count the users: ${turnOnText}`);
  await audit('turn-on dialog');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  expectEqual(await focused(), 'sync-switch', 'the focus after Escape on the turn-on dialog');
  if (await sw.isChecked()) fail('the switch is on after Escape');
  await sw.click();
  await dialog.getByRole('button', { name: 'Turn on', exact: true }).click();
  await expectToast('User Sync is on.');

  step('the rule form: "1 member"; an unchanged edit says so; the focus back on Save after Escape and "Back to the form"');
  await page.getByRole('link', { name: 'Edit rule 2 (Solo)' }).click();
  await page.getByRole('heading', { name: 'Edit rule 2' }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('#group option')].map((o) => o.textContent).sort().join('|') === 'Pair (2 members)|Solo (1 member)');
  await noNull('the rule form');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await dialog.getByText('No change: this edit changes no user.').waitFor();
  if ((await dialog.textContent()).includes('0 of 0')) fail('the unchanged edit counts "0 of 0" users');
  await audit('unchanged edit preview');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  await page.waitForFunction(() => document.activeElement?.id === 'save');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await dialog.getByRole('button', { name: 'Back to the form' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.waitForFunction(() => document.activeElement?.id === 'save');
  expectEqual(await focused(), 'save', 'the focus after "Back to the form"');

  step('the new template page: no "null"');
  await page.goto(`${CONSOLE_URL}#/templates/new`);
  await page.getByRole('heading', { name: 'New template' }).waitFor();
  await noNull('the new template page');
  await audit('new template');

  step("the activity filter finds a person by name");
  await page.goto(`${CONSOLE_URL}#/activity`);
  await page.getByRole('heading', { name: 'Activity history' }).waitFor();
  const rows = page.locator('#activity-table tbody tr');
  const userField = page.getByLabel('User (name, user name, email or id)');
  await page.getByLabel('Action').selectOption('account_created');
  await userField.fill('Ada Test');
  const deadline = Date.now() + PIPELINE;
  for (;;) {
    // the summary is written again once the filtered entries are shown
    await page.evaluate(() => (document.querySelector('#main p.hint[aria-live]').textContent = ''));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() => /entries shown/.test(document.querySelector('#main p.hint[aria-live]')?.textContent || ''));
    if ((await rows.count()) > 0) break;
    if (Date.now() > deadline) fail("no account_created entry for Ada Test");
    await page.waitForTimeout(1_000);
  }
  expectEqual(JSON.stringify(await rows.locator('td:nth-child(4)').allTextContents()), JSON.stringify([ADA_EMAIL]), 'the entries the name finds');

  step('a refused filter empties the table');
  await userField.fill('nobody-at-all');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('#f-user-error').getByText('No user matches').waitFor();
  expectEqual(await rows.count(), 0, 'rows after the user filter was refused');
  await page.getByText('No entries shown: the filter was refused.').waitFor();
  await userField.fill('Ada Test');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await rows.first().waitFor();
  // refused by the API this time
  await page.getByLabel('From').fill('2030-01-02T00:00');
  await page.getByLabel('To').fill('2030-01-01T00:00');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('#f-from-error').getByText('from is after to').waitFor();
  expectEqual(await rows.count(), 0, 'rows after the time range was refused');

  step('a toast covers no table cell');
  await page.getByLabel('From').fill('');
  await page.getByLabel('To').fill('');
  await userField.fill('');
  await page.getByLabel('Action').selectOption('');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#activity-table tbody tr').length >= 5);
  await page.evaluate(() => window.scrollTo(0, 0));
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export CSV' }).click();
  await download;
  await expectToast('Exported as CSV');
  await toastCoversNoCell('the activity history after an export');

  step('at 768 px the Details column is wider than a word');
  await page.setViewportSize({ width: 768, height: 900 });
  const widths = await page.locator('#activity-table tbody td.details:has(code)').evaluateAll((cells) => cells.map((c) => c.getBoundingClientRect().width));
  if (!widths.length) fail('no entry with details');
  const fontSize = await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  if (Math.min(...widths) < 12 * fontSize) fail(`Details cells ${Math.min(...widths)}px wide at 768 px`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) fail(`the page scrolls sideways by ${overflow}px at 768 px`);
  await audit('activity at 768 px');

  if (problems.length) fail(`the page reported problems:\n${problems.join('\n')}`);
  if (violations.length) fail(`accessibility violations:\n${violations.join('\n')}`);
  console.log('[console details] all steps passed');
} catch (e) {
  console.error(`[console details] FAILED at step "${current()}": ${e.message}`);
  const page = browser.contexts()[0]?.pages()[0];
  if (page) {
    // what the page showed then, to tell why
    const state = await page
      .evaluate(() => ({
        focus: document.activeElement?.outerHTML.slice(0, 200),
        dialog: document.querySelector('dialog[open]')?.textContent.slice(0, 500),
        main: document.getElementById('main').textContent.slice(0, 1500),
      }))
      .catch((err) => err.message);
    console.error(JSON.stringify(state, null, 1));
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
