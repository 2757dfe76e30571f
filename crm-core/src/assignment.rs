//! The assignment rules: who gets a lead created without an owner, and who gets the open
//! leads of an employee who leaves. A rule picks among the active sales staff of a team,
//! by `round-robin` (each in turn, by id) or `least-open` (whoever owns the fewest open
//! leads; ties go round the same rotation), for every source or for one.
//!
//! The rotation is stored: each rule remembers whom it gave the last lead to, keyed by
//! [`AssignmentRule::rotation_key`], and a store takes a [`Turn`] only if that is still
//! the last one (compare and set, in the same transaction as the lead). Two concurrent
//! creates therefore never take the same turn: the second is refused as busy and decides
//! again from the new state. A restart continues where the rotation stood.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::employee::{Employee, Role};
use crate::ids::{EmployeeId, LeadId};
use crate::source::Source;
use crate::team::Team;
use crate::validation::ValidationError;

/// How a rule picks among the team's active sales staff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Each in turn, by employee id.
    RoundRobin,
    /// Whoever owns the fewest open leads; ties in turn.
    LeastOpen,
}

impl Strategy {
    /// The stable name: `round-robin`, `least-open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round-robin",
            Strategy::LeastOpen => "least-open",
        }
    }
}

impl FromStr for Strategy {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "round-robin" => Ok(Strategy::RoundRobin),
            "least-open" => Ok(Strategy::LeastOpen),
            _ => Err(ValidationError::UnknownName {
                kind: "assignment rule",
                value: s.chars().take(40).collect(),
                expected: "round-robin, least-open",
            }),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One assignment rule: a strategy over a team's active sales staff, for one source or
/// (without one) every source no other rule names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentRule {
    /// How to pick.
    pub strategy: Strategy,
    /// Among whom.
    pub team: Team,
    /// For leads from this source only.
    pub source: Option<Source>,
}

impl AssignmentRule {
    /// The key its rotation is stored under: the source (or `*`) and the team. A source is a
    /// slug without `:`, so no two rules share a key.
    pub fn rotation_key(&self) -> String {
        let source = self.source.as_ref().map_or("*", Source::as_str);
        format!("{source}:{}", self.team)
    }
}

impl FromStr for AssignmentRule {
    type Err = ValidationError;
    /// `STRATEGY:TEAM` for every source, `SOURCE=STRATEGY:TEAM` for one: `round-robin:riyadh`,
    /// `web=least-open:فريق جدة`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ValidationError::InvalidId {
            kind: "assignment rule (STRATEGY:TEAM or SOURCE=STRATEGY:TEAM)",
            value: s.chars().take(80).collect(),
        };
        let (source, rest) = match s.split_once('=') {
            Some((src, rest)) => (Some(Source::parse(src)?), rest),
            None => (None, s),
        };
        let (strategy, team) = rest.split_once(':').ok_or_else(bad)?;
        Ok(Self {
            strategy: strategy.parse()?,
            team: Team::parse(team)?,
            source,
        })
    }
}

impl fmt::Display for AssignmentRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.source {
            write!(f, "{s}=")?;
        }
        write!(f, "{}:{}", self.strategy, self.team)
    }
}

/// The host's assignment rules: at most one per source and one for every other source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentRules(Vec<AssignmentRule>);

impl AssignmentRules {
    /// The rules, refused when two name the same source (or none).
    pub fn new(rules: impl IntoIterator<Item = AssignmentRule>) -> Result<Self, ValidationError> {
        let rules: Vec<AssignmentRule> = rules.into_iter().collect();
        let mut seen = BTreeSet::new();
        for r in &rules {
            if !seen.insert(r.source.clone()) {
                return Err(ValidationError::RepeatedRule {
                    what: r
                        .source
                        .as_ref()
                        .map_or("every other source".into(), |s| format!("source {s}")),
                });
            }
        }
        Ok(Self(rules))
    }

