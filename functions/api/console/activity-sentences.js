// What an activity entry says, as a sentence a person reads: rules named by
// their group (as the entry recorded it, else as the directory names it
// now), products by their catalogue name, templates, roles and languages in
// words. The raw details stay available beside it (activity.js).

import { api } from './api.js';
import { productName } from './catalogue.js';
import { FAILURE_TITLES, languageName, roleName } from './ui.js';

const list = (xs) => xs.filter(Boolean).join(', ');
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * What the sentences look up once per page: the catalogue, the templates'
 * current names and the directory's current group names (`null` for a
 * group it no longer holds).
 */
export async function sentenceContext(catalogue) {
  const templates = new Map();
  try {
    for (const t of (await api('GET', 'templates')).items) templates.set(t.id, t.name);
  } catch {
    // the sentences say "a template" instead
  }
  const groups = new Map();
  const group = (id) => {
    if (!groups.has(id)) {
      groups.set(
        id,
        api('GET', `groups/${encodeURIComponent(id)}`)
          .then((g) => g.displayName || null)
          .catch(() => null),
      );
    }
    return groups.get(id);
  };
  return { cat: catalogue, templates, group };
}

/** The group a rule entry names: as recorded, else as the directory names it now, else "a deleted group". */
export async function ruleGroup(d, ctx) {
  if (d && d.group) return d.group;
  const now = d && d.groupId ? await ctx.group(d.groupId) : null;
  return now || 'a deleted group';
}

const products = (ids, ctx) => ((ids || []).length ? list(ids.map((p) => productName(p, ctx.cat))) : 'no product');
const languages = (tags) => list((tags || []).map(languageName));

function account(verb, d, ctx) {
  if (!d) return verb;
  const role = d.role ? `; ${roleName(d.role)}` : '';
  return `${verb}: ${products(d.products, ctx)}${role}`;
}

function templateName(d, ctx) {
  if (d.templateName) return d.templateName;
  if (!d.template || d.template === 'default') return 'the default template';
  return ctx.templates.get(d.template) || 'a template since deleted';
}

function syncFailed(e, d, ctx) {
  const cls = e.failureClass;
  if (cls === 'out_of_licenses') return d.product ? `Sync failed: out of ${productName(d.product, ctx.cat)} licenses` : 'Sync failed: out of licenses';
  if (cls === 'unverified_domain') return d.domain ? `Sync failed: the email domain ${d.domain} is not verified` : 'Sync failed: the email address has no valid domain';
  if (cls === 'product_api_unavailable') return `Sync failed: the product service was unavailable${d.deliveries ? ` (${plural(d.deliveries, 'attempt')})` : ''}`;
  if (cls === 'existing_account') return 'Sync failed: an account exists elsewhere under the same email';
  if (cls === 'invalid_user_data') return 'Sync failed: the product refused the directory data';
  return `Sync failed${cls ? `: ${(FAILURE_TITLES[cls] || cls).toLowerCase()}` : ''}`;
}

function retried(e, d) {
  const what = e.failureClass ? ` of "${FAILURE_TITLES[e.failureClass] || e.failureClass}"` : '';
  const who = d.userId ? ' for one user' : '';
  const again = [d.jobs ? plural(d.jobs, 'account') : null, d.emails ? plural(d.emails, 'welcome email') : null];
  const sent = again.some(Boolean) ? `: ${again.filter(Boolean).join(' and ')} tried again` : ': nothing to try again';
  return `Retried sync${what}${who}${sent}${d.causeStillPresent ? '; the cause is still there' : ''}`;
}

