// Single sign-on in the console, in Debian's chromium, against a running
// stack and the tests' OpenID provider (tests/oidc): the organization's
// console address offers "Sign in with Example IdP" and no token form (token
// sign-in is off); Ada signs in through the provider's login page (the
// authorization code flow with PKCE, the code redeemed by the page itself),
// sees her name and role, saves the custom attributes as an admin, stays
// signed in after a reload, and signs out at the provider too; Vera then
// signs in as a viewer and is offered no write control; a session whose ID
// token expires ends on the sign-in page; an answer the page did not ask for
// (a forged state) is refused. Every screen of the console is axe-clean.
// Run by tests/tests/e2e/console.rs, which sets the organization's single
// sign-on (`ops sso set … --name "Example IdP"`) and passes:
//   CONSOLE_URL   the console page ({base}/console)
//   ORG_ID        the organization
//   CHROMIUM      the browser (default /usr/bin/chromium)
// Exits 0 when every step passed; otherwise prints the failed step and
// exits 1.

import { axeAuditor, env, expectEqual, fail, launch, openPage, steps } from './harness.mjs';

const CONSOLE_URL = env('CONSOLE_URL');
const ORG = env('ORG_ID');
const ADDRESS = `${CONSOLE_URL}/?org=${ORG}`;

const { step } = steps('console sso', 5 * 60_000);

const browser = await launch();
try {
  const { page, problems } = await openPage(browser);
  const { audit, violations } = axeAuditor(page);

  // the provider's login page (and its consent page, if it shows one)
  const logIn = async (login) => {
    await page.locator('input[name="login"]').waitFor();
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.waitForURL((url) => url.href.startsWith(CONSOLE_URL) || url.pathname.includes('/interaction/'));
    if (!page.url().startsWith(CONSOLE_URL)) {
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL((url) => url.href.startsWith(CONSOLE_URL));
    }
  };
  const signedInAs = async (who) => {
    await page.locator('#who').getByText(who).waitFor();
    expectEqual(await page.locator('#who').textContent(), who, 'the name and role beside Sign out');
    if (/[?&](code|state)=/.test(page.url())) fail(`the provider's answer stays in the address: ${page.url()}`);
  };

  step("the organization's address offers its identity provider and no token form");
  await page.goto(ADDRESS);
  await page.getByRole('heading', { name: /^Sign in to / }).waitFor();
  await page.getByRole('button', { name: 'Sign in with Example IdP' }).waitFor();
  if (await page.getByLabel('Admin token').count()) fail('the token form is offered with token sign-in off');
  await audit('sign-in page (single sign-on)');

  step('Ada signs in through the login page');
  await page.getByRole('button', { name: 'Sign in with Example IdP' }).click();
  await page.waitForURL((url) => !url.href.startsWith(CONSOLE_URL));
  await logIn('ada');
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  await signedInAs('Ada Admin · admin');
  await page.locator('#toast').getByText('Signed in.').waitFor();

  step('as an admin, she saves the custom attributes');
  await page.getByRole('link', { name: 'Custom attributes' }).click();
  await page.locator('#attributes').fill('badgeNumber');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('#toast').getByText('Saved: 1 custom attributes').waitFor();
  await audit('custom attributes (single sign-on admin)');

  step('the activity history names her');
  await page.getByRole('link', { name: 'Activity history' }).click();
  await page.locator('td', { hasText: 'Ada Admin' }).first().waitFor();

  step('a reload keeps her signed in (this tab only)');
  await page.reload();
  await page.getByRole('heading', { name: 'Activity history' }).waitFor();
  await signedInAs('Ada Admin · admin');
  const kept = await page.evaluate(() => Object.keys(localStorage).length);
  expectEqual(kept, 0, 'what is kept beyond the tab');

  step('sign out: at the provider too, then back to the sign-in page');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL((url) => url.href.startsWith(CONSOLE_URL));
  await page.getByRole('button', { name: 'Sign in with Example IdP' }).waitFor();
  await page.locator('#toast').getByText('Signed out.').waitFor();
  const left = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('userSync.')));
  expectEqual(left.join(','), '', 'what the tab keeps after signing out');

  step('Vera signs in (the provider asks again) and is offered no write control');
  await page.getByRole('button', { name: 'Sign in with Example IdP' }).click();
  await logIn('vera');
  await signedInAs('Vera Viewer · viewer');
  await page.locator('#rules-table tbody tr').first().waitFor();
  for (const name of ['Add rule', 'Retry sync']) {
    if (await page.getByRole('button', { name, exact: true }).count()) fail(`"${name}" is offered to a viewer`);
  }
  if (!(await page.locator('#sync-switch').isDisabled())) fail('the sync switch can be flipped by a viewer');
  await audit('sync page (single sign-on viewer)');

  step('her sign-in expires: back to the sign-in page');
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem('userSync.ssoSession'));
    s.expiresAt = Date.now() + 3000;
    sessionStorage.setItem('userSync.ssoSession', JSON.stringify(s));
  });
  await page.reload();
  await page.getByText('Your sign-in expired. Sign in again.').waitFor();
  await page.getByRole('button', { name: 'Sign in with Example IdP' }).waitFor();

  step('an answer this tab did not ask for is refused');
  await page.goto(`${ADDRESS}&code=forged&state=forged`);
  await page.getByText('This sign-in was not started here').waitFor();
  if (page.url().includes('code=')) fail(`the forged answer stays in the address: ${page.url()}`);
  await audit('sign-in page (refused answer)');

  if (violations.length) fail(`accessibility violations:\n${violations.join('\n')}`);
  if (problems.length) fail(`the page logged errors:\n${problems.join('\n')}`);
  console.log('[console sso] all steps passed');
} catch (e) {
  console.error(`[console sso] FAILED: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
