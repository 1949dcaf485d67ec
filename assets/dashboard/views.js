// The dashboard's views, in one registry. A view is `{ id, title, render }`;
// `render(ctx)` resolves to the view's DOM. A view the server cannot serve yet
// says so (`unavailable`), with the GraphQL fields it waits for: when
// `intentMetrics` / `utteranceMetrics` / `utterances` land, their views are
// written here and nowhere else.

import { END_STATES, END_STATE_LABEL, funnel, h, heatmap, sparkline, stackedBars, WEEKDAYS } from './charts.js';
import { DASH, fmtChange, fmtCount, fmtDuration, fmtOne, fmtPercent, fmtTime, fmtVendor } from './format.js';
import { FUNNEL_OUTCOMES, FUNNEL_STAGES, HEATMAP, OVERVIEW, RECENT_INTENTS, SESSIONS, splitErrors } from './queries.js';

// ---------------------------------------------------------------- helpers

/** A bot's error, shown on that bot's tile: its code first, then the message. */
export function botError(e) {
  return h('div', { class: 'bot-error', dataset: { code: e.code } },
    h('span', { class: 'code' }, e.code), ' ', h('span', { class: 'msg' }, e.message));
}

/** An error that belongs to no bot (the whole field or request failed). */
export function errorBox(code, message) {
  return h('div', { class: 'error-box', role: 'alert', dataset: { code } },
    h('strong', {}, code), ' ', message);
}

/** The errors that belong to no bot, as boxes. */
function otherErrors(errs) {
  return errs.other.map((e) => errorBox(e.code, e.message));
}

/** "Not included: Sales (Kore) UPSTREAM_UNAVAILABLE" under rolled-up numbers. */
function excluded(ctx, errs) {
  if (errs.bots.size === 0) return null;
  return h('p', { class: 'excluded' }, 'Not included: ',
    [...errs.bots.values()].map((e, i) => [i ? '; ' : '', h('span', { class: 'bot-ref', dataset: { bot: e.botId } }, ctx.botName(e.botId)), ' ', h('span', { class: 'code' }, e.code)]));
}

function valueOf(bin, metric, statistic) {
  const v = bin && bin.values.find((x) => x.metric === metric && (!statistic || x.statistic === statistic));
  return v ? v.value : null;
}

function unavailable(fields, what) {
  return h('div', { class: 'unavailable', dataset: { unavailable: fields.join(',') } },
    h('strong', {}, 'Not available in this version. '),
    `${what} needs the GraphQL field${fields.length > 1 ? 's' : ''} `,
    fields.map((f, i) => [i ? ', ' : '', h('code', {}, f)]),
    ' (DESIGN §3.1), which this botscope does not serve yet. Nothing is estimated in its place.');
}

/** Every bin start of the range, so empty bins show as empty, not missing. */
function binStarts(ctx) {
  const step = ctx.bin === 'ONE_HOUR' ? 3600e3 : 86400e3;
  const out = [];
  const start = Date.parse(ctx.range.start);
  const first = Math.floor(start / step) * step;
  for (let t = first; t < Date.parse(ctx.range.end); t += step) out.push(t);
  return out;
}

// ---------------------------------------------------------------- overview

const KPIS = [
  { id: 'conversations', label: 'Conversations', metric: 'COUNT', statistic: 'SUM', fmt: fmtCount, kind: 'count', better: 0 },
  { id: 'containment', label: 'Containment', metric: 'SUCCESS', statistic: 'AVG', fmt: fmtPercent, kind: 'percent', better: 1 },
  { id: 'dropoff', label: 'Drop-off', metric: 'DROPPED', statistic: 'AVG', fmt: fmtPercent, kind: 'percent', better: -1 },
  { id: 'failure', label: 'Failure or transfer', metric: 'FAILURE', statistic: 'AVG', fmt: fmtPercent, kind: 'percent', better: -1 },
  { id: 'duration', label: 'Average duration', metric: 'DURATION', statistic: 'AVG', fmt: fmtDuration, kind: 'count', better: 0 },
  { id: 'turns', label: 'Average turns', metric: 'TURNS_PER_CONVERSATION', statistic: 'AVG', fmt: fmtOne, kind: 'count', better: 0 },
];

