//! The answer of a metrics field, resolved in one pass.
//!
//! A 30-day hourly series over four bots is ≈ 8 600 bins and ≈ 60 000 field
//! values. Resolved the general way, every field of every bin is a future
//! polled through async-graphql's machinery, which took ~70 % of the CPU of
//! such a request (BENCHMARKS.md). Nothing in a bin needs a future: its fields
//! are plain data. [`Bins`] reads the selection once into a [`Plan`] and
//! builds every bin's value from it in a loop. It is the same GraphQL type as
//! a list of the family's bin objects (same name, same schema); a selection
//! the plan does not cover (fragments, directives, arguments) goes the
//! general way, so the answer is the same in every case.

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ScalarType, ServerResult, Value,
};

use super::scalars::DateTimeScalar;
use super::types::{FamilyBin, GqlFamily};
use crate::domain::Bin;
use crate::engine::Engine;

/// The bins of one metrics answer, as a GraphQL list of the family's bin type.
pub struct Bins<F: GqlFamily>(pub Vec<Bin<F::Group, F::Metric>>);

impl<F: GqlFamily> OutputType for Bins<F> {
    fn type_name() -> Cow<'static, str> {
        <Vec<FamilyBin<F>> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<FamilyBin<F>> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<FamilyBin<F>> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        // The schema registers no extension that hooks field resolution
        // (graphql/mod.rs), so building values directly skips no hook.
        if let Some(plan) = Plan::of(&ctx.item.node) {
            let engine = ctx.data_unchecked::<Arc<Engine>>();
            return Ok(Value::List(
                self.0.iter().map(|b| plan.bin::<F>(engine, b)).collect(),
            ));
        }
        let general: Vec<FamilyBin<F>> = self.0.iter().cloned().map(FamilyBin::from).collect();
        OutputType::resolve(&general, ctx, field).await
    }
}

/// What to write for each bin: the selected fields, under their response keys.
struct Plan {
    bin: Vec<(Name, BinField)>,
}

enum BinField {
    Typename,
    Bot(Vec<(Name, BotField)>),
    BinStart,
    BinInterval,
    Groups(Vec<(Name, GroupField)>),
    Values(Vec<(Name, ValueField)>),
}

enum BotField {
    Typename,
    Id,
    Name,
    Vendor,
    VendorBotId,
}

enum GroupField {
    Typename,
    Field,
    Value,
}

enum ValueField {
    Typename,
    Metric,
    Statistic,
    Value,
}

/// The plain fields of a selection set: `(response key, name, sub-selection)`,
/// or `None` when anything else is in it.
fn plain_fields(set: &SelectionSet) -> Option<Vec<(Name, &str, &SelectionSet)>> {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) if f.node.directives.is_empty() && f.node.arguments.is_empty() => {
                let key = f.node.alias.as_ref().unwrap_or(&f.node.name).node.clone();
                Some((key, f.node.name.node.as_str(), &f.node.selection_set.node))
            }
            _ => None,
        })
        .collect()
}

fn leaves<T>(set: &SelectionSet, pick: impl Fn(&str) -> Option<T>) -> Option<Vec<(Name, T)>> {
    plain_fields(set)?
        .into_iter()
        .map(|(key, name, sub)| {
            if !sub.items.is_empty() {
                return None;
            }
            pick(name).map(|f| (key, f))
        })
        .collect()
}

impl Plan {
    fn of(set: &SelectionSet) -> Option<Plan> {
        let bin = plain_fields(set)?
            .into_iter()
            .map(|(key, name, sub)| {
                let field = match name {
                    "__typename" => BinField::Typename,
                    "binStart" => BinField::BinStart,
                    "binInterval" => BinField::BinInterval,
                    "bot" => BinField::Bot(leaves(sub, |n| match n {
                        "__typename" => Some(BotField::Typename),
                        "id" => Some(BotField::Id),
                        "name" => Some(BotField::Name),
                        "vendor" => Some(BotField::Vendor),
                        "vendorBotId" => Some(BotField::VendorBotId),
                        _ => None,
                    })?),
                    "groups" => BinField::Groups(leaves(sub, |n| match n {
                        "__typename" => Some(GroupField::Typename),
                        "field" => Some(GroupField::Field),
                        "value" => Some(GroupField::Value),
                        _ => None,
                    })?),
                    "values" => BinField::Values(leaves(sub, |n| match n {
                        "__typename" => Some(ValueField::Typename),
                        "metric" => Some(ValueField::Metric),
                        "statistic" => Some(ValueField::Statistic),
                        "value" => Some(ValueField::Value),
                        _ => None,
                    })?),
                    _ => return None,
                };
                Some((key, field))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Plan { bin })
    }

    fn bin<F: GqlFamily>(&self, engine: &Engine, b: &Bin<F::Group, F::Metric>) -> Value {
        let mut out = IndexMap::with_capacity(self.bin.len());
        for (key, field) in &self.bin {
            let v = match field {
                BinField::Typename => Value::String(F::BIN.to_owned()),
                BinField::BinStart => DateTimeScalar(b.bin_start).to_value(),
                BinField::BinInterval => b.bin_interval.map_or(Value::Null, enum_value),
                BinField::Bot(fields) => {
                    match b.bot_id.as_deref().and_then(|id| engine.bot_info(id)) {
                        None => Value::Null,
                        Some(bot) => {
                            let mut o = IndexMap::with_capacity(fields.len());
                            for (k, f) in fields {
                                let v = match f {
                                    BotField::Typename => Value::String("Bot".to_owned()),
                                    BotField::Id => Value::String(bot.id.clone()),
                                    BotField::Name => Value::String(bot.name.clone()),
                                    BotField::Vendor => enum_value(bot.vendor),
                                    BotField::VendorBotId => {
                                        Value::String(bot.vendor_bot_id.clone())
                                    }
                                };
                                o.insert(k.clone(), v);
                            }
                            Value::Object(o)
                        }
                    }
                }
                BinField::Groups(fields) => Value::List(
                    b.groups
                        .iter()
                        .map(|g| {
                            let mut o = IndexMap::with_capacity(fields.len());
                            for (k, f) in fields {
                                let v = match f {
                                    GroupField::Typename => Value::String(F::GROUP.to_owned()),
                                    GroupField::Field => enum_value(g.field),
                                    GroupField::Value => Value::String(g.value.clone()),
                                };
                                o.insert(k.clone(), v);
                            }
                            Value::Object(o)
                        })
                        .collect(),
                ),
                BinField::Values(fields) => Value::List(
                    b.values
                        .iter()
                        .map(|m| {
                            let mut o = IndexMap::with_capacity(fields.len());
                            for (k, f) in fields {
                                let v = match f {
                                    ValueField::Typename => Value::String(F::VALUE.to_owned()),
                                    ValueField::Metric => enum_value(m.metric),
                                    ValueField::Statistic => enum_value(m.statistic),
                                    ValueField::Value => m
                                        .value
                                        .and_then(async_graphql::Number::from_f64)
                                        .map_or(Value::Null, Value::Number),
                                };
                                o.insert(k.clone(), v);
                            }
                            Value::Object(o)
                        })
                        .collect(),
                ),
            };
            out.insert(key.clone(), v);
        }
        Value::Object(out)
    }
}
