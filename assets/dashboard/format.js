// Numbers and times for people. Every formatter takes `null` (the API's "cannot
// be computed") and shows an en dash, never a made-up zero.

const count = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const one = new Intl.NumberFormat('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export const DASH = '–';

/** 12,345 */
export function fmtCount(v) {
  return v == null ? DASH : count.format(v);
}

/** 12.3K (for chart axes and dense cells) */
export function fmtCompact(v) {
  return v == null ? DASH : compact.format(v);
}

/** 0.6812 → 68.1 % */
export function fmtPercent(v) {
  return v == null ? DASH : `${one.format(v * 100)} %`;
}

/** 4.24 */
export function fmtOne(v) {
  return v == null ? DASH : one.format(v);
}

/** seconds → "3 m 12 s", "1 h 05 m", "42 s" */
export function fmtDuration(v) {
  if (v == null) return DASH;
  const s = Math.round(v);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
}

/** The change of `now` against `before`: for rates in percentage points,
 * for the rest in per cent. `null` when there is nothing to compare. */
export function fmtChange(now, before, kind) {
  if (now == null || before == null) return null;
  const signed = (v, unit) => {
    const shown = one.format(Math.abs(v));
    const sign = shown === '0.0' ? '±' : v > 0 ? '+' : '−';
    return { value: v, text: `${sign}${shown} ${unit}` };
  };
  if (kind === 'percent') return signed((now - before) * 100, 'pp');
  if (before === 0) return null;
  return signed(((now - before) / before) * 100, '%');
}

const dateTime = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  day: '2-digit',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const dateOnly = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: '2-digit', month: 'short' });

/** "01 Dec, 14:05" (UTC) */
export function fmtTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : DASH;
}

/** "01 Dec" (UTC) */
export function fmtDay(iso) {
  return iso ? dateOnly.format(new Date(iso)) : DASH;
}

/** "Lex V2" / "Kore.ai" */
export function fmtVendor(v) {
  return { LEX_V2: 'Lex V2', KORE: 'Kore.ai' }[v] || v;
}
