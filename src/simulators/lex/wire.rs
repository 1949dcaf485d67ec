//! The Lex wire format as the service sees it: request bodies, error encoding,
//! and validation messages in the service's `N validation error(s) detected`
//! style (lex.md §0.3, §0.9, §6).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// An error answer: status, `x-amzn-ErrorType` code and message.
#[derive(Debug, Clone)]
pub struct LexError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For throttling: the `x-amz-retry-after` hint in milliseconds.
    pub retry_after_ms: Option<u64>,
}

impl LexError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        LexError {
            status,
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        LexError::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }

    pub fn throttling(retry_after_ms: u64) -> Self {
        LexError {
            retry_after_ms: Some(retry_after_ms),
            ..LexError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottlingException",
                "Rate exceeded",
            )
        }
    }

    pub fn internal() -> Self {
        LexError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "An internal error occurred. Try your request again.",
        )
    }
}

impl IntoResponse for LexError {
    fn into_response(self) -> Response {
        // Header and `__type` both carry the code: the safest encoding for both
        // SDKs (lex.md §0.3, §6.2).
        let body = serde_json::json!({ "__type": self.code, "message": self.message });
        let mut resp = (self.status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            h.insert("x-amzn-RequestId", v);
        }
        if let Some(ms) = self.retry_after_ms {
            // `Retry-After` must be an integer (lex.md §0.5); the Rust SDK only
            // honours `x-amz-retry-after` in milliseconds (§6.3).
            let secs = ms.div_ceil(1000).max(1);
            h.insert("Retry-After", HeaderValue::from(secs));
            h.insert("x-amz-retry-after", HeaderValue::from(ms));
        }
        resp
    }
}

