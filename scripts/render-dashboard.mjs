// Draws template.yaml's CloudWatch dashboard as its definition says, with no
// data: each widget at its place on CloudWatch's 24-column grid, with its
// title, its metrics (namespace, name, dimensions, stat), its alarms or its
// text, and an empty axis for a metric widget. Run by scripts/render-dashboard,
// which names the template and the picture:
//
//   node scripts/render-dashboard.mjs template.yaml docs/dashboard.png
//
// playwright-core and axe-core come from tests/console (npm ci there); the
// browser is Debian's chromium (or $CHROMIUM), as in the console tests.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const { chromium } = createRequire(`${here}../tests/console/package.json`)('playwright-core');

const PAGE_WIDTH = 1400;
const MARGIN = 16;
const COLUMN = (PAGE_WIDTH - 2 * MARGIN) / 24;
const ROW = 36;

// The `DashboardBody: !Sub |` block scalar of the template's
// `AWS::CloudWatch::Dashboard`, as text (the template's tags are
// CloudFormation's, so it is cut out rather than parsed as YAML).
export const dashboardBody = (template) => {
  const lines = template.split('\n');
  const type = lines.findIndex((l) => /Type:\s*AWS::CloudWatch::Dashboard\s*$/.test(l));
  if (type < 0) throw new Error('no AWS::CloudWatch::Dashboard in the template');
  const start = lines.findIndex((l, i) => i > type && /DashboardBody:\s*!Sub\s*\|\s*$/.test(l));
  if (start < 0) throw new Error('the dashboard has no `DashboardBody: !Sub |`');
  const indent = lines[start + 1].match(/^ */)[0].length;
  const body = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && line.match(/^ */)[0].length < indent) break;
    body.push(line.slice(indent));
  }
  return body.join('\n');
};

// The Default of each template parameter that has one.
export const parameterDefaults = (template) => {
  const defaults = {};
  const section = template.split(/^Parameters:\s*$/m)[1]?.split(/^\S/m)[0] ?? '';
  let name = null;
  for (const line of section.split('\n')) {
    const param = line.match(/^ {2}([A-Za-z0-9]+):\s*$/);
    if (param) name = param[1];
    const value = line.match(/^ {4}Default:\s*"?([^"]*)"?\s*$/);
    if (name && value) defaults[name] = value[1];
  }
  return defaults;
};

// `${…}` resolved: a parameter to its default, anything else (a resource, an
// attribute, a pseudo parameter) to its own name as a placeholder.
export const substitute = (text, defaults) =>
  text.replace(/\$\{([^}!]+)\}/g, (_, name) => defaults[name] ?? name);

// A metric array in full: CloudWatch's "." (the previous row's element at
// that place) and "..." (the previous row's elements up to the ones given).
const expandMetrics = (rows) => {
  const out = [];
  let previous = [];
  for (const row of rows) {
    const options = typeof row.at(-1) === 'object' ? row.at(-1) : {};
    let fields = typeof row.at(-1) === 'object' ? row.slice(0, -1) : row.slice();
    if (fields[0] === '...') {
      const rest = fields.slice(1);
      fields = [...previous.slice(0, previous.length - rest.length), ...rest];
    }
    fields = fields.map((f, i) => (f === '.' ? previous[i] : f));
    previous = fields;
    out.push({ fields, options });
  }
  return out;
};

const escape = (s) =>
  String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