async function reordered(d, ctx) {
  const moved = d.moved || [];
  if (!moved.length) return d.order ? `Reordered the rules (${plural(d.order.length, 'rule')})` : 'Reordered the rules';
  const named = await Promise.all(moved.map(async (m) => ({ ...m, name: await ruleGroup(m, ctx) })));
  if (named.length === 1 && (d.movedCount || 1) === 1) return `Moved the rule for ${named[0].name} from ${named[0].from} to ${named[0].to}`;
  const more = (d.movedCount || named.length) - named.length;
  return `Reordered the rules: ${list(named.map((m) => `${m.name} from ${m.from} to ${m.to}`))}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The entry `e` as a sentence. */
export async function sentence(e, ctx) {
  const d = e.details || {};
  const domain = e.subject && e.subject.kind === 'domain' ? e.subject.id : 'the domain';
  switch (e.action) {
    case 'account_created':
      return account('Created the account', e.details, ctx);
    case 'account_updated':
      return account('Updated the account', e.details, ctx);
    case 'account_suspended':
      return 'Suspended the account';
    case 'account_relinked':
      return account("Gave the returning person their former account back", e.details, ctx);
    case 'sync_failed':
      return syncFailed(e, d, ctx);
    case 'sync_retried':
      return retried(e, d);
    case 'welcome_email_sent':
      return `${d.resent ? 'Sent the welcome email again' : 'Sent the welcome email'} (${list([templateName(d, ctx), languageName(d.language)])})`;
    case 'welcome_email_failed':
      return `The welcome email was not sent${d.reason ? `: ${d.reason}` : ''}`;
    case 'rule_created':
      return `Created the rule for ${await ruleGroup(d, ctx)}${d.priority ? ` (priority ${d.priority})` : ''}`;
    case 'rule_updated':
      return `Changed the rule for ${await ruleGroup(d, ctx)}${d.priority ? ` (priority ${d.priority})` : ''}`;
    case 'rule_deleted':
      return `Deleted the rule for ${await ruleGroup(d, ctx)}`;
    case 'rules_reordered':
      return reordered(d, ctx);
    case 'sync_enabled':
      return 'Turned User Sync on';
    case 'sync_disabled':
      return 'Turned User Sync off';
    case 'template_created':
    case 'template_updated':
    case 'template_deleted': {
      const verb = { template_created: 'Created', template_updated: 'Changed', template_deleted: 'Deleted' }[e.action];
      const langs = languages(d.languages);
      return `${verb} the template ${d.name || 'without a name'}${langs ? ` (${langs})` : ''}`;
    }
    case 'catalog_changed':
      return `Changed the catalogue${typeof d.products === 'number' ? ` (${plural(d.products, 'product')})` : ''}`;
    case 'retention_changed':
      return d.retentionDays ? `Entries written from now on are kept for ${d.retentionDays} days` : "Entries written from now on are kept for the deployment's default";
    case 'custom_attributes_changed':
      return `Changed the custom attributes to ${list(d.attributes || []) || 'none'}${d.previous ? ` (before: ${list(d.previous) || 'none'})` : ''}`;
    case 'domain_added':
      return `Added the domain ${domain}${d.includeSubdomains ? ' and its subdomains' : ''}`;
    case 'domain_verified':
      return `Verified the domain ${domain}`;
    case 'domain_removed':
      return `Removed the domain ${domain}`;
    case 'domain_claimed':
      return `Ops claimed the domain ${domain} for this organization`;
    case 'domain_grandfathered':
      return `Ops accepted the domain ${domain} without a DNS check (grandfathered)`;
    case 'domain_record_missing':
      return `The domain ${domain} lost its verification record${d.lapsesAt ? `; it lapses on ${new Date(d.lapsesAt).toLocaleDateString()}` : ''}`;
    case 'domain_lapse_warning':
      return `The domain ${domain} still lacks its verification record${d.lapsesAt ? `; it lapses on ${new Date(d.lapsesAt).toLocaleDateString()}` : ''}`;
    case 'domain_lapsed':
      return `The domain ${domain} is no longer verified: its record stayed missing`;
    case 'domain_restored':
      return `The domain ${domain} has its verification record again`;
    case 'reconcile_started':
      return d.why === 'lost_stream_batch'
        ? `Started sending every user to the product again: ${d.records ?? 'some'} directory change(s) could not be processed in time`
        : 'Started sending every user to the product again';
    case 'drift_corrected':
      return d.missing
        ? 'The product had lost the account; wrote it again'
        : `Corrected the account in the product (${list(d.fields || []) || 'no field'} had been changed${d.changedBy ? ` by ${d.changedBy}` : ''})`;
    case 'drift_checked':
      return `Drift check: ${plural(d.users || 0, 'user')} gone through, ${plural(d.checked || 0, 'account')} read back from the product`;
    case 'drift_check_changed':
      return `The drift check now runs ${{ off: 'never (off)', hourly: 'every hour', daily: 'every day' }[d.driftCheck] || d.driftCheck}`;
    default:
      return e.action.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  }
}