/// Collects constraint violations, then reports them all at once.
#[derive(Default)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn add(&mut self, msg: String) {
        self.0.push(msg);
    }

    pub fn required<T>(&mut self, v: &Option<T>, at: &str) {
        if v.is_none() {
            self.add(format!(
                "Value null at '{at}' failed to satisfy constraint: Member must not be null"
            ));
        }
    }

    pub fn one_of(&mut self, v: &Option<String>, at: &str, allowed: &[&str]) {
        match v {
            None => self.required(v, at),
            Some(s) if !allowed.contains(&s.as_str()) => self.add(format!(
                "Value '{s}' at '{at}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            )),
            Some(_) => {}
        }
    }

    pub fn opt_one_of(&mut self, v: &Option<String>, at: &str, allowed: &[&str]) {
        if v.is_some() {
            self.one_of(v, at, allowed);
        }
    }

    pub fn list_len<T>(&mut self, v: &Option<Vec<T>>, at: &str, min: usize, max: usize) {
        if let Some(l) = v
            && (l.len() < min || l.len() > max)
        {
            let c = if l.len() < min {
                format!("greater than or equal to {min}")
            } else {
                format!("less than or equal to {max}")
            };
            self.add(format!(
                "Value '{}' at '{at}' failed to satisfy constraint: Member must have length {c}",
                l.len()
            ));
        }
    }

    pub fn finish(self) -> Result<(), LexError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let n = self.0.len();
        let s = if n == 1 { "error" } else { "errors" };
        Err(LexError::validation(format!(
            "{n} validation {s} detected: {}",
            self.0.join("; ")
        )))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub name: Option<String>,
    pub operator: Option<String>,
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct SortBy {
    pub name: Option<String>,
    pub order: Option<String>,
}

/// The body of ListSessionAnalyticsData and of ListUtteranceAnalyticsData:
/// the model gives both the same members (their `sortBy` names differ).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsDataRequest {
    pub start_date_time: Option<f64>,
    pub end_date_time: Option<f64>,
    pub sort_by: Option<SortBy>,
    pub filters: Option<Vec<Filter>>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Metric {
    pub name: Option<String>,
    pub statistic: Option<String>,
    pub order: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct BinBy {
    pub name: Option<String>,
    pub interval: Option<String>,
    pub order: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct GroupBy {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsRequest {
    pub start_date_time: Option<f64>,
    pub end_date_time: Option<f64>,
    pub metrics: Option<Vec<Metric>>,
    pub bin_by: Option<Vec<BinBy>>,
    pub group_by: Option<Vec<GroupBy>>,
    pub filters: Option<Vec<Filter>>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

impl MetricsRequest {
    /// The (name, statistic) of each metric asked, in order.
    pub fn metric_names(&self) -> Vec<(String, String)> {
        self.metrics
            .iter()
            .flatten()
            .map(|m| {
                (
                    m.name.clone().unwrap_or_default(),
                    m.statistic.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// The `groupBy` field names, in order.
    pub fn group_names(&self) -> Vec<String> {
        self.group_by
            .iter()
            .flatten()
            .filter_map(|g| g.name.clone())
            .collect()
    }
}

pub const SORT_ORDERS: &[&str] = &["Ascending", "Descending"];
pub const STATISTICS: &[&str] = &["Sum", "Avg", "Max"];
pub const INTERVALS: &[&str] = &["OneHour", "OneDay"];
pub const BIN_BY_NAMES: &[&str] = &["ConversationStartTime", "UtteranceTimestamp"];
pub const OPERATORS: &[&str] = &["EQ", "GT", "LT"];
pub const MODALITIES: &[&str] = &["Speech", "Text", "DTMF", "MultiMode"];
pub const END_STATES: &[&str] = &["Success", "Failure", "Dropped"];

/// Parses the body; a malformed body is a `SerializationException`-like 400.
pub fn parse_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, LexError> {
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| {
        LexError::new(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            e.to_string(),
        )
    })
}

/// An epoch-seconds number (integer or fraction, lex.md §3) as a UTC instant,
/// to the millisecond.
pub fn instant(secs: f64) -> Option<DateTime<Utc>> {
    if !secs.is_finite() {
        return None;
    }
    DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
}

/// A UTC instant as an epoch-seconds JSON number, keeping milliseconds.
pub fn epoch_number(t: DateTime<Utc>) -> serde_json::Value {
    let ms = t.timestamp_millis();
    if ms % 1000 == 0 {
        serde_json::Value::from(ms / 1000)
    } else {
        serde_json::Value::from(ms as f64 / 1000.0)
    }
}

/// Validates the common members: range, page size and token, filter list.
pub fn check_common(
    v: &mut Violations,
    start: Option<f64>,
    end: Option<f64>,
    max_results: Option<i64>,
    filters: &Option<Vec<Filter>>,
    max_filters: usize,
    filter_names: &[&str],
) {
    v.required(&start, "startDateTime");
    v.required(&end, "endDateTime");
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        v.add(format!(
            "Value '{e}' at 'endDateTime' failed to satisfy constraint: endDateTime must not be before startDateTime"
        ));
    }
    if let Some(m) = max_results
        && !(1..=1000).contains(&m)
    {
        let c = if m < 1 {
            "greater than or equal to 1"
        } else {
            "less than or equal to 1000"
        };
        v.add(format!(
            "Value '{m}' at 'maxResults' failed to satisfy constraint: Member must have value {c}"
        ));
    }
    v.list_len(filters, "filters", 1, max_filters);
    // What a repeated filter name means (AND? OR?) is undocumented (lex.md
    // §11); the least forgiving reading refuses it.
    let mut names_seen: Vec<&str> = Vec::new();
    for f in filters.iter().flatten() {
        if let Some(name) = f.name.as_deref() {
            if names_seen.contains(&name) {
                v.add(format!(
                    "Filter name {name} appears more than once in 'filters'; each filter name may be used once"
                ));
            }
            names_seen.push(name);
        }
    }
    for (i, f) in filters.iter().flatten().enumerate() {
        let at = format!("filters.{}.member", i + 1);
        v.one_of(&f.name, &format!("{at}.name"), filter_names);
        v.one_of(&f.operator, &format!("{at}.operator"), OPERATORS);
        v.required(&f.values, &format!("{at}.values"));
        v.list_len(&f.values, &format!("{at}.values"), 1, 5);
        // Operators per filter name, as the docs text lists them (lex.md §5).
        if let (Some(name), Some(op)) = (&f.name, &f.operator) {
            if op != "EQ" && name != "Duration" && OPERATORS.contains(&op.as_str()) {
                v.add(format!(
                    "Value '{op}' at '{at}.operator' is not supported for filter {name}; use EQ"
                ));
            }
            if op != "EQ" && f.values.as_ref().is_some_and(|l| l.len() != 1) {
                v.add(format!("Operator {op} at '{at}' takes exactly one value"));
            }
            if name == "Duration" {
                for val in f.values.iter().flatten() {
                    if duration_secs(val).is_none() {
                        v.add(format!(
                            "Value '{val}' at '{at}.values' is not a duration in seconds"
                        ));
                    }
                }
            }
            if name == "Modality" {
                for val in f.values.iter().flatten() {
                    if !MODALITIES.contains(&val.as_str()) {
                        v.add(format!(
                            "Value '{val}' at '{at}.values' must be one of [{}]",
                            MODALITIES.join(", ")
                        ));
                    }
                }
            }
        }
    }
}

/// `sortBy`, when given: one of `names`, in one of the `SORT_ORDERS`.
pub fn check_sort_by(v: &mut Violations, sort_by: &Option<SortBy>, names: &[&str]) {
    if let Some(s) = sort_by {
        v.one_of(&s.name, "sortBy.name", names);
        v.one_of(&s.order, "sortBy.order", SORT_ORDERS);
    }
}

/// The guide's range rules (lex.md §11, "Filtering results"): "The start date
/// must be within the last 365 days from the current date. The end date must
/// not be more than 1 month after the start date." A month is a calendar month
/// (31 January + 1 month = the end of February), the strictest reading.
pub fn check_range_rules(
    v: &mut Violations,
    start: Option<f64>,
    end: Option<f64>,
    now: DateTime<Utc>,
) {
    let (Some(start), Some(end)) = (start.and_then(instant), end.and_then(instant)) else {
        return;
    };
    let oldest = now - chrono::Duration::days(365);
    if start < oldest {
        v.add(format!(
            "Value '{}' at 'startDateTime' failed to satisfy constraint: the start date must be within the last 365 days",
            start.timestamp()
        ));
    }
    let limit = start.checked_add_months(chrono::Months::new(1));
    if limit.is_none_or(|limit| end > limit) {
        v.add(format!(
            "Value '{}' at 'endDateTime' failed to satisfy constraint: the end date must not be more than 1 month after the start date",
            end.timestamp()
        ));
    }
}

/// A `Duration` filter value in whole seconds: `"30"` or `"30 sec"`.
pub fn duration_secs(v: &str) -> Option<i64> {
    let v = v.trim();
    let v = v
        .strip_suffix("sec")
        .or_else(|| v.strip_suffix('s'))
        .unwrap_or(v)
        .trim();
    v.parse().ok()
}

/// The page of `len` items a token and page size select, and the next token.
pub fn page(
    len: usize,
    token: &Option<String>,
    max_results: Option<i64>,
) -> Result<(std::ops::Range<usize>, Option<String>), LexError> {
    let from = match token {
        None => 0,
        Some(t) => t
            .strip_prefix("sim1.")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= len)
            .ok_or_else(|| LexError::validation("The nextToken is not valid"))?,
    };
    let size = max_results.unwrap_or(10).clamp(1, 1000) as usize;
    let to = (from + size).min(len);
    let next = (to < len).then(|| format!("sim1.{to}"));
    Ok((from..to, next))
}

/// One page of an answer: its `items` under `key`, and the `nextToken` that
/// asks for the next page, if there is one.
pub fn page_answer(key: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut out = serde_json::Map::new();
    out.insert(key.to_owned(), items.into());
    if let Some(t) = next {
        out.insert("nextToken".to_owned(), t.into());
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_values_are_whole_seconds() {
        assert_eq!(duration_secs("30"), Some(30));
        assert_eq!(duration_secs("30 sec"), Some(30));
        assert_eq!(duration_secs("30s"), Some(30));
        assert_eq!(duration_secs("half a minute"), None);
    }

    #[test]
    fn pages_end_without_a_token_and_reject_foreign_tokens() {
        let (r, next) = page(25, &None, Some(10)).unwrap();
        assert_eq!((r, next.as_deref()), (0..10, Some("sim1.10")));
        let (r, next) = page(25, &Some("sim1.20".into()), Some(10)).unwrap();
        assert_eq!((r, next), (20..25, None));
        assert!(page(25, &Some("bogus".into()), None).is_err());
        assert!(page(25, &Some("sim1.26".into()), None).is_err());
    }

    #[test]
    fn timestamps_keep_milliseconds_as_a_fraction() {
        let t = DateTime::from_timestamp_millis(1_700_000_000_250).unwrap();
        assert_eq!(epoch_number(t).to_string(), "1700000000.25");
        assert_eq!(instant(1_700_000_000.25), Some(t));
        let whole = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(epoch_number(whole).to_string(), "1700000000");
    }
}