async function overview(ctx) {
  const { data, errors } = await ctx.query(OVERVIEW, { range: ctx.range, previous: ctx.previous, botIds: ctx.botIds, bin: ctx.bin });
  const errs = splitErrors(errors);
  const now = data.kpi && data.kpi[0];
  const before = data.previous && data.previous[0];
  const tiles = KPIS.map((k) => {
    const v = data.kpi ? valueOf(now, k.metric, k.statistic) : null;
    const change = fmtChange(v, data.previous ? valueOf(before, k.metric, k.statistic) : null, k.kind);
    const tone = !change || Math.abs(change.value) < 0.05 || !k.better ? 'neutral' : change.value * k.better > 0 ? 'good' : 'bad';
    return h('div', { class: 'kpi', dataset: { kpi: k.id, value: v == null ? '' : String(v) } },
      h('div', { class: 'kpi-label' }, k.label),
      h('div', { class: 'kpi-value' }, k.fmt(v)),
      h('div', { class: `kpi-change ${tone}`, title: 'against the previous period of the same length' },
        change ? `${change.text} vs previous` : 'no previous period to compare'));
  });

  const series = new Map(binStarts(ctx).map((t) => [t, {}]));
  for (const b of data.volume || []) {
    const t = Date.parse(b.binStart);
    const key = (b.groups[0] && b.groups[0].value) || '(none)';
    const parts = series.get(t) || {};
    parts[key] = (parts[key] || 0) + (b.values[0].value || 0);
    series.set(t, parts);
  }
  const volumeBins = [...series.entries()].sort((a, b) => a[0] - b[0]).map(([t, parts]) => ({ t: new Date(t).toISOString(), parts }));
  const anyVolume = volumeBins.some((b) => Object.values(b.parts).some((v) => v));

  // Per-bot rows: exact containment from SUCCESS SUM / COUNT SUM.
  const perBot = new Map(ctx.bots.map((b) => [b.id, new Map()]));
  for (const b of data.perBot || []) {
    const m = b.bot && perBot.get(b.bot.id);
    if (m) m.set(Date.parse(b.binStart), { count: valueOf(b, 'COUNT') || 0, success: valueOf(b, 'SUCCESS') || 0 });
  }
  const starts = binStarts(ctx);
  const botErrs = errs.bots;
  const rows = ctx.bots.map((bot) => {
    const err = botErrs.get(bot.id);
    const head = [h('td', {}, h('div', { class: 'bot-name' }, bot.name), h('div', { class: 'muted' }, bot.id)), h('td', {}, h('span', { class: `vendor v-${bot.vendor}` }, fmtVendor(bot.vendor)))];
    if (err || !data.perBot) {
      return h('tr', { class: 'bot-row', dataset: { bot: bot.id, state: 'error' } }, head,
        h('td', { colspan: 3 }, err ? botError(err) : errorBox('ERROR', 'no per-bot answer')));
    }
    const bins = perBot.get(bot.id);
    const counts = starts.map((t) => (bins.get(t) || { count: 0 }).count);
    const total = counts.reduce((a, c) => a + c, 0);
    const success = [...bins.values()].reduce((a, b) => a + b.success, 0);
    const containment = total ? success / total : null;
    return h('tr', { class: 'bot-row', dataset: { bot: bot.id, state: 'ok', count: total } }, head,
      h('td', { class: 'num' }, fmtCount(total)),
      h('td', { class: 'num' }, fmtPercent(containment)),
      h('td', {}, total ? sparkline(counts, `${bot.name}: sessions per ${ctx.bin === 'ONE_HOUR' ? 'hour' : 'day'}`) : h('span', { class: 'muted' }, 'no conversations')));
  });

  return h('div', { class: 'overview' },
    otherErrors(errs),
    h('section', { class: 'kpis' }, tiles),
    excluded(ctx, errs),
    h('section', { class: 'card' }, h('h2', {}, 'Volume by end state'),
      anyVolume ? stackedBars(volumeBins, ctx.bin === 'ONE_HOUR') : h('p', { class: 'empty' }, 'No conversations in this range.'),
      excluded(ctx, errs)),
    h('section', { class: 'card' }, h('h2', {}, 'Bots'),
      h('table', { class: 'bots' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Bot'), h('th', {}, 'Vendor'), h('th', { class: 'num' }, 'Conversations'), h('th', { class: 'num' }, 'Containment'), h('th', {}, 'Trend'))),
        h('tbody', {}, rows))));
}

// ---------------------------------------------------------------- intents

async function intents(ctx) {
  const el = h('div', { class: 'intents' });
  el.append(h('section', { class: 'card' }, h('h2', {}, 'Intent leaderboard'),
    unavailable(['intentMetrics'], 'The leaderboard (volume and success rate per intent, across vendors)')));

  const chosen = ctx.state.intent || '';
  const filter = chosen ? { intentNames: [chosen] } : null;
  const vars = { range: ctx.range, botIds: ctx.botIds, filter };
  const [stagesAnswer, outcomesAnswer, recent] = await Promise.all([
    ctx.query(FUNNEL_STAGES, vars),
    ctx.query(FUNNEL_OUTCOMES, vars),
    ctx.query(RECENT_INTENTS, { range: ctx.range, botIds: ctx.botIds }).catch(() => null),
  ]);
  const names = new Set();
  for (const n of (recent && recent.data.sessions && recent.data.sessions.nodes) || []) for (const i of n.intents || []) names.add(i);
  const input = h('input', { id: 'intent-input', list: 'intent-names', value: chosen, placeholder: 'all intents' });
  const picker = h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); ctx.setState({ intent: input.value.trim() }); } },
    h('label', { for: 'intent-input' }, 'Intent '), input,
    h('datalist', { id: 'intent-names' }, [...names].sort().map((n) => h('option', { value: n }))),
    h('button', { type: 'submit' }, 'Show'),
    h('span', { class: 'muted' }, ' Suggestions come from recent sessions (Lex reports intents per session; Kore does not).'));

  const stageErrs = splitErrors(stagesAnswer.errors);
  const outcomeErrs = splitErrors(outcomesAnswer.errors);
  const byBot = new Map(ctx.bots.map((b) => [b.id, new Map()]));
  const add = (list, keys) => {
    for (const b of list || []) {
      const m = b.bot && byBot.get(b.bot.id);
      if (!m) continue;
      const name = b.intentStageName || '(none)';
      const row = m.get(name) || { name };
      for (const k of keys) row[k.toLowerCase()] = valueOf(b, k);
      m.set(name, row);
    }
  };
  add(stagesAnswer.data.stages, ['COUNT', 'SUCCESS', 'FAILED']);
  add(outcomesAnswer.data.outcomes, ['DROPPED', 'RETRY']);
  const cards = ctx.bots.map((bot) => {
    const err = stageErrs.bots.get(bot.id);
    const head = h('h3', {}, bot.name, ' ', h('span', { class: `vendor v-${bot.vendor}` }, fmtVendor(bot.vendor)));
    if (err) return h('div', { class: 'bot-card', dataset: { bot: bot.id, state: 'error' } }, head, botError(err));
    const rows = [...byBot.get(bot.id).values()].filter((r) => r.count != null)
      .sort((a, b) => b.count - a.count || (b.success || 0) - (a.success || 0));
    const outcomeErr = outcomeErrs.bots.get(bot.id);
    return h('div', { class: 'bot-card', dataset: { bot: bot.id, state: 'ok' } }, head,
      rows.length ? funnel(rows) : h('p', { class: 'empty' }, chosen ? `No stages of “${chosen}” in this range.` : 'No intent stages in this range.'),
      rows.length ? h('table', { class: 'stages' },
        h('thead', {}, h('tr', {}, ['Stage', 'Count', 'Success', 'Failed', 'Dropped', 'Retry'].map((t, i) => h('th', { class: i ? 'num' : '' }, t)))),
        h('tbody', {}, rows.map((r) => h('tr', {}, h('td', {}, r.name), [r.count, r.success, r.failed, r.dropped, r.retry].map((v) => h('td', { class: 'num' }, outcomeErr && v === undefined ? DASH : fmtCount(v))))))) : null,
      outcomeErr ? h('p', { class: 'note' }, 'Dropped and retry: ', botError(outcomeErr)) : null);
  });
  el.append(h('section', { class: 'card' }, h('h2', {}, 'Intent stage funnel'), picker,
    h('p', { class: 'muted' }, 'Stages in order of how many reached them (the API does not say the dialog’s order); green is the part that succeeded.'), otherErrors(stageErrs), otherErrors(outcomeErrs), h('div', { class: 'bot-cards' }, cards)));
  return el;
}

