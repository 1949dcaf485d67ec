// The dashboard's views, in one registry. A view is `{ id, title, render }`;
// `render(ctx)` resolves to the view's DOM.

import { END_STATES, END_STATE_LABEL, funnel, h, heatmap, meter, sparkline, stackedBars, WEEKDAYS } from './charts.js';
import { DASH, fmtChange, fmtCount, fmtDuration, fmtOne, fmtPercent, fmtTime, fmtVendor } from './format.js';
import { FUNNEL_OUTCOMES, FUNNEL_STAGES, HEATMAP, INTENT_LEADERBOARD, MISSED_UTTERANCES, OVERVIEW, SESSIONS, splitErrors, UTTERANCES } from './queries.js';

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

/** "Ask again" when some bot's answer is missing (a bot past its share of
 * the request deadline may answer when asked again). */
function retry(ctx, errs) {
  if (errs.bots.size === 0) return null;
  return h('p', { class: 'note' }, h('button', { type: 'button', class: 'retry', onclick: () => ctx.setState({}) }, 'Ask again'));
}

function valueOf(bin, metric, statistic) {
  const v = bin && bin.values.find((x) => x.metric === metric && (!statistic || x.statistic === statistic));
  return v ? v.value : null;
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

/** The leaderboard's rows: one per intent name across the selected bots, the
 * bots' counts added, the success rate SUCCESS SUM / COUNT SUM over the bots
 * that have both (exact, never an average of the bots' rates). */
function leaderboardRows(bins) {
  const rows = new Map();
  for (const b of bins || []) {
    const g = b.groups.find((x) => x.field === 'INTENT_NAME');
    const name = g && g.value != null && g.value !== '' ? g.value : null;
    const key = name == null ? '' : name;
    const botGroup = b.groups.find((x) => x.field === 'BOT');
    const botId = b.bot ? b.bot.id : botGroup && botGroup.value;
    const n = valueOf(b, 'COUNT', 'SUM');
    const success = valueOf(b, 'SUCCESS', 'SUM');
    const row = rows.get(key) || { name, count: 0, success: 0, rated: 0, perBot: new Map() };
    row.count += n || 0;
    if (n != null && success != null) {
      row.success += success;
      row.rated += n;
    }
    row.perBot.set(botId, (row.perBot.get(botId) || 0) + (n || 0));
    rows.set(key, row);
  }
  return [...rows.values()].filter((r) => r.count > 0)
    .map((r) => ({ ...r, rate: r.rated ? r.success / r.rated : null }))
    .sort((a, b) => b.count - a.count || String(a.name).localeCompare(String(b.name)));
}

function leaderboard(ctx, answer) {
  const title = h('h2', {}, 'Intent leaderboard');
  if (answer.failed) {
    const e = answer.failed;
    return h('section', { class: 'card leaderboard', dataset: { state: 'error' } }, title, errorBox(e.code || 'ERROR', e.message));
  }
  const errs = splitErrors(answer.errors);
  const rows = leaderboardRows(answer.data.leaderboard);
  const chosen = ctx.state.intent || '';
  // A column per vendor when the selection spans more than one.
  const vendors = [...new Set(ctx.bots.map((b) => b.vendor))].filter((v, _, all) => all.length > 1);
  const vendorOf = new Map(ctx.bots.map((b) => [b.id, b.vendor]));
  const banners = [...errs.bots.values()].map((e) => h('div', { class: 'bot-banner', dataset: { bot: e.botId } },
    h('strong', {}, ctx.botName(e.botId)), ': ', botError(e), ' — its intents are not counted below.'));
  const body = rows.map((r, i) => {
    const perVendor = vendors.map((v) => [...r.perBot].filter(([id]) => vendorOf.get(id) === v).reduce((a, [, n]) => a + n, 0));
    const pick = () => ctx.setState({ intent: r.name });
    const clickable = r.name != null;
    return h('tr', {
      class: `intent-row${clickable ? ' pickable' : ''}${clickable && r.name === chosen ? ' selected' : ''}`,
      tabindex: clickable ? 0 : null,
      title: clickable ? `Show the stage funnel of ${r.name}` : null,
      dataset: { intent: r.name == null ? '' : r.name, count: r.count, rate: r.rate == null ? '' : r.rate },
      onclick: clickable ? pick : null,
      onkeydown: clickable ? (e) => { if (e.key === 'Enter') pick(); } : null,
    },
    h('td', { class: 'num muted' }, i + 1),
    h('td', { class: 'intent-name' }, r.name == null ? h('span', { class: 'muted' }, '(no intent)') : r.name),
    h('td', { class: 'num' }, fmtCount(r.count)),
    h('td', { class: 'num rate' }, fmtPercent(r.rate), ' ', meter(r.rate, `${r.name || '(no intent)'}: ${fmtPercent(r.rate)} succeeded`)),
    perVendor.map((n) => h('td', { class: 'num' }, n ? fmtCount(n) : h('span', { class: 'muted' }, DASH))),
    h('td', { class: 'bot-chips' }, [...r.perBot].sort((a, b) => b[1] - a[1]).map(([id, n]) => h('span', { class: `vendor v-${vendorOf.get(id)}`, title: `${ctx.botName(id)}: ${fmtCount(n)}`, dataset: { bot: id } }, ctx.botName(id)))));
  });
  const table = rows.length
    ? h('table', { class: 'leaderboard-table' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, 'Intent'), h('th', { class: 'num' }, 'Volume'), h('th', { class: 'num' }, 'Success rate'),
        vendors.map((v) => h('th', { class: 'num' }, fmtVendor(v))), h('th', {}, 'Bots'))),
      h('tbody', {}, body))
    : h('p', { class: 'empty' }, 'No intents in this range.');
  return h('section', { class: 'card leaderboard', dataset: { state: 'ok' } }, title,
    h('p', { class: 'muted' }, 'Every intent (Kore: task) across the selected bots, by volume; the success rate is the intents that succeeded over all of them, added across bots. Click an intent for its stage funnel.'),
    otherErrors(errs), banners, retry(ctx, errs), table);
}

