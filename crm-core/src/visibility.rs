//! Who sees which leads: the host's [`Visibility`] policy, turned for one employee into a
//! [`Scope`] that every store call reading leads filters on (in its SQL, so pages stay full
//! and counts stay right). A lead outside the acting employee's scope does not exist for
//! them: reading or changing it is `NotFound`, exactly as for a lead that does not exist.
//!
//! - `all` (the default): everyone in the directory sees every lead.
//! - `team`: an employee sees the leads owned by the members of their team; a manager those
//!   of the teams they lead and of their own team. Anyone in no team sees their own leads.
//! - `own`: sales staff and read-only staff see only the leads they own; a manager still
//!   sees the leads of the teams they lead (someone must, to reassign them).
//!
//! Everyone always sees the leads they own. What an employee may *do* to a lead they see is
//! [`crate::permissions::authorize`]'s.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::employee::{Employee, Role};
use crate::ids::EmployeeId;
use crate::team::Team;
use crate::text::parse_name;
use crate::validation::ValidationError;

/// The visibility policy the host chooses ([`crate::CrmBuilder::visibility`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everyone sees every lead.
    #[default]
    All,
    /// Employees see their team's leads; managers their teams'.
    Team,
    /// Employees see their own leads; managers their teams'.
    Own,
}

impl Visibility {
    /// Every policy.
    pub const ALL: [Visibility; 3] = [Visibility::All, Visibility::Team, Visibility::Own];

    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::All => "all",
            Visibility::Team => "team",
            Visibility::Own => "own",
        }
    }
}

impl FromStr for Visibility {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_name("visibility", s, &Self::ALL, Self::as_str, "all, team, own")
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The leads one employee sees: all of them, or those owned by one of a set of employees.
/// Stores filter on it in the query itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every lead.
    #[default]
    All,
    /// The leads owned by these employees (none when empty).
    Owners(BTreeSet<EmployeeId>),
}

impl Scope {
    /// Whether a lead owned by `owner` is in scope (the reference stores must match).
    pub fn admits(&self, owner: EmployeeId) -> bool {
        match self {
            Scope::All => true,
            Scope::Owners(o) => o.contains(&owner),
        }
    }

    /// The owners in scope, or `None` for every lead.
    pub fn owners(&self) -> Option<&BTreeSet<EmployeeId>> {
        match self {
            Scope::All => None,
            Scope::Owners(o) => Some(o),
        }
    }
}

/// What an employee's scope depends on under `policy`: `None` when they see every lead,
/// else the teams whose members' leads they see (possibly none: then only their own).
pub fn teams_in_view(policy: Visibility, actor: &Employee) -> Option<BTreeSet<Team>> {
    let led = || actor.manages.iter().cloned();
    match (policy, actor.role) {
        (Visibility::All, _) => None,
        (Visibility::Team, Role::Manager) => Some(led().chain(actor.team.clone()).collect()),
        (Visibility::Team, _) => Some(actor.team.iter().cloned().collect()),
        (Visibility::Own, Role::Manager) => Some(led().collect()),
        (Visibility::Own, _) => Some(BTreeSet::new()),
    }
}

/// The scope of `actor` under `policy`, given the members of the teams of
/// [`teams_in_view`] (`members`: every employee whose team is one of them, as the directory
/// returned them). Everyone sees their own leads.
pub fn scope(policy: Visibility, actor: &Employee, members: &[Employee]) -> Scope {
    let Some(teams) = teams_in_view(policy, actor) else {
        return Scope::All;
    };
    let mut owners: BTreeSet<EmployeeId> = members
        .iter()
        .filter(|m| m.team.as_ref().is_some_and(|t| teams.contains(t)))
        .map(|m| m.id)
        .collect();
    owners.insert(actor.id);
    Scope::Owners(owners)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::Name;

    fn id(n: i64) -> EmployeeId {
        EmployeeId::new(n).unwrap()
    }
    fn team(s: &str) -> Team {
        Team::parse(s).unwrap()
    }
    fn emp(n: i64, role: Role, t: Option<&str>) -> Employee {
        let e = Employee::new(id(n), Name::parse("E").unwrap(), role);
        match t {
            Some(t) => e.in_team(team(t)),
            None => e,
        }
    }

    fn staff() -> Vec<Employee> {
        vec![
            emp(1, Role::Sales, Some("east")),
            emp(2, Role::Sales, Some("east")),
            emp(3, Role::Sales, Some("west")),
            emp(4, Role::Other, Some("east")),
            emp(5, Role::Manager, None).leading(team("west")),
            emp(6, Role::Sales, None),
        ]
    }

    fn seen(policy: Visibility, who: i64) -> Scope {
        let staff = staff();
        let me = staff.iter().find(|e| e.id == id(who)).unwrap();
        scope(policy, me, &staff)
    }

    fn owners(ids: &[i64]) -> Scope {
        Scope::Owners(ids.iter().map(|n| id(*n)).collect())
    }

    #[test]
    fn all_sees_everything() {
        for who in 1..=6 {
            assert_eq!(seen(Visibility::All, who), Scope::All);
        }
    }

    #[test]
    fn team_sees_the_team_and_managers_their_teams() {
        assert_eq!(seen(Visibility::Team, 1), owners(&[1, 2, 4]));
        assert_eq!(seen(Visibility::Team, 4), owners(&[1, 2, 4]));
        assert_eq!(seen(Visibility::Team, 3), owners(&[3]));
        assert_eq!(seen(Visibility::Team, 5), owners(&[3, 5]));
        assert_eq!(seen(Visibility::Team, 6), owners(&[6]));
    }

    #[test]
    fn own_sees_own_and_managers_still_their_teams() {
        assert_eq!(seen(Visibility::Own, 1), owners(&[1]));
        assert_eq!(seen(Visibility::Own, 4), owners(&[4]));
        assert_eq!(seen(Visibility::Own, 5), owners(&[3, 5]));
    }

    #[test]
    fn members_outside_the_teams_in_view_are_ignored() {
        // A directory that returns too much (e.g. every employee) widens nothing.
        let staff = staff();
        assert_eq!(scope(Visibility::Own, &staff[0], &staff), owners(&[1]));
    }

    #[test]
    fn policies_parse_by_name() {
        for v in Visibility::ALL {
            assert_eq!(v.as_str().parse::<Visibility>(), Ok(v));
        }
        assert!("everyone".parse::<Visibility>().is_err());
        assert_eq!(" TEAM ".parse::<Visibility>(), Ok(Visibility::Team));
    }

    #[test]
    fn scope_admits_only_its_owners() {
        assert!(Scope::All.admits(id(9)));
        assert!(owners(&[1]).admits(id(1)));
        assert!(!owners(&[1]).admits(id(2)));
        assert!(!owners(&[]).admits(id(1)));
    }
}
