// The dashboard's shell: state in the URL, the controls, the token prompt, and
// rendering the chosen view (views.js). Plain ES modules, no build step.

import { h } from './charts.js';
import { fmtVendor } from './format.js';
import { AuthError, BOTS, gql } from './queries.js';
import { errorBox, VIEWS } from './views.js';

const HOUR = 3600e3;
const DAY = 24 * HOUR;
const RANGES = { '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY };
const MAX_RANGE_DAYS = 92;
const TOKEN_KEY = 'botscope.token';

/** Everything the URL carries, with defaults. */
const DEFAULTS = {
  view: 'overview', range: '7d', from: '', to: '', vendor: '', bots: '', refresh: '0', tz: '',
  intent: '', es: '', ch: '', lo: '', dmin: '', dmax: '', sb: '', sid: '', sel: '', utt: '',
};

let state = readState();
let token = sessionStorage.getItem(TOKEN_KEY) || '';
let allBots = null;
let generation = 0;
let timer = null;

function readState() {
  const p = new URLSearchParams(location.search);
  const st = { ...DEFAULTS };
  for (const k of Object.keys(DEFAULTS)) if (p.has(k)) st[k] = p.get(k);
  if (!VIEWS.some((v) => v.id === st.view)) st.view = DEFAULTS.view;
  return st;
}

function writeUrl(push) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v !== DEFAULTS[k] && v !== '') p.set(k, v);
  const url = `${location.pathname}${p.toString() ? `?${p}` : ''}`;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

/** Changes the state, writes it to the URL, and renders again (unless quiet). */
function setState(patch, opts = {}) {
  const viewChanged = patch.view && patch.view !== state.view;
  state = { ...state, ...patch };
  writeUrl(viewChanged);
  if (!opts.quiet) render();
}

window.addEventListener('popstate', () => {
  state = readState();
  render();
});

const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** The range `[start, end)`: presets end at the next whole UTC hour, so hourly
 * bins line up; custom ranges are whole UTC days, `to` included. */
function computeRange(st) {
  let start;
  let end;
  if (st.range === 'custom') {
    start = Date.parse(`${st.from}T00:00:00Z`);
    end = Date.parse(`${st.to}T00:00:00Z`) + DAY;
    if (Number.isNaN(start) || Number.isNaN(end)) return { error: 'Pick both days of the custom range.' };
    if (end <= start) return { error: 'The custom range ends before it starts.' };
    if (end - start > MAX_RANGE_DAYS * DAY) return { error: `Ranges are limited to ${MAX_RANGE_DAYS} days.` };
  } else {
    end = Math.ceil(Date.now() / HOUR) * HOUR;
    start = end - (RANGES[st.range] || RANGES['7d']);
  }
  const len = end - start;
  return {
    range: { start: iso(start), end: iso(end) },
    previous: { start: iso(start - len), end: iso(start) },
    bin: len <= 7 * DAY ? 'ONE_HOUR' : 'ONE_DAY',
  };
}

/** Sends a query with the token; a refusal opens the token prompt. */
async function query(q, variables) {
  try {
    return await gql(q, variables, token);
  } catch (e) {
    if (e instanceof AuthError) askToken(e.message);
    throw e;
  }
}

// ---------------------------------------------------------------- token prompt

function askToken(reason) {
  const dialog = document.getElementById('token-dialog');
  document.getElementById('token-reason').textContent = token
    ? `The server refused the token: ${reason}`
    : 'This botscope has authentication on: paste a token (for example the one `botscope demo --auth-secret …` prints, or one from `botscope token`).';
  document.body.dataset.auth = token ? 'refused' : 'needed';
  if (!dialog.open) dialog.showModal();
}

function setupTokenForm() {
  const form = document.getElementById('token-form');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    token = document.getElementById('token-input').value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    document.getElementById('token-dialog').close();
    allBots = null;
    render();
  });
  document.getElementById('sign-out').addEventListener('click', () => {
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    allBots = null;
    render();
  });
}

// ---------------------------------------------------------------- controls