async function intents(ctx) {
  const chosen = ctx.state.intent || '';
  const filter = chosen ? { intentNames: [chosen] } : null;
  const vars = { range: ctx.range, botIds: ctx.botIds, filter };
  const [board, stagesAnswer, outcomesAnswer] = await Promise.all([
    ctx.query(INTENT_LEADERBOARD, { range: ctx.range, botIds: ctx.botIds }).catch((failed) => ({ failed })),
    ctx.query(FUNNEL_STAGES, vars),
    ctx.query(FUNNEL_OUTCOMES, vars),
  ]);
  const el = h('div', { class: 'intents' }, leaderboard(ctx, board));

  const names = board.failed ? [] : leaderboardRows(board.data.leaderboard).map((r) => r.name).filter((n) => n != null);
  const input = h('input', { id: 'intent-input', list: 'intent-names', value: chosen, placeholder: 'all intents' });
  const picker = h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); ctx.setState({ intent: input.value.trim() }); } },
    h('label', { for: 'intent-input' }, 'Intent '), input,
    h('datalist', { id: 'intent-names' }, names.map((n) => h('option', { value: n }))),
    h('button', { type: 'submit' }, 'Show'),
    chosen ? h('button', { type: 'button', id: 'intent-clear', onclick: () => ctx.setState({ intent: '' }) }, 'All intents') : null,
    h('span', { class: 'muted' }, ' Suggestions are the leaderboard’s intents.'));
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
  el.append(h('section', { class: 'card', id: 'funnel' }, h('h2', {}, 'Intent stage funnel', chosen ? h('span', { class: 'muted' }, ` · ${chosen}`) : null), picker,
    h('p', { class: 'muted' }, 'Stages in order of how many reached them (the API does not say the dialog’s order); green is the part that succeeded.'), otherErrors(stageErrs), otherErrors(outcomeErrs), h('div', { class: 'bot-cards' }, cards)));
  return el;
}

