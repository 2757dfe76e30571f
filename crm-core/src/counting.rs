//! What lead scoring ([`crate::scoring`]) counts a decided lead as, kept with the lead
//! ([`crate::Lead::counted_as`]): its outcome, its owner's team and its values of the
//! scoring fields then. Apart from the scoring itself so that a lead can hold it without
//! depending on how scores are computed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::team::Team;

/// A lead's property the predictive score learns from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The lead's source.
    Source,
    /// The e-mail's domain: `company`, `free_mail` or `none`.
    EmailKind,
    /// The phone's line: `mobile`, `landline`, `other` or `none`.
    PhoneKind,
    /// The phone's country (ISO 3166 code), or `none`.
    PhoneCountry,
    /// The script of the lead's name: `arabic`, `latin` or `other`.
    Language,
    /// Days since creation, bucketed: `0-1`, `2-7`, `8-30`, `31-90`, `90+`.
    Age,
    /// Interactions logged, bucketed: `0`, `1`, `2-3`, `4+`.
    Interactions,
    /// Whether the lead has an opportunity: `yes` or `no`.
    Opportunity,
}

impl Field {
    /// Every field, in the order features list them.
    pub const ALL: [Field; 8] = [
        Field::Source,
        Field::EmailKind,
        Field::PhoneKind,
        Field::PhoneCountry,
        Field::Language,
        Field::Age,
        Field::Interactions,
        Field::Opportunity,
    ];

    /// The field's stable name (`source`, `email_kind`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Source => "source",
            Field::EmailKind => "email_kind",
            Field::PhoneKind => "phone_kind",
            Field::PhoneCountry => "phone_country",
            Field::Language => "language",
            Field::Age => "age",
            Field::Interactions => "interactions",
            Field::Opportunity => "opportunity",
        }
    }

    /// The field named `name` ([`Field::as_str`]).
    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// How a lead's history ended, for the frequencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Converted.
    Won,
    /// Lost.
    Lost,
}

/// A lead's value of each scoring field it has, in field order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<(String, String)>")]
pub struct Features(Vec<(Field, String)>);

/// Read back from a store: a field this version does not know (written by a newer one) is
/// skipped, as the stored counts skip it, so the lead stays readable.
impl From<Vec<(String, String)>> for Features {
    fn from(values: Vec<(String, String)>) -> Self {
        Self::new((values.into_iter()).filter_map(|(f, v)| Field::parse(&f).map(|f| (f, v))))
    }
}

impl Features {
    /// Features with these values; for a field given twice, the last value.
    pub fn new(values: impl IntoIterator<Item = (Field, String)>) -> Self {
        let mut v: Vec<(Field, String)> = Vec::new();
        for (field, value) in values {
            v.retain(|(f, _)| *f != field);
            v.push((field, value));
        }
        v.sort_by_key(|(f, _)| *f);
        Self(v)
    }

    /// Each field and its value, in field order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        self.0.iter().map(|(f, v)| (*f, v.as_str()))
    }

    /// The value of `field`, if the lead has one.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
    }

    /// The same features without `field`.
    pub fn without(&self, field: Field) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(f, _)| *f != field)
                .cloned()
                .collect(),
        )
    }
}

/// What a decided lead was counted as in the frequencies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// Won (converted) or lost.
    pub outcome: Outcome,
    /// The team of its owner then, if teams are used.
    pub team: Option<Team>,
    /// Its features then.
    pub features: Features,
}

/// One part of a score, in points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// What the history says of a value.
    Learned {
        /// The field.
        field: Field,
        /// The lead's value.
        value: String,
        /// Its effect: the score with it, less the score without it.
        points: i32,
    },
    /// A rule's points.
    Rule {
        /// The field.
        field: Field,
        /// The value.
        value: String,
        /// The rule's points.
        points: i32,
    },
    /// The decay for the days without an interaction.
    Decay {
        /// Days since the last interaction (or creation).
        days: i64,
        /// Points taken (negative).
        points: i32,
    },
}