function controls(r) {
  const range = h('select', { id: 'range', onchange: (e) => setState({ range: e.target.value }) },
    [['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['custom', 'Custom…']].map(([v, t]) => h('option', { value: v, selected: state.range === v }, t)));
  const custom = state.range === 'custom'
    ? h('span', { class: 'custom' },
      h('input', { type: 'date', id: 'from', value: state.from, 'aria-label': 'first day (UTC)', onchange: (e) => setState({ from: e.target.value }) }), ' – ',
      h('input', { type: 'date', id: 'to', value: state.to, 'aria-label': 'last day (UTC)', onchange: (e) => setState({ to: e.target.value }) }))
    : null;
  const vendor = h('select', { id: 'vendor', onchange: (e) => setState({ vendor: e.target.value }) },
    h('option', { value: '' }, 'All vendors'),
    [...new Set((allBots || []).map((b) => b.vendor))].map((v) => h('option', { value: v, selected: state.vendor === v }, fmtVendor(v))));
  const chosen = new Set(state.bots ? state.bots.split(',') : []);
  const botBoxes = (allBots || []).map((b) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: b.id, checked: !chosen.size || chosen.has(b.id), onchange: () => {
      const ids = [...document.querySelectorAll('#bot-picker input:checked')].map((i) => i.value);
      setState({ bots: ids.length === allBots.length ? '' : ids.join(',') || '-' });
    } }), ` ${b.name} `, h('span', { class: 'muted' }, fmtVendor(b.vendor))));
  const botsLabel = chosen.size && state.bots !== '' ? `${state.bots === '-' ? 0 : chosen.size} of ${(allBots || []).length} bots` : 'All bots';
  const refresh = h('select', { id: 'refresh', onchange: (e) => setState({ refresh: e.target.value }) },
    [['0', 'Auto-refresh off'], ['60', 'Refresh every minute'], ['300', 'Refresh every 5 minutes']].map(([v, t]) => h('option', { value: v, selected: state.refresh === v }, t)));
  const label = r.range
    ? h('span', { id: 'range-label', class: 'muted', dataset: { start: r.range.start, end: r.range.end } }, `${r.range.start.slice(0, 16).replace('T', ' ')} – ${r.range.end.slice(0, 16).replace('T', ' ')} UTC`)
    : h('span', { id: 'range-label', class: 'error-text' }, r.error);
  return [range, custom, label, vendor, h('details', { id: 'bot-picker' }, h('summary', {}, botsLabel), h('div', { class: 'menu' }, botBoxes)), refresh];
}

function nav() {
  return VIEWS.map((v) => h('button', { type: 'button', class: v.id === state.view ? 'tab active' : 'tab', dataset: { view: v.id }, 'aria-current': v.id === state.view ? 'page' : null, onclick: () => setState({ view: v.id }) }, v.title));
}

// ---------------------------------------------------------------- rendering

function setViewState(el, s) {
  el.dataset.state = s;
  document.body.dataset.state = s;
  // The first time data is on screen (the browser test reads this mark).
  if (s === 'ready' && !performance.getEntriesByName('botscope:data').length) performance.mark('botscope:data');
}

async function render({ background = false } = {}) {
  const gen = ++generation;
  const main = document.getElementById('view');
  const updated = document.getElementById('updated');
  document.getElementById('sign-out').hidden = !token;
  if (!background) {
    main.replaceChildren(h('div', { class: 'loading', role: 'status' }, 'Loading…'));
    setViewState(main, 'loading');
  } else updated.textContent = 'Refreshing…';
  try {
    if (!allBots) allBots = (await query(BOTS, {})).data.bots;
  } catch (e) {
    if (gen !== generation) return;
    main.replaceChildren(e instanceof AuthError
      ? errorBox('UNAUTHENTICATED', `Waiting for a valid token (${e.message}).`)
      : errorBox(e.code || 'ERROR', `Cannot list the bots: ${e.message}`));
    setViewState(main, 'error');
    return;
  }
  document.body.dataset.auth = token ? 'token' : 'none';
  const r = computeRange(state);
  document.getElementById('controls').replaceChildren(...controls(r).filter(Boolean));
  document.getElementById('nav').replaceChildren(...nav());
  scheduleRefresh();
  if (r.error) {
    main.replaceChildren(errorBox('BAD_USER_INPUT', r.error));
    setViewState(main, 'error');
    return;
  }
  const chosen = state.bots && state.bots !== '-' ? new Set(state.bots.split(',')) : null;
  const bots = allBots.filter((b) => (!state.vendor || b.vendor === state.vendor) && (state.bots === '-' ? false : !chosen || chosen.has(b.id)));
  if (!allBots.length || !bots.length) {
    main.replaceChildren(h('p', { class: 'empty' }, allBots.length ? 'No bot matches the selection: pick a bot or vendor above.' : 'This token may see no bots.'));
    setViewState(main, 'ready');
    return;
  }
  const everything = bots.length === allBots.length;
  const view = VIEWS.find((v) => v.id === state.view);
  const ctx = {
    state, ...r, bots,
    botIds: everything ? null : bots.map((b) => b.id),
    botName: (id) => (allBots.find((b) => b.id === id) || { name: id }).name,
    query, setState,
  };
  try {
    const node = await view.render(ctx);
    if (gen !== generation) return;
    main.replaceChildren(node);
    setViewState(main, 'ready');
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    if (gen !== generation) return;
    main.replaceChildren(errorBox(e instanceof AuthError ? 'UNAUTHENTICATED' : e.code || 'ERROR', e.message));
    setViewState(main, 'error');
    updated.textContent = '';
  }
}

function scheduleRefresh() {
  clearInterval(timer);
  const secs = Number(state.refresh);
  if (secs > 0) timer = setInterval(() => render({ background: true }), secs * 1000);
}

setupTokenForm();
render();