// ---------------------------------------------------------------- utterances

async function utterances() {
  return h('div', {}, h('section', { class: 'card' }, h('h2', {}, 'Missed utterances'),
    unavailable(['utteranceMetrics', 'utterances'], 'The top missed texts across bots and vendors, each opening its sessions,')));
}

// ---------------------------------------------------------------- sessions

function sessionFilter(st) {
  const f = {};
  if (st.es) f.endStates = [st.es];
  if (st.ch) f.channels = [st.ch];
  if (st.lo) f.locales = [st.lo];
  const d = {};
  if (st.dmin !== '' && st.dmin != null && !Number.isNaN(Number(st.dmin))) d.gt = Number(st.dmin);
  if (st.dmax !== '' && st.dmax != null && !Number.isNaN(Number(st.dmax))) d.lt = Number(st.dmax);
  if (Object.keys(d).length) f.durationSeconds = d;
  return Object.keys(f).length ? f : null;
}

function detail(session) {
  const rows = [
    ['Session id', session.sessionId], ['Global id', session.id], ['Bot', `${session.bot.name} (${session.bot.id})`],
    ['Vendor', fmtVendor(session.bot.vendor)], ['Start (UTC)', fmtTime(session.startTime)], ['End (UTC)', fmtTime(session.endTime)],
    ['Duration', fmtDuration(session.durationSeconds)], ['End state', session.endState], ['Vendor end state', session.vendorEndState],
    ['Turns', session.turns], ['Channel', session.channel], ['Locale', session.locale], ['Modality', session.modality],
    ['Intents', session.intents && session.intents.length ? session.intents.join(' → ') : null],
    ['User id', session.userId], ['Originating request', session.originatingRequestId], ['Bot alias', session.botAliasId],
    ['Bot version', session.botVersion], ['Interactive', session.interactive == null ? null : String(session.interactive)],
    ['Tasks executed', session.tasksExecuted],
    ['Tags', session.tags && session.tags.length ? session.tags.map((t) => `${t.scope}:${t.name}=${t.value}`).join(', ') : null],
  ];
  return h('aside', { class: 'detail card', dataset: { session: session.id } },
    h('h2', {}, 'Session'),
    h('dl', {}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v == null || v === '' ? h('span', { class: 'muted', title: 'the vendor has no such field' }, DASH) : String(v))])));
}