/// `p = logistic(scale * log_odds + shift)`, fitted on a history: naive Bayes sums each
/// field's evidence as if the fields were independent given the outcome, and measured on a
/// planted history its probabilities were too timid at both ends (predicted 75 %, won 87 %).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Stretches the log-odds (always positive: the ranking stays).
    pub scale: f64,
    /// Moves them.
    pub shift: f64,
}

// Always finite: `calibrate` keeps only a finite fit, so equality is an equivalence.
impl Eq for Calibration {}

impl Default for Calibration {
    fn default() -> Self {
        Self {
            scale: 1.0,
            shift: 0.0,
        }
    }
}

/// The key of the frequencies of all leads: every decided lead counts there, and in its
/// team's when it had one.
pub const ALL_TEAMS: &str = "";

/// The field name of a team's totals in its stored counts ([`CountChange::field`]).
pub(crate) const TOTAL: &str = "*";

/// What counting a lead that is being decided needs besides the lead: its owner's team and
/// its values of the scoring fields (`crate::scoring::features`), both as they are now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counting {
    /// Its values of the scoring fields.
    pub features: Features,
    /// Its owner's team, if teams are used.
    pub team: Option<Team>,
}

impl Counted {
    /// The frequencies it counts in: everyone's, and its team's.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(ALL_TEAMS).chain(self.team.as_ref().map(Team::as_str))
    }

    /// The changes that add it (`by` = 1) or take it out (`by` = -1).
    fn changes(&self, by: i64) -> impl Iterator<Item = CountChange> + '_ {
        let (won, lost) = match self.outcome {
            Outcome::Won => (by, 0),
            Outcome::Lost => (0, by),
        };
        self.keys().flat_map(move |team| {
            let total = (TOTAL, "");
            std::iter::once(total)
                .chain(self.features.iter().map(|(f, v)| (f.as_str(), v)))
                .map(move |(field, value)| CountChange {
                    team: team.to_owned(),
                    field: field.to_owned(),
                    value: value.to_owned(),
                    won,
                    lost,
                })
        })
    }
}

/// A change of one stored count: `won` and `lost` are added to the count of `value` of
/// `field` in `team`'s frequencies ([`ALL_TEAMS`] for everyone's; field `*` with an empty
/// value for the totals). A store keeps one row per `(team, field, value)`, created at the
/// first change, and returns them as they are ([`crate::scoring::Frequencies::from_counts`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CountChange {
    /// The team's name, or [`ALL_TEAMS`].
    pub team: String,
    /// The field's name ([`Field::as_str`]), or `*` for the totals.
    pub field: String,
    /// The value.
    pub value: String,
    /// Won leads added (negative: taken out).
    pub won: i64,
    /// Lost leads added (negative: taken out).
    pub lost: i64,
}

/// The count changes of a lead that was counted as `before` and is now counted as `after`
/// (either may be `None`: not decided, or decided before scoring existed), each count once.
pub fn recount(before: Option<&Counted>, after: Option<&Counted>) -> Vec<CountChange> {
    if before == after {
        return Vec::new();
    }
    let mut sum: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    let changes = (before.into_iter().flat_map(|c| c.changes(-1)))
        .chain(after.into_iter().flat_map(|c| c.changes(1)));
    for c in changes {
        let e = sum.entry((c.team, c.field, c.value)).or_default();
        e.0 += c.won;
        e.1 += c.lost;
    }
    sum.into_iter()
        .filter(|(_, n)| *n != (0, 0))
        .map(|((team, field, value), (won, lost))| CountChange {
            team,
            field,
            value,
            won,
            lost,
        })
        .collect()
}

/// One stored count of a team, as a store reads it back: `(field, value, won, lost)`.
pub type CountRow = (String, String, i64, i64);
