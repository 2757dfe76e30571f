//! Employees as the host's employee system describes them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::contact::Name;
use crate::ids::EmployeeId;
use crate::team::Team;
use crate::validation::ValidationError;

/// An employee's role, which decides what they may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sales staff: create and work leads.
    Sales,
    /// Management: everything sales may do, plus reassigning and reopening.
    Manager,
    /// Anyone else: read only.
    Other,
}

impl Role {
    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sales => "sales",
            Role::Manager => "manager",
            Role::Other => "other",
        }
    }
}

impl FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sales" => Ok(Role::Sales),
            "manager" | "management" => Ok(Role::Manager),
            "other" => Ok(Role::Other),
            _ => Err(ValidationError::UnknownName {
                kind: "role",
                value: s.chars().take(40).collect(),
                expected: "sales, manager, other",
            }),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An employee record from the host's employee directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    /// The host's id.
    pub id: EmployeeId,
    /// Display name.
    pub name: Name,
    /// What they may do.
    pub role: Role,
    /// Inactive employees only read, and cannot be made responsible for leads.
    pub active: bool,
    /// The team they belong to, if any: under the `team` visibility policy they see its
    /// leads, and the assignment rules of the team pick among its active sales staff.
    #[serde(default)]
    pub team: Option<Team>,
    /// The teams a manager leads (empty for everyone else): under the `team` and `own`
    /// visibility policies a manager sees these teams' leads.
    #[serde(default)]
    pub manages: BTreeSet<Team>,
    /// The employee's manager: who hears of their leads left without follow-up
    /// ([`crate::escalation`]).
    #[serde(default)]
    pub manager: Option<EmployeeId>,
}

impl Employee {
    /// An active employee in no team, leading none.
    pub fn new(id: EmployeeId, name: Name, role: Role) -> Self {
        Self {
            id,
            name,
            role,
            active: true,
            team: None,
            manages: BTreeSet::new(),
            manager: None,
        }
    }

    /// The same employee in `team`.
    pub fn in_team(mut self, team: Team) -> Self {
        self.team = Some(team);
        self
    }

    /// The same employee leading `team` as well.
    pub fn leading(mut self, team: Team) -> Self {
        self.manages.insert(team);
        self
    }

    /// The same employee reporting to `manager`.
    pub fn reporting_to(mut self, manager: EmployeeId) -> Self {
        self.manager = Some(manager);
        self
    }

    /// The same employee, inactive.
    pub fn inactive(mut self) -> Self {
        self.active = false;
        self
    }
}

/// A team as the directory describes it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSummary {
    /// The team.
    pub team: Team,
    /// Its members (employees whose team it is), by id, active or not.
    pub members: Vec<EmployeeId>,
    /// The managers who lead it, by id.
    pub managers: Vec<EmployeeId>,
}

/// Refuses an employee record that leads teams without being a manager.
pub fn check_teams(e: &Employee) -> Result<(), ValidationError> {
    if !e.manages.is_empty() && e.role != Role::Manager {
        return Err(ValidationError::OnlyManagersLeadTeams {
            employee: e.id.get(),
        });
    }
    Ok(())
}

/// Every team the directory `staff` names, by name: as some employee's team or as a team
/// some manager leads.
pub fn teams_of(staff: &[Employee]) -> Vec<TeamSummary> {
    let mut teams: BTreeMap<&Team, (BTreeSet<EmployeeId>, BTreeSet<EmployeeId>)> = BTreeMap::new();
    for e in staff {
        if let Some(t) = &e.team {
            teams.entry(t).or_default().0.insert(e.id);
        }
        for t in &e.manages {
            teams.entry(t).or_default().1.insert(e.id);
        }
    }
    teams
        .into_iter()
        .map(|(team, (members, managers))| TeamSummary {
            team: team.clone(),
            members: members.into_iter().collect(),
            managers: managers.into_iter().collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_list_members_and_managers() {
        let id = |n| EmployeeId::new(n).unwrap();
        let team = |s| Team::parse(s).unwrap();
        let mut a = Employee::new(id(1), Name::parse("A").unwrap(), Role::Sales);
        a.team = Some(team("east"));
        let mut m = Employee::new(id(2), Name::parse("M").unwrap(), Role::Manager);
        m.manages = [team("east"), team("west")].into();
        let teams = teams_of(&[a, m]);
        assert_eq!(teams.len(), 2);
        assert_eq!(teams[0].team.as_str(), "east");
        assert_eq!(teams[0].members, [id(1)]);
        assert_eq!(teams[0].managers, [id(2)]);
        assert_eq!(teams[1].team.as_str(), "west");
        assert!(teams[1].members.is_empty());
    }

    #[test]
    fn only_managers_lead_teams() {
        let e = |role| Employee::new(EmployeeId::new(1).unwrap(), Name::parse("A").unwrap(), role);
        let east = Team::parse("east").unwrap();
        assert_eq!(check_teams(&e(Role::Manager).leading(east.clone())), Ok(()));
        assert_eq!(check_teams(&e(Role::Sales).in_team(east.clone())), Ok(()));
        assert_eq!(
            check_teams(&e(Role::Sales).leading(east)),
            Err(ValidationError::OnlyManagersLeadTeams { employee: 1 })
        );
    }
}