async function sessions(ctx) {
  const st = ctx.state;
  const botIds = st.sb ? [st.sb] : ctx.botIds;
  const filter = sessionFilter(st);
  const field = (id, label, control) => h('label', { for: id }, label, control);
  const input = (key, attrs) => h('input', { id: `f-${key}`, value: st[key] || '', ...attrs });
  const form = h('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    const v = (k) => form.querySelector(`#f-${k}`).value.trim();
    ctx.setState({ es: v('es'), ch: v('ch'), lo: v('lo'), dmin: v('dmin'), dmax: v('dmax'), sb: v('sb'), sel: '' });
  } },
  field('f-es', 'End state', h('select', { id: 'f-es' }, h('option', { value: '' }, 'any'), END_STATES.map((s) => h('option', { value: s, selected: st.es === s }, END_STATE_LABEL[s])))),
  field('f-sb', 'Bot', h('select', { id: 'f-sb' }, h('option', { value: '' }, 'selected bots'), ctx.bots.map((b) => h('option', { value: b.id, selected: st.sb === b.id }, b.name)))),
  field('f-ch', 'Channel', input('ch', { placeholder: 'e.g. Web, rtm', size: 10 })),
  field('f-lo', 'Locale', input('lo', { placeholder: 'e.g. en_US, de', size: 8 })),
  field('f-dmin', 'Longer than (s)', input('dmin', { type: 'number', min: 0, size: 5 })),
  field('f-dmax', 'Shorter than (s)', input('dmax', { type: 'number', min: 0, size: 5 })),
  h('button', { type: 'submit' }, 'Apply'));

  const tbody = h('tbody', {});
  const banners = h('div', { class: 'bot-errors' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  const detailSlot = h('div', { class: 'detail-slot' });
  const loaded = new Map();
  const seenErrors = new Set();

  const show = (id) => {
    const s = loaded.get(id);
    detailSlot.replaceChildren(s ? detail(s) : h('p', { class: 'muted' }, 'Select a session to see all its fields.'));
    for (const tr of tbody.children) tr.classList.toggle('selected', tr.dataset.session === id);
  };
  const page = async (after) => {
    const { data, errors } = await ctx.query(SESSIONS, { range: ctx.range, botIds, filter, after });
    const errs = splitErrors(errors);
    for (const e of errs.bots.values()) {
      if (seenErrors.has(e.botId)) continue;
      seenErrors.add(e.botId);
      banners.append(h('div', { class: 'bot-banner', dataset: { bot: e.botId } }, h('strong', {}, ctx.botName(e.botId)), ': ', botError(e), ' — its sessions are missing from the list.'));
    }
    for (const e of errs.other) banners.append(errorBox(e.code, e.message));
    const conn = data.sessions;
    if (!conn) return;
    for (const n of conn.nodes) {
      loaded.set(n.id, n);
      tbody.append(h('tr', { class: 'session-row', tabindex: 0, dataset: { session: n.id, bot: n.bot.id }, onclick: () => { ctx.setState({ sel: n.id }, { quiet: true }); show(n.id); } },
        h('td', {}, fmtTime(n.startTime)), h('td', {}, n.bot.name), h('td', {}, fmtVendor(n.bot.vendor)),
        h('td', {}, h('span', { class: `state es-text-${n.endState || 'NONE'}` }, END_STATE_LABEL[n.endState] || DASH), h('span', { class: 'muted' }, ` ${n.vendorEndState || ''}`)),
        h('td', { class: 'num' }, fmtDuration(n.durationSeconds)), h('td', { class: 'num' }, n.turns == null ? DASH : fmtCount(n.turns)),
        h('td', {}, n.channel || DASH), h('td', {}, n.locale || DASH)));
    }
    more.hidden = !conn.pageInfo.hasNextPage;
    more.onclick = async () => {
      more.disabled = true;
      more.textContent = 'Loading…';
      try {
        await page(conn.pageInfo.endCursor);
      } catch (e) {
        banners.append(errorBox(e.code || 'ERROR', e.message));
      }
      more.disabled = false;
      more.textContent = 'Load more';
    };
  };
  await page(null);
  const empty = tbody.children.length === 0 ? h('p', { class: 'empty' }, 'No sessions match these filters in this range.') : null;
  show(st.sel);
  return h('div', { class: 'sessions' },
    h('section', { class: 'card' }, form),
    banners,
    h('div', { class: 'split' },
      h('section', { class: 'card list' },
        h('table', { class: 'sessions-table' },
          h('thead', {}, h('tr', {}, ['Start (UTC)', 'Bot', 'Vendor', 'End state', 'Duration', 'Turns', 'Channel', 'Locale'].map((t) => h('th', { class: t === 'Duration' || t === 'Turns' ? 'num' : '' }, t)))),
          tbody),
        empty, more),
      detailSlot));
}

// ---------------------------------------------------------------- heatmap

/** Zones offered: UTC, the browser's own, then every zone the browser knows. */
function zones(current) {
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  // Named first: zones the heatmap's notes are about (Chrome lists some under
  // their old canonical names, e.g. Asia/Calcutta for Asia/Kolkata).
  const notable = ['America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Adelaide'];
  return [...new Set(['UTC', own, current, ...notable, ...all])];
}

async function heat(ctx) {
  const tz = ctx.state.tz || 'UTC';
  const { data, errors } = await ctx.query(HEATMAP, { range: ctx.range, botIds: ctx.botIds });
  const errs = splitErrors(errors);
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit' });
  const grid = WEEKDAYS.map(() => new Array(24).fill(0));
  const offsets = new Set();
  let offHour = 0;
  for (const b of data.heat || []) {
    const t = Date.parse(b.binStart);
    const p = Object.fromEntries(fmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    const day = WEEKDAYS.indexOf(p.weekday);
    const hour = Number(p.hour) % 24;
    const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), hour, Number(p.minute));
    offsets.add((wall - t) / 60000);
    if (p.minute !== '00') offHour += 1;
    if (day >= 0) grid[day][hour] += b.values[0].value || 0;
  }
  const total = grid.flat().reduce((a, v) => a + v, 0);
  const select = h('select', { id: 'tz', onchange: (e) => ctx.setState({ tz: e.target.value }) },
    zones(tz).map((z) => h('option', { value: z, selected: z === tz }, z)));
  const notes = [];
  if (offHour > 0) {
    notes.push(h('p', { class: 'note', dataset: { exact: 'false' } },
      `${tz} is not a whole number of hours from UTC, so this map is approximate: botscope bins sessions by UTC hour, and each hourly bin is counted in the local hour it starts in (a session at 10:50 local may be counted at 10:00 or 11:00).`));
  } else {
    notes.push(h('p', { class: 'note', dataset: { exact: 'true' } },
      `Exact: ${tz} is a whole number of hours from UTC in this range, so every hourly UTC bin is one local hour.`));
  }
  if (offsets.size > 1) {
    notes.push(h('p', { class: 'note' }, `The offset of ${tz} changes in this range (daylight saving): the local hour skipped has no sessions that day, and the repeated hour counts both.`));
  }
  return h('div', {}, h('section', { class: 'card' }, h('h2', {}, 'Sessions by weekday and hour'),
    h('form', { class: 'inline', onsubmit: (e) => e.preventDefault() }, h('label', { for: 'tz' }, 'Time zone '), select),
    otherErrors(errs),
    total ? heatmap(grid) : h('p', { class: 'empty' }, 'No conversations in this range.'),
    h('p', { class: 'muted' }, `${fmtCount(total)} sessions, by the local weekday and hour they started in; totals over the range, not averages.`),
    notes, excluded(ctx, errs)));
}

/** The views in nav order. */
export const VIEWS = [
  { id: 'overview', title: 'Overview', render: overview },
  { id: 'intents', title: 'Intents', render: intents },
  { id: 'utterances', title: 'Missed utterances', render: utterances },
  { id: 'sessions', title: 'Sessions', render: sessions },
  { id: 'heatmap', title: 'Heatmap', render: heat },
];
