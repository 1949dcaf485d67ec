// Every GraphQL query the dashboard sends, and the one function that sends
// them. These are the queries a customer's own dashboard would send: the
// dashboard uses the public API only (README "The dashboard" lists them).

/** The bots the caller may see (auth decides which). */
export const BOTS = `query DashboardBots {
  bots { id name vendor vendorBotId }
}`;

const KPI_METRICS = `[{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: AVG},
  {name: DROPPED, statistic: AVG}, {name: FAILURE, statistic: AVG},
  {name: DURATION, statistic: AVG}, {name: TURNS_PER_CONVERSATION, statistic: AVG}]`;

/** Overview: KPIs for the range and the previous period of the same length
 * (rolled up across bots), volume by end state over time, and per-bot bins
 * for the rows and their sparklines. */
export const OVERVIEW = `query DashboardOverview($range: TimeRange!, $previous: TimeRange!, $botIds: [ID!], $bin: BinInterval!) {
  kpi: sessionMetrics(botIds: $botIds, range: $range, rollup: true, metrics: ${KPI_METRICS}) {
    values { metric statistic value }
  }
  previous: sessionMetrics(botIds: $botIds, range: $previous, rollup: true, metrics: ${KPI_METRICS}) {
    values { metric statistic value }
  }
  volume: sessionMetrics(botIds: $botIds, range: $range, rollup: true, binBy: $bin, groupBy: [END_STATE],
                         metrics: [{name: COUNT, statistic: SUM}]) {
    binStart groups { field value } values { value }
  }
  perBot: sessionMetrics(botIds: $botIds, range: $range, binBy: $bin,
                         metrics: [{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: SUM}]) {
    bot { id } binStart values { metric statistic value }
  }
}`;

/** Sessions: one page of the filtered list, every field for the detail. */
export const SESSIONS = `query DashboardSessions($range: TimeRange!, $botIds: [ID!], $filter: SessionFilter, $after: String) {
  sessions(botIds: $botIds, range: $range, filter: $filter, first: 50, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id sessionId originatingRequestId userId bot { id name vendor }
      startTime endTime durationSeconds endState vendorEndState
      channel locale modality turns intents botAliasId botVersion
      interactive tasksExecuted tags { scope name value }
    }
  }
}`;

/** Weekday × hour heatmap: hourly UTC bins rolled up across bots. */
export const HEATMAP = `query DashboardHeatmap($range: TimeRange!, $botIds: [ID!]) {
  heat: sessionMetrics(botIds: $botIds, range: $range, rollup: true, binBy: ONE_HOUR,
                       metrics: [{name: COUNT, statistic: SUM}]) {
    binStart values { value }
  }
}`;

/** Intents: the stage funnel per bot. Kore serves COUNT, SUCCESS and FAILED
 * only, so DROPPED and RETRY are a separate request: a Kore bot's
 * UNSUPPORTED_BY_VENDOR there leaves its funnel standing. */
export const FUNNEL_STAGES = `query DashboardFunnel($range: TimeRange!, $botIds: [ID!], $filter: IntentStageFilter) {
  stages: intentStageMetrics(botIds: $botIds, range: $range, filter: $filter, groupBy: [INTENT_STAGE_NAME],
                             metrics: [{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: SUM}, {name: FAILED, statistic: SUM}]) {
    bot { id } intentStageName values { metric value }
  }
}`;

/** The funnel's dropped and retry counts per stage (Lex only, today). */
export const FUNNEL_OUTCOMES = `query DashboardFunnelOutcomes($range: TimeRange!, $botIds: [ID!], $filter: IntentStageFilter) {
  outcomes: intentStageMetrics(botIds: $botIds, range: $range, filter: $filter, groupBy: [INTENT_STAGE_NAME],
                               metrics: [{name: DROPPED, statistic: SUM}, {name: RETRY, statistic: SUM}]) {
    bot { id } intentStageName values { metric value }
  }
}`;

/** Intents: the leaderboard, one row per bot and intent (Lex's intents,
 * Kore's tasks). SUCCESS is a SUM, so the page adds the bots' counts and
 * divides once: a success rate across bots is never an average of averages. */
export const INTENT_LEADERBOARD = `query DashboardIntentLeaderboard($range: TimeRange!, $botIds: [ID!]) {
  leaderboard: intentMetrics(botIds: $botIds, range: $range, groupBy: [BOT, INTENT_NAME],
                             metrics: [{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: SUM}]) {
    bot { id } groups { field value } values { metric statistic value }
  }
}`;

/** Missed utterances: the top texts across bots and vendors, rolled up (the
 * server merges case and whitespace variants and ranks by MISSED). */
export const MISSED_UTTERANCES = `query DashboardMissedUtterances($range: TimeRange!, $botIds: [ID!]) {
  missed: utteranceMetrics(botIds: $botIds, range: $range, groupBy: [UTTERANCE_TEXT], rollup: true, first: 50,
                           metrics: [{name: MISSED, statistic: SUM}]) {
    groups { value } values { value }
  }
}`;

/** The utterance records behind one missed text, newest first, 50 a page. */
export const UTTERANCES = `query DashboardUtterances($range: TimeRange!, $botIds: [ID!], $filter: UtteranceFilter, $after: String) {
  utterances(botIds: $botIds, range: $range, filter: $filter, first: 50, after: $after) {
    nodes { id bot { id name vendor } sessionId timestamp text intentName channel }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** The server refused the caller's token (HTTP 401). */
export class AuthError extends Error {}

/** Sends one query; resolves to `{ data, errors }` (GraphQL partial results
 * included), throws `AuthError` on 401 and `Error` when there is no GraphQL answer. */
export async function gql(query, variables, token) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let resp;
  try {
    // The server has its own deadline (limits.request_timeout, 30 s by
    // default); this one only guards against a connection that never answers.
    resp = await fetch('/graphql', {
      method: 'POST', headers, body: JSON.stringify({ query, variables }), signal: AbortSignal.timeout(120000),
    });
  } catch (e) {
    throw new Error(`botscope did not answer (${e.message})`);
  }
  let body = null;
  try {
    body = await resp.json();
  } catch {
    // handled below
  }
  const first = body && body.errors && body.errors[0];
  if (resp.status === 401) throw new AuthError(first ? first.message : 'unauthenticated');
  if (!body || (!body.data && !body.errors)) throw new Error(`botscope answered HTTP ${resp.status} without a GraphQL body`);
  if (!body.data) {
    const code = first && first.extensions && first.extensions.code;
    const e = new Error(first ? first.message : `HTTP ${resp.status}`);
    e.code = code || `HTTP_${resp.status}`;
    e.errors = body.errors;
    throw e;
  }
  return { data: body.data, errors: body.errors || [] };
}

/** Splits a response's errors into the bots' (by `extensions.botId`, first
 * error per bot) and the rest. Per-bot errors of partial results carry no
 * `path`, so a request asks about one thing per bot: an error names the bot. */
export function splitErrors(errors) {
  const bots = new Map();
  const other = [];
  for (const e of errors) {
    const ext = e.extensions || {};
    const item = { code: ext.code || 'ERROR', message: e.message, botId: ext.botId, vendor: ext.vendor };
    if (ext.botId) {
      if (!bots.has(ext.botId)) bots.set(ext.botId, item);
    } else other.push(item);
  }
  return { bots, other };
}