// The little markdown a text widget holds: headings, links, paragraphs.
const markdown = (text) =>
  escape(text)
    .replace(/\[([^\]]+)\]\(([^)]+)\)/g, '<u>$1</u>')
    .split(/\n{2,}/)
    .flatMap((block) => block.split(/\n(?=#)|(?<=^#[^\n]*)\n/))
    .map((block) => {
      const heading = block.match(/^(#{1,3}) (.*)$/);
      const level = heading ? heading[1].length + 1 : 0;
      return heading ? `<h${level}>${heading[2]}</h${level}>` : `<p>${block.replace(/\n/g, '<br>')}</p>`;
    })
    .join('');

const metricLine = ({ fields, options }, widget) => {
  const [namespace, name, ...dims] = fields;
  const pairs = [];
  for (let i = 0; i + 1 < dims.length; i += 2) pairs.push(`${dims[i]}=${dims[i + 1]}`);
  const stat = options.stat ?? widget.stat ?? 'Average';
  const period = options.period ?? widget.period ?? 300;
  const axis = options.yAxis === 'right' ? ' · right axis' : '';
  const label = options.label ? `<b>${escape(options.label)}</b> ` : '';
  return `<li>${label}<span class="ns">${escape(namespace)}</span> · ${escape(name)}${pairs.length ? ` · ${escape(pairs.join(', '))}` : ''} · <i>${escape(stat)}, ${period} s</i>${axis}</li>`;
};

// An empty chart: the left axis (and the right one if a metric uses it),
// gridlines, the time axis, and each horizontal annotation as a dashed line.
const emptyAxis = (p, metrics, height) => {
  const w = 100;
  const right = metrics.some((m) => m.options.yAxis === 'right');
  const lines = [0.25, 0.5, 0.75].map((f) => `<line x1="6" x2="${right ? 94 : 98}" y1="${f * height}" y2="${f * height}" class="grid"/>`);
  const annotations = (p.annotations?.horizontal ?? []).map(
    (a, i) =>
      `<line x1="6" x2="${right ? 94 : 98}" y1="${(0.2 + 0.1 * i) * height}" y2="${(0.2 + 0.1 * i) * height}" class="annotation"/>`,
  );
  const labels = (p.annotations?.horizontal ?? []).map(
    (a, i) => `<span class="annotation" style="top:calc(${(0.2 + 0.1 * i) * 100}% - 15px)">${escape(a.label ?? '')}: ${escape(a.value ?? '')}</span>`,
  );
  return `<svg viewBox="0 0 ${w} ${height}" preserveAspectRatio="none" class="axis">
    ${lines.join('')}
    <line x1="6" x2="6" y1="0" y2="${height - 8}" class="edge"/>
    ${right ? `<line x1="94" x2="94" y1="0" y2="${height - 8}" class="edge"/>` : ''}
    <line x1="6" x2="${right ? 94 : 98}" y1="${height - 8}" y2="${height - 8}" class="edge"/>
    ${annotations.join('')}
  </svg>${labels.join('')}<div class="nodata">no data</div>`;
};

const widgetHtml = (widget) => {
  const p = widget.properties ?? {};
  const style = `left:${MARGIN + widget.x * COLUMN}px;top:${MARGIN + 40 + widget.y * ROW}px;width:${widget.width * COLUMN - 8}px;height:${widget.height * ROW - 8}px`;
  if (widget.type === 'text') {
    return `<section class="widget text" style="${style}">${markdown(p.markdown ?? '')}</section>`;
  }
  if (widget.type === 'alarm') {
    const alarms = (p.alarms ?? []).map((a) => `<li>${escape(a.split(':').at(-1))}</li>`).join('');
    return `<section class="widget" style="${style}"><h3>${escape(p.title ?? 'Alarms')}</h3><ul class="alarms">${alarms}</ul><div class="nodata">alarm state: no data</div></section>`;
  }
  if (widget.type === 'metric') {
    const metrics = expandMetrics(p.metrics ?? []);
    const view = [p.view, p.stacked ? 'stacked' : null].filter(Boolean).join(', ');
    return `<section class="widget metric" style="${style}">
      <h3>${escape(p.title ?? '')}<span class="view">${escape(view)}</span></h3>
      <div class="chart">${emptyAxis(p, metrics, 40)}</div>
      <ul class="metrics">${metrics.map((m) => metricLine(m, p)).join('')}</ul>
    </section>`;
  }
  return `<section class="widget" style="${style}"><h3>${escape(p.title ?? widget.type)}</h3><pre>${escape(JSON.stringify(p, null, 1))}</pre></section>`;
};

export const page = (name, body) => {
  const bottom = Math.max(...body.widgets.map((w) => w.y + w.height));
  const height = MARGIN * 2 + 40 + bottom * ROW + 24;
  return {
    height,
    html: `<!doctype html><html><head><meta charset="utf-8"><style>
    body { margin: 0; width: ${PAGE_WIDTH}px; height: ${height}px; background: #f2f3f3; font: 12px/1.35 system-ui, sans-serif; color: #16191f; position: relative; }
    header { position: absolute; left: ${MARGIN}px; top: ${MARGIN}px; right: ${MARGIN}px; display: flex; justify-content: space-between; align-items: baseline; }
    header h1 { font-size: 18px; margin: 0; }
    header .caption, footer { color: #545b64; font-style: italic; }
    footer { position: absolute; left: ${MARGIN}px; bottom: 10px; }
    .widget { position: absolute; box-sizing: border-box; background: #fff; border: 1px solid #d5dbdb; padding: 8px 10px; overflow: hidden; display: flex; flex-direction: column; }
    .widget h3 { font-size: 13px; margin: 0 0 4px; display: flex; justify-content: space-between; }
    .widget h3 .view { font-weight: normal; color: #879596; font-size: 11px; }
    .text h2 { font-size: 16px; margin: 0 0 4px; } .text p { margin: 0; font-weight: normal; }
    .chart { position: relative; flex: 1 1 auto; min-height: 60px; }
    .axis { width: 100%; height: 100%; }
    .axis .grid { stroke: #eaeded; stroke-width: 0.3; vector-effect: non-scaling-stroke; }
    .axis .edge { stroke: #879596; stroke-width: 1; vector-effect: non-scaling-stroke; }
    .axis .annotation { stroke: #d13212; stroke-dasharray: 4 3; stroke-width: 1; vector-effect: non-scaling-stroke; }
    .chart .annotation { position: absolute; right: 8%; font-size: 11px; color: #d13212; }
    .nodata { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; color: #aab7b8; font-size: 13px; }
    .metrics, .alarms { margin: 4px 0 0; padding-left: 16px; font-size: 11px; color: #232f3e; }
    .metrics li { padding-left: 12px; text-indent: -12px; }
    .ns { color: #0073bb; }
    </style></head><body>
    <header><h1>${escape(name)}</h1><span class="caption">Rendered from template.yaml's definition; no data.</span></header>
    ${body.widgets.map(widgetHtml).join('\n')}
    <footer>CloudWatch dashboard <code>Dashboard</code> (template.yaml), ${body.widgets.length} widgets on the 24-column grid; \${…} shown as the parameter's default or the resource's logical id.</footer>
    </body></html>`,
  };
};

const [templatePath = 'template.yaml', out = 'docs/dashboard.png'] = process.argv.slice(2);
const template = readFileSync(templatePath, 'utf8');
const defaults = parameterDefaults(template);
const body = JSON.parse(substitute(dashboardBody(template), defaults));
const { html, height } = page('Dashboard: <stack name>', body);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: PAGE_WIDTH, height } });
  const tab = await context.newPage();
  await tab.setContent(html);
  await tab.screenshot({ path: out, fullPage: true });
  console.log(`${out}: ${body.widgets.length} widgets, ${PAGE_WIDTH} x ${height} px`);
} finally {
  await browser.close();
}