// ---------------------------------------------------------------- utterances

/** Texts as the server merges them: case and runs of whitespace ignored. */
const sameText = (a, b) => String(a).trim().replace(/\s+/g, ' ').toLowerCase() === String(b).trim().replace(/\s+/g, ' ').toLowerCase();

/** A link to the Sessions view, filtered to one bot's session. */
function sessionLink(ctx, u) {
  const patch = { view: 'sessions', sb: u.bot.id, sid: u.sessionId, es: '', ch: '', lo: '', dmin: '', dmax: '', sel: '' };
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(patch)) {
    if (v) p.set(k, v);
    else p.delete(k);
  }
  return h('a', { class: 'session-link', href: `?${p}`, title: 'Open this session in Sessions', dataset: { session: u.sessionId, bot: u.bot.id },
    onclick: (e) => { e.preventDefault(); ctx.setState(patch); } }, u.sessionId);
}

/** The utterance records behind one missed text, 50 a page with "Load more". */
function utteranceRecords(ctx, text) {
  const tbody = h('tbody', {});
  const banners = h('div', { class: 'bot-errors' });
  const status = h('p', { class: 'loading', role: 'status' }, 'Loading…');
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  const table = h('table', { class: 'utterances-table', hidden: true },
    h('thead', {}, h('tr', {}, ['Time (UTC)', 'Bot', 'Session', 'Intent', 'Channel', 'Text'].map((c) => h('th', {}, c)))), tbody);
  const box = h('div', { class: 'utterance-records', dataset: { state: 'loading', text } }, banners, status, table, more);
  const seenErrors = new Set();
  const filter = { states: ['MISSED'], textContains: [text] };
  const page = async (after) => {
    const { data, errors } = await ctx.query(UTTERANCES, { range: ctx.range, botIds: ctx.botIds, filter, after });
    const errs = splitErrors(errors);
    for (const e of errs.bots.values()) {
      if (seenErrors.has(e.botId)) continue;
      seenErrors.add(e.botId);
      banners.append(h('div', { class: 'bot-banner', dataset: { bot: e.botId } }, h('strong', {}, ctx.botName(e.botId)), ': ', botError(e), ' — its utterances are missing from the list.'));
    }
    for (const e of errs.other) banners.append(errorBox(e.code, e.message));
    const conn = data.utterances;
    if (!conn) return;
    for (const u of conn.nodes) {
      tbody.append(h('tr', { class: 'utterance-row', dataset: { utterance: u.id, bot: u.bot.id } },
        h('td', {}, fmtTime(u.timestamp)),
        h('td', {}, u.bot.name, ' ', h('span', { class: `vendor v-${u.bot.vendor}` }, fmtVendor(u.bot.vendor))),
        h('td', { class: 'mono' }, u.sessionId ? sessionLink(ctx, u) : DASH),
        h('td', {}, u.intentName || h('span', { class: 'muted' }, DASH)),
        h('td', {}, u.channel || h('span', { class: 'muted' }, DASH)),
        h('td', { class: 'utterance-text' }, u.text)));
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
  page(null).then(() => {
    const n = tbody.children.length;
    table.hidden = n === 0;
    status.className = n ? 'muted' : 'empty';
    status.removeAttribute('role');
    status.textContent = n ? `Missed utterances containing “${text}”, newest first.` : 'No utterance records of this text in this range.';
    box.dataset.state = 'ready';
  }, (e) => {
    status.replaceWith(errorBox(e.code || 'ERROR', e.message));
    box.dataset.state = 'error';
  });
  return box;
}

async function utterances(ctx) {
  const { data, errors } = await ctx.query(MISSED_UTTERANCES, { range: ctx.range, botIds: ctx.botIds });
  const errs = splitErrors(errors);
  const rows = (data.missed || []).map((b) => ({ text: b.groups[0] && b.groups[0].value, count: b.values[0] && b.values[0].value }))
    .filter((r) => r.text != null && r.text !== '' && r.count);
  const max = Math.max(1, ...rows.map((r) => r.count));
  const tbody = h('tbody', {});
  let open = null;
  const toggle = (tr, r, quiet) => {
    const wasOpen = open && open.tr === tr;
    if (open) {
      open.detail.remove();
      open.tr.classList.remove('selected');
      open.tr.setAttribute('aria-expanded', 'false');
      open = null;
    }
    if (!wasOpen) {
      const detail = h('tr', { class: 'missed-detail' }, h('td', { colspan: 4 }, utteranceRecords(ctx, r.text)));
      tr.after(detail);
      tr.classList.add('selected');
      tr.setAttribute('aria-expanded', 'true');
      open = { tr, detail };
    }
    if (!quiet) ctx.setState({ utt: wasOpen ? '' : r.text }, { quiet: true });
  };
  rows.forEach((r, i) => {
    const tr = h('tr', { class: 'missed-row', tabindex: 0, 'aria-expanded': 'false', title: 'Show the utterances behind this text', dataset: { text: r.text, count: r.count } },
      h('td', { class: 'num muted' }, i + 1),
      h('td', { class: 'utterance-text' }, r.text),
      h('td', { class: 'num' }, fmtCount(r.count)),
      h('td', {}, meter(r.count / max, `${fmtCount(r.count)} missed, against the top text`, 'meter-fill')));
    tr.addEventListener('click', () => toggle(tr, r));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') toggle(tr, r); });
    tbody.append(tr);
  });
  const wanted = ctx.state.utt ? rows.findIndex((r) => sameText(r.text, ctx.state.utt)) : -1;
  if (wanted >= 0) toggle(tbody.querySelectorAll('.missed-row')[wanted], rows[wanted], true);
  return h('div', { class: 'missed' }, h('section', { class: 'card' }, h('h2', {}, 'Missed utterances'),
    h('p', { class: 'muted' }, 'What users said that no intent understood, across the selected bots and vendors, most missed first (the top 50); texts that differ only in case or spacing are one row. Click a text for the utterances behind it and their sessions.'),
    otherErrors(errs), excluded(ctx, errs), retry(ctx, errs),
    rows.length
      ? h('table', { class: 'missed-table' },
        h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, 'Text'), h('th', { class: 'num' }, 'Missed'), h('th', {}, ''))),
        tbody)
      : h('p', { class: 'empty' }, 'No missed utterances in this range.')));
}

