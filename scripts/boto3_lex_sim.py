#!/usr/bin/env python3
"""boto3 against the Lex simulator: every analytics operation the simulator
serves, built by boto3 (which validates each request against the official
model before sending it) and paged through with nextToken until the end.

    python3 scripts/boto3_lex_sim.py URL BOT_ID START_EPOCH END_EPOCH

Prints one line per operation (pages, items) and exits non-zero on the first
error: a request boto3 refuses, an answer it cannot parse, a page loop that
does not end. `tests/lex_integration.rs` runs it.
"""

import sys

import boto3
from botocore.config import Config


def main() -> int:
    url, bot, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    client = boto3.client(
        "lexv2-models",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="SECRETTEST",
        config=Config(retries={"max_attempts": 1}),
    )
    common = {"botId": bot, "startDateTime": start, "endDateTime": end}
    day = {"name": "ConversationStartTime", "interval": "OneDay"}
    calls = {
        "list_session_analytics_data": (
            dict(common, sortBy={"name": "ConversationStartTime", "order": "Ascending"}, maxResults=100),
            "sessions",
        ),
        "list_session_metrics": (
            dict(common, metrics=[{"name": n, "statistic": "Sum"} for n in
                                  ["Count", "Success", "Failure", "Dropped", "Duration", "TurnsPerConversation", "Concurrency"]],
                 binBy=[day], groupBy=[{"name": "ConversationEndState"}, {"name": "LocaleId"}], maxResults=20),
            "results",
        ),
        "list_intent_stage_metrics": (
            dict(common, metrics=[{"name": n, "statistic": "Avg"} for n in ["Count", "Success", "Failed", "Dropped", "Retry"]],
                 binBy=[day], groupBy=[{"name": "IntentStageName"}, {"name": "SwitchedToIntent"}], maxResults=20),
            "results",
        ),
        "list_intent_metrics": (
            dict(common, metrics=[{"name": n, "statistic": "Sum"} for n in ["Count", "Success", "Failure", "Switched", "Dropped"]],
                 binBy=[day], groupBy=[{"name": "IntentName"}, {"name": "IntentEndState"}, {"name": "IntentLevel"}],
                 filters=[{"name": "IntentEndState", "operator": "EQ", "values": ["Success", "Switched"]}], maxResults=20),
            "results",
        ),
        "list_utterance_metrics": (
            dict(common, metrics=[{"name": "Count", "statistic": "Sum", "order": "Descending"},
                                  {"name": "Missed", "statistic": "Sum"}, {"name": "Detected", "statistic": "Sum"},
                                  {"name": "UtteranceTimestamp", "statistic": "Max"}],
                 groupBy=[{"name": "UtteranceText"}, {"name": "UtteranceState"}],
                 attributes=[{"name": "LastUsedIntent"}], maxResults=20),
            "results",
        ),
        "list_utterance_analytics_data": (
            dict(common, sortBy={"name": "UtteranceTimestamp", "order": "Descending"},
                 filters=[{"name": "UtteranceState", "operator": "EQ", "values": ["Missed"]}], maxResults=50),
            "utterances",
        ),
    }
    for op, (args, key) in calls.items():
        pages, items, token = 0, 0, None
        while True:
            page = getattr(client, op)(**(dict(args, nextToken=token) if token else args))
            pages += 1
            items += len(page.get(key, []))
            token = page.get("nextToken")
            if not token:
                break
            if pages > 10_000:
                raise SystemExit(f"{op}: the page loop does not end")
        if items == 0:
            raise SystemExit(f"{op}: no {key} at all")
        print(f"{op}: {pages} pages, {items} {key}")
    # ListIntentPaths does not page: walk two levels from the root.
    root = client.list_intent_paths(**common, intentPath="/")["nodeSummaries"]
    if not root:
        raise SystemExit("list_intent_paths: no nodes at the root")
    below = client.list_intent_paths(**common, intentPath=root[0]["intentPath"],
                                     filters=[{"name": "Channel", "operator": "EQ", "values": ["Web", "Connect"]}])
    print(f"list_intent_paths: {len(root)} nodes at the root, {len(below['nodeSummaries'])} below {root[0]['intentPath']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
