// Starts GraphiQL (vendored, pinned: see README "Browser assets") against this
// server's /graphql, with the README's example queries as the default tabs.
// The range is a variable set to the last 7 whole UTC days, so the examples
// answer over `botscope demo` whatever day it is.
(function () {
  'use strict';
  var day = 24 * 3600 * 1000;
  var end = new Date(Math.ceil(Date.now() / day) * day);
  var start = new Date(end.getTime() - 7 * day);
  var variables = JSON.stringify(
    { range: { start: start.toISOString().replace('.000', ''), end: end.toISOString().replace('.000', '') } },
    null,
    2
  );
  var hint =
    '# With auth on, put {"Authorization": "Bearer <token>"} in the Headers tab below.\n';
  var tabs = [
    hint +
      '# A page of sessions over every bot, newest first (pass pageInfo.endCursor as `after` for the next page).\n' +
      'query Sessions($range: TimeRange!) {\n' +
      '  sessions(range: $range, first: 20) {\n' +
      '    totalCount\n' +
      '    pageInfo { hasNextPage endCursor }\n' +
      '    nodes { id bot { id vendor } startTime durationSeconds endState vendorEndState channel locale turns }\n' +
      '  }\n' +
      '}\n',
    hint +
      '# Containment per day per bot (SUCCESS AVG is the share of sessions that ended in success), with volume.\n' +
      'query Containment($range: TimeRange!) {\n' +
      '  sessionMetrics(\n' +
      '    range: $range\n' +
      '    metrics: [{name: SUCCESS, statistic: AVG}, {name: COUNT, statistic: SUM}]\n' +
      '    binBy: ONE_DAY\n' +
      '    groupBy: [BOT]\n' +
      '  ) { binStart groups { field value } values { metric statistic value } }\n' +
      '}\n',
    hint +
      '# Intent stages: where do users retry or drop? (Kore bots answer UNSUPPORTED_BY_VENDOR for RETRY and DROPPED.)\n' +
      'query Stages($range: TimeRange!) {\n' +
      '  intentStageMetrics(\n' +
      '    botIds: ["support-lex", "billing-lex"]\n' +
      '    range: $range\n' +
      '    metrics: [{name: COUNT, statistic: SUM}, {name: RETRY, statistic: AVG}, {name: DROPPED, statistic: SUM}]\n' +
      '    groupBy: [INTENT_STAGE_NAME]\n' +
      '    rollup: true\n' +
      '  ) { intentStageName values { metric statistic value } }\n' +
      '}\n',
  ].map(function (query) {
    return { query: query, variables: variables };
  });
  // GraphiQL's standard introspection query nests `ofType` nine levels deep,
  // past botscope's `limits.max_depth` (12): it would be refused. This one
  // nests three, enough for every type in botscope's schema (at most [T!]!).
  var introspection =
    'query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name }\n' +
    '  types { ...FullType } directives { name description locations args { ...InputValue } } } }\n' +
    'fragment FullType on __Type { kind name description\n' +
    '  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }\n' +
    '  inputFields { ...InputValue } interfaces { ...TypeRef }\n' +
    '  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }\n' +
    'fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }\n' +
    'fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }';
  var http = GraphiQL.createFetcher({ url: '/graphql' });
  function fetcher(params, opts) {
    if (params && params.operationName === 'IntrospectionQuery') {
      params = { query: introspection, operationName: 'IntrospectionQuery' };
    }
    return http(params, opts);
  }
  // The dashboard keeps its token in this tab's sessionStorage: bring it along.
  var token = null;
  try {
    token = sessionStorage.getItem('botscope.token');
  } catch (e) {
    token = null;
  }
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: tabs,
      // The editor starts from this prop, not from the first tab's variables.
      variables: variables,
      headers: token ? JSON.stringify({ Authorization: 'Bearer ' + token }, null, 2) : undefined,
      defaultEditorToolsVisibility: 'variables',
    })
  );
})();