// ---------------------------------------------------------------- sessions

function sessionFilter(st) {
  const f = {};
  if (st.es) f.endStates = [st.es];
  if (st.ch) f.channels = [st.ch];
  if (st.lo) f.locales = [st.lo];
  if (st.sid) f.sessionIds = [st.sid];
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
    ctx.setState({ es: v('es'), ch: v('ch'), lo: v('lo'), dmin: v('dmin'), dmax: v('dmax'), sb: v('sb'), sid: v('sid'), sel: '' });
  } },
  field('f-es', 'End state', h('select', { id: 'f-es' }, h('option', { value: '' }, 'any'), END_STATES.map((s) => h('option', { value: s, selected: st.es === s }, END_STATE_LABEL[s])))),
  field('f-sb', 'Bot', h('select', { id: 'f-sb' }, h('option', { value: '' }, 'selected bots'), ctx.bots.map((b) => h('option', { value: b.id, selected: st.sb === b.id }, b.name)))),
  field('f-ch', 'Channel', input('ch', { placeholder: 'e.g. Web, rtm', size: 10 })),
  field('f-lo', 'Locale', input('lo', { placeholder: 'e.g. en_US, de', size: 8 })),
  field('f-sid', 'Session id', input('sid', { placeholder: 'the vendor’s id', size: 14 })),
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
  const empty = tbody.children.length === 0
    ? h('p', { class: 'empty' }, st.sid ? `No session ${st.sid} in this range: a session is in the range when it started and ended inside it.` : 'No sessions match these filters in this range.')
    : null;
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