    /// The rule for a lead from `source`: the one naming it, else the one for every source.
    pub fn for_source(&self, source: &Source) -> Option<&AssignmentRule> {
        self.0
            .iter()
            .find(|r| r.source.as_ref() == Some(source))
            .or_else(|| self.0.iter().find(|r| r.source.is_none()))
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A turn of a rule's rotation: give the lead to `owner`, provided the rule's last lead
/// still went to `after` (`None`: the rule never gave one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// [`AssignmentRule::rotation_key`].
    pub rule: String,
    /// Whom the rule gave its last lead to, as read.
    pub after: Option<EmployeeId>,
    /// Whom this turn gives the lead to.
    pub owner: EmployeeId,
}

/// The employees a rule may give leads to: the active sales staff of `team` among
/// `members`, by id.
pub fn candidates(members: &[Employee], team: &Team) -> Vec<EmployeeId> {
    let mut v: Vec<EmployeeId> = members
        .iter()
        .filter(|e| e.active && e.role == Role::Sales && e.team.as_ref() == Some(team))
        .map(|e| e.id)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Picks from `candidates` (by id) the next after `last`: round-robin takes the first
/// candidate after `last` in id order, wrapping around; least-open takes, among those with
/// the fewest open leads (`open`; missing means none), the first in that same order.
pub fn pick(
    strategy: Strategy,
    candidates: &[EmployeeId],
    last: Option<EmployeeId>,
    open: &BTreeMap<EmployeeId, u64>,
) -> Option<EmployeeId> {
    let start = last.map_or(0, |l| candidates.partition_point(|c| *c <= l));
    let mut order = candidates[start..]
        .iter()
        .chain(&candidates[..start])
        .copied();
    match strategy {
        Strategy::RoundRobin => order.next(),
        Strategy::LeastOpen => {
            let count = |e: &EmployeeId| open.get(e).copied().unwrap_or(0);
            // `min_by_key` keeps the first of equal keys: ties go in rotation order.
            order.min_by_key(count)
        }
    }
}

/// The next turn of `rule` for a new lead: `members` are the rule team's members as the
/// directory gave them, `last` the stored rotation, `open` the candidates' open leads
/// (needed by least-open only).
pub fn next_turn(
    rule: &AssignmentRule,
    members: &[Employee],
    last: Option<EmployeeId>,
    open: &BTreeMap<EmployeeId, u64>,
) -> Result<Turn, ValidationError> {
    let owner =
        pick(rule.strategy, &candidates(members, &rule.team), last, open).ok_or_else(|| {
            ValidationError::NoActiveSales {
                team: rule.team.to_string(),
            }
        })?;
    Ok(Turn {
        rule: rule.rotation_key(),
        after: last,
        owner,
    })
}

/// Spreads `leads` (in the order given) over `candidates` (by id) with `strategy`:
/// round-robin from the first candidate; least-open counting each lead given as one more
/// open lead of its new owner. `None` when there is no candidate.
pub fn plan_reassignment(
    strategy: Strategy,
    leads: &[LeadId],
    candidates: &[EmployeeId],
    open: &BTreeMap<EmployeeId, u64>,
) -> Option<Vec<(LeadId, EmployeeId)>> {
    let mut open = open.clone();
    let mut last = None;
    let mut plan = Vec::with_capacity(leads.len());
    for lead in leads {
        let to = pick(strategy, candidates, last, &open)?;
        *open.entry(to).or_insert(0) += 1;
        last = Some(to);
        plan.push((*lead, to));
    }
    Some(plan)
}

/// The team whose active sales staff take over the open leads of `leaving` (an employee
/// who leaves): the one named, else their own.
pub fn takeover_team(leaving: &Employee, named: Option<Team>) -> Result<Team, ValidationError> {
    named
        .or_else(|| leaving.team.clone())
        .ok_or(ValidationError::NoTeam {
            employee: leaving.id.get(),
        })
}

/// Plans giving `leads` of `leaving` to the active sales staff of `team` among `members`
/// other than `leaving`, by `strategy` ([`plan_reassignment`]; `open`: the members' open
/// leads). Nothing to give is an empty plan; leads and nobody to take them is refused.
pub fn plan_takeover(
    strategy: Strategy,
    leaving: EmployeeId,
    team: &Team,
    members: &[Employee],
    leads: &[LeadId],
    open: &BTreeMap<EmployeeId, u64>,
) -> Result<Vec<(LeadId, EmployeeId)>, ValidationError> {
    let mut to = candidates(members, team);
    to.retain(|e| *e != leaving);
    match plan_reassignment(strategy, leads, &to, open) {
        Some(plan) => Ok(plan),
        None if leads.is_empty() => Ok(Vec::new()),
        None => Err(ValidationError::NoActiveSales {
            team: team.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::Name;
    use proptest::prelude::{prop_assert, prop_assert_eq, proptest};

    fn id(n: i64) -> EmployeeId {
        EmployeeId::new(n).unwrap()
    }
    fn ids(v: &[i64]) -> Vec<EmployeeId> {
        v.iter().map(|n| id(*n)).collect()
    }

    #[test]
    fn round_robin_goes_round_by_id() {
        let c = ids(&[2, 5, 9]);
        let none = BTreeMap::new();
        let rr = |last| pick(Strategy::RoundRobin, &c, last, &none);
        assert_eq!(rr(None), Some(id(2)));
        assert_eq!(rr(Some(id(2))), Some(id(5)));
        assert_eq!(rr(Some(id(5))), Some(id(9)));
        assert_eq!(rr(Some(id(9))), Some(id(2)));
        // A last owner who left the team: the next one after them by id.
        assert_eq!(rr(Some(id(6))), Some(id(9)));
        assert_eq!(rr(Some(id(99))), Some(id(2)));
        assert_eq!(pick(Strategy::RoundRobin, &[], None, &none), None);
    }

    #[test]
    fn least_open_takes_the_fewest_and_ties_in_turn() {
        let c = ids(&[2, 5, 9]);
        let open: BTreeMap<_, _> = [(id(2), 3), (id(5), 1), (id(9), 1)].into();
        assert_eq!(pick(Strategy::LeastOpen, &c, None, &open), Some(id(5)));
        assert_eq!(
            pick(Strategy::LeastOpen, &c, Some(id(5)), &open),
            Some(id(9))
        );
        assert_eq!(
            pick(Strategy::LeastOpen, &c, Some(id(9)), &open),
            Some(id(5))
        );
        // No open leads recorded is none.
        assert_eq!(
            pick(Strategy::LeastOpen, &c, Some(id(2)), &BTreeMap::new()),
            Some(id(5))
        );
    }

    #[test]
    fn only_active_sales_of_the_team_are_candidates() {
        let team = Team::parse("east").unwrap();
        let e = |n, role| Employee::new(id(n), Name::parse("E").unwrap(), role);
        let members = vec![
            e(3, Role::Sales).in_team(team.clone()),
            e(1, Role::Sales).in_team(team.clone()).inactive(),
            e(2, Role::Manager).in_team(team.clone()),
            e(4, Role::Other).in_team(team.clone()),
            e(5, Role::Sales).in_team(Team::parse("west").unwrap()),
            e(6, Role::Sales).in_team(team.clone()),
        ];
        assert_eq!(candidates(&members, &team), ids(&[3, 6]));
        let rule = AssignmentRule {
            strategy: Strategy::RoundRobin,
            team: Team::parse("west").unwrap(),
            source: None,
        };
        assert_eq!(
            next_turn(&rule, &members[..4], None, &BTreeMap::new()),
            Err(ValidationError::NoActiveSales {
                team: "west".into()
            })
        );
    }

    #[test]
    fn rules_parse_and_one_per_source() {
        let r: AssignmentRule = "web=least-open:فريق جدة".parse().unwrap();
        assert_eq!(r.strategy, Strategy::LeastOpen);
        assert_eq!(r.source, Some(Source::web()));
        assert_eq!(r.to_string(), "web=least-open:فريق جدة");
        assert_eq!(r.rotation_key(), "web:فريق جدة");
        let d: AssignmentRule = "round-robin:Riyadh".parse().unwrap();
        assert_eq!(d.rotation_key(), "*:riyadh");
        assert!("round-robin".parse::<AssignmentRule>().is_err());
        assert!("fastest:riyadh".parse::<AssignmentRule>().is_err());
        let rules = AssignmentRules::new([r.clone(), d.clone()]).unwrap();
        assert_eq!(rules.for_source(&Source::web()), Some(&r));
        assert_eq!(rules.for_source(&Source::phone()), Some(&d));
        assert!(AssignmentRules::new([d.clone(), d]).is_err());
        assert_eq!(AssignmentRules::default().for_source(&Source::web()), None);
    }

    #[test]
    fn a_takeover_goes_to_the_rest_of_the_team() {
        let east = Team::parse("east").unwrap();
        let e = |n| Employee::new(id(n), Name::parse("E").unwrap(), Role::Sales);
        let leaving = e(1).in_team(east.clone());
        assert_eq!(takeover_team(&leaving, None), Ok(east.clone()));
        let west = Team::parse("west").unwrap();
        assert_eq!(takeover_team(&e(9), Some(west.clone())), Ok(west));
        assert_eq!(
            takeover_team(&e(9), None),
            Err(ValidationError::NoTeam { employee: 9 })
        );
        let members = vec![
            leaving.clone(),
            e(2).in_team(east.clone()),
            e(3).in_team(east.clone()),
        ];
        let leads: Vec<LeadId> = (0..3).map(|_| LeadId::new_at(chrono::Utc::now())).collect();
        let plan = plan_takeover(
            Strategy::RoundRobin,
            id(1),
            &east,
            &members,
            &leads,
            &BTreeMap::new(),
        )
        .unwrap();
        let owners: Vec<EmployeeId> = plan.iter().map(|(_, o)| *o).collect();
        assert_eq!(owners, ids(&[2, 3, 2]));
        // Alone in the team: nobody to take them, unless there is nothing to take.
        let alone = &members[..1];
        assert!(matches!(
            plan_takeover(
                Strategy::LeastOpen,
                id(1),
                &east,
                alone,
                &leads,
                &BTreeMap::new()
            ),
            Err(ValidationError::NoActiveSales { .. })
        ));
        assert_eq!(
            plan_takeover(
                Strategy::LeastOpen,
                id(1),
                &east,
                alone,
                &[],
                &BTreeMap::new()
            ),
            Ok(vec![])
        );
    }

    proptest! {
        /// Round-robin over n turns gives each candidate n / k or n / k + 1 leads, and
        /// never the same one twice in a row (with two or more candidates).
        #[test]
        fn round_robin_is_fair(raw in proptest::collection::btree_set(1i64..50, 1..6), n in 0usize..40) {
            let c: Vec<EmployeeId> = raw.iter().map(|n| id(*n)).collect();
            let mut last = None;
            let mut count: BTreeMap<EmployeeId, usize> = BTreeMap::new();
            for _ in 0..n {
                let next = pick(Strategy::RoundRobin, &c, last, &BTreeMap::new()).unwrap();
                prop_assert!(c.len() == 1 || Some(next) != last);
                *count.entry(next).or_default() += 1;
                last = Some(next);
            }
            for e in &c {
                let got = count.get(e).copied().unwrap_or(0);
                prop_assert!(got == n / c.len() || got == n / c.len() + 1);
            }
        }

        /// Least-open planning never leaves two candidates more than one lead apart once
        /// it has evened them out, and always picks someone with the fewest.
        #[test]
        fn least_open_evens_out(
            start in proptest::collection::vec(0u64..5, 1..5),
            n in 0usize..30,
        ) {
            let c: Vec<EmployeeId> = (1..=start.len() as i64).map(id).collect();
            let open: BTreeMap<_, _> = c.iter().copied().zip(start.iter().copied()).collect();
            let leads: Vec<LeadId> = (0..n).map(|_| LeadId::new_at(chrono::Utc::now())).collect();
            let plan = plan_reassignment(Strategy::LeastOpen, &leads, &c, &open).unwrap();
            let mut now = open.clone();
            for (_, to) in &plan {
                let min = now.values().copied().min().unwrap();
                prop_assert_eq!(now[to], min);
                *now.get_mut(to).unwrap() += 1;
            }
        }
    }
}
