// Roles in the console, in Debian's chromium, against a running stack: a
// viewer key sees its name and role beside Sign out and no control it cannot
// use (no sync switch to flip, no rule to add, edit, move or delete, no
// template, domain, attribute, drift check or retention to change, no Retry
// sync); a write forced from the page is refused 403 with a message naming
// the role it needs; every screen is axe-clean.
// Run by tests/tests/e2e/console.rs, which prepares the organization (a
// catalogue, a group with a rule, a template) and passes:
//   CONSOLE_URL     the console page ({base}/console)
//   VIEWER_TOKEN    a viewer key of the organization, named "Help desk"
//   CHROMIUM        the browser (default /usr/bin/chromium)
// Exits 0 when every step passed; otherwise prints the failed step and
// exits 1.

import { axeAuditor, env, expectEqual, fail, launch, openPage, steps } from './harness.mjs';

const CONSOLE_URL = env('CONSOLE_URL');
const TOKEN = env('VIEWER_TOKEN');

const { step, current } = steps('console roles', 4 * 60_000);

const browser = await launch();
try {
  const { page, problems } = await openPage(browser);
  const { audit, violations } = axeAuditor(page);
  // none of `names` is offered as a button or a link on the page
  const notOffered = async (screen, names) => {
    for (const name of names) {
      const n = await page.getByRole('button', { name, exact: true }).count() + (await page.getByRole('link', { name, exact: true }).count());
      if (n) fail(`${screen}: "${name}" is offered to a viewer`);
    }
  };

  step('sign in with a viewer key: its name and role beside Sign out');
  await page.goto(CONSOLE_URL);
  await page.getByRole('heading', { name: 'Sign in to User Sync' }).waitFor();
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  expectEqual(await page.locator('#who').textContent(), 'Help desk · viewer', 'the role beside Sign out');

  step('the User Sync page: the rules read, no write control');
  await page.locator('#rules-table tbody tr').first().waitFor();
  await page.locator('#drift-check').waitFor();
  if (!(await page.locator('#sync-switch').isDisabled())) fail('the sync switch can be flipped by a viewer');
  await page.locator('#sync-switch-role').waitFor();
  await notOffered('the rules', ['Add rule', 'Create your first rule', 'Retry sync', 'Save']);
  if (await page.locator('#rules-table .move-up, #rules-table .move-down, #rules-table .danger').count()) fail('a rule can be moved or deleted by a viewer');
  if (await page.locator('#rules-table a', { hasText: 'Edit' }).count()) fail('a rule can be edited by a viewer');
  if (!(await page.locator('#drift-check').isDisabled())) fail('the drift check can be changed by a viewer');
  await audit('sync page (viewer)');

  step('a rule opens read-only');
  await page.locator('#rules-table a.rule-link').first().click();
  await page.locator('#rule-form').waitFor();
  await notOffered('the rule', ['Save', 'Save & add another', 'Create new', 'Delete']);
  if (!(await page.locator('#description').isDisabled())) fail('the rule form can be edited by a viewer');
  await audit('rule (viewer)');

  step('templates, domains, attributes, activity: no write control');
  await page.goto(`${CONSOLE_URL}#/templates`);
  await page.locator('#templates-table').waitFor();
  await notOffered('templates', ['Create template']);
  if (await page.locator('#templates-table .danger').count()) fail('a template can be deleted by a viewer');
  await audit('templates (viewer)');
  await page.goto(`${CONSOLE_URL}#/domains`);
  await page.getByRole('heading', { name: 'Domains', exact: true }).waitFor();
  await notOffered('domains', ['Add domain', 'Verify', 'Remove']);
  await audit('domains (viewer)');
  await page.goto(`${CONSOLE_URL}#/attributes`);
  await page.locator('#attributes').waitFor();
  await notOffered('attributes', ['Save']);
  await audit('attributes (viewer)');
  await page.goto(`${CONSOLE_URL}#/activity`);
  await page.locator('#retention').waitFor();
  await notOffered('activity', ['Save retention']);
  await audit('activity (viewer)');

  step('a forced write is refused 403, naming the role it needs');
  const forced = await page.evaluate(async () => {
    const res = await fetch(new URL('../api/v1/sync', document.baseURI), {
      method: 'PUT',
      headers: { authorization: `Bearer ${sessionStorage.getItem('userSync.adminToken')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, confirm: true }),
    });
    return { status: res.status, body: await res.json() };
  });
  expectEqual(forced.status, 403, 'a forced PUT /sync');
  expectEqual(forced.body.detail, 'this needs the admin role; your key is a viewer key', 'its message');

  if (problems.length) fail(`the page reported problems:\n${problems.join('\n')}`);
  if (violations.length) fail(`accessibility violations:\n${violations.join('\n')}`);
  console.log('[console roles] all steps passed');
} catch (e) {
  console.error(`[console roles] FAILED at step "${current()}": ${e.message}`);
  const page = browser.contexts()[0]?.pages()[0];
  if (page) {
    const state = await page.evaluate(() => document.getElementById('main').textContent.slice(0, 1500)).catch((err) => err.message);
    console.error(state);
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
