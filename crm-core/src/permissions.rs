//! The permission rules: who may do what. Reading is open to every employee in the directory;
//! every change goes through [`authorize`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::employee::{Employee, Role};
use crate::ids::EmployeeId;

/// A mutating operation, as named in a `Forbidden` error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Create a lead.
    CreateLead,
    /// Edit a lead's contact data.
    EditLead,
    /// Move a lead through the status machine.
    ChangeStatus,
    /// Give a lead to another responsible employee.
    ReassignLead,
    /// Move a lost lead back to new.
    ReopenLead,
    /// Log an interaction.
    LogInteraction,
    /// Add an opportunity.
    AddOpportunity,
    /// Change an opportunity.
    EditOpportunity,
    /// Add, change or deactivate employees in the library's own directory.
    ManageEmployees,
    /// Acknowledge events for the sales system.
    AcknowledgeEvents,
    /// Run the follow-up sweep.
    RunSweep,
    /// Retry pending client creations.
    DispatchClients,
    /// Give all open leads of an employee to others at once.
    ReassignAll,
    /// Change the stored probability of an opportunity stage.
    SetStageProbability,
    /// Merge a duplicate lead into another.
    MergeLeads,
    /// Count the decided leads lead scoring has not counted, and fit its calibration
    /// ([`crate::Crm::train_scoring`]).
    TrainScoring,
    /// Take in a lead that arrived by itself (a web form's submission, a mailbox's message):
    /// a capture channel's only action ([`crate::capture`]), and no employee's.
    CaptureLead,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 17] = [
        Action::CreateLead,
        Action::EditLead,
        Action::ChangeStatus,
        Action::ReassignLead,
        Action::ReopenLead,
        Action::LogInteraction,
        Action::AddOpportunity,
        Action::EditOpportunity,
        Action::ManageEmployees,
        Action::AcknowledgeEvents,
        Action::RunSweep,
        Action::DispatchClients,
        Action::ReassignAll,
        Action::SetStageProbability,
        Action::MergeLeads,
        Action::TrainScoring,
        Action::CaptureLead,
    ];

    /// Whether this action is management's alone (no sales employee may do it).
    pub fn is_management_only(self) -> bool {
        matches!(
            self,
            Action::ReopenLead
                | Action::ManageEmployees
                | Action::AcknowledgeEvents
                | Action::RunSweep
                | Action::DispatchClients
                | Action::ReassignAll
                | Action::SetStageProbability
                | Action::MergeLeads
                | Action::TrainScoring
        )
    }

    /// Whether a system actor the host named may do this (see [`SystemActor`]).
    pub fn is_open_to_system_actors(self) -> bool {
        matches!(
            self,
            Action::RunSweep | Action::DispatchClients | Action::TrainScoring
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::CreateLead => "create leads",
            Action::EditLead => "edit leads",
            Action::ChangeStatus => "change lead status",
            Action::ReassignLead => "reassign this lead",
            Action::ReopenLead => "reopen lost leads",
            Action::LogInteraction => "log interactions",
            Action::AddOpportunity => "add opportunities",
            Action::EditOpportunity => "edit opportunities",
            Action::ManageEmployees => "manage employees",
            Action::AcknowledgeEvents => "acknowledge events",
            Action::RunSweep => "run the follow-up sweep",
            Action::DispatchClients => "dispatch pending clients",
            Action::ReassignAll => "reassign all of an employee's leads",
            Action::SetStageProbability => "change stage probabilities",
            Action::MergeLeads => "merge leads",
            Action::TrainScoring => "train lead scoring",
            Action::CaptureLead => "capture leads",
        })
    }
}

/// Why an action was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Who tried.
    pub actor: EmployeeId,
    /// What they tried.
    pub action: Action,
    /// Why not, in a few words.
    pub reason: &'static str,
}

/// Decides whether `actor` may perform `action` on a lead whose responsible employee is
/// `lead_owner` (`None` for a lead not yet created).
pub fn authorize(
    actor: &Employee,
    action: Action,
    lead_owner: Option<EmployeeId>,
) -> Result<(), Refusal> {
    let refuse = |reason| {
        Err(Refusal {
            actor: actor.id,
            action,
            reason,
        })
    };
    if !actor.active {
        return refuse("inactive employees may only read");
    }
    match (actor.role, action) {
        (_, Action::CaptureLead) => refuse("leads are captured by forms and mailboxes"),
        (Role::Other, _) => refuse("only sales staff and management may change anything"),
        (Role::Manager, _) => Ok(()),
        (Role::Sales, Action::ReopenLead) => refuse("reopening a lost lead is management's"),
        (Role::Sales, a) if a.is_management_only() => refuse("this is management's"),
        (Role::Sales, Action::ReassignLead) if lead_owner != Some(actor.id) => {
            refuse("reassigning a lead that is not yours is management's")
        }
        (Role::Sales, _) => Ok(()),
    }
}

/// A process of the host's that acts without being an employee (a scheduler, a worker),
/// named by the host when it builds the service ([`crate::CrmBuilder::system_actor`]). It may
/// do only the actions of [`Action::is_open_to_system_actors`]: the sweep and the dispatch.
/// A name is 1 to 64 of `a-z`, `0-9`, `_`, `-`, `.`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SystemActor(String);

impl SystemActor {
    /// Parses a system actor's name.
    pub fn parse(raw: &str) -> Result<Self, crate::validation::ValidationError> {
        let s = raw.trim();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.')
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(crate::validation::ValidationError::InvalidId {
                kind: "system actor (1 to 64 of a-z, 0-9, _, -, .)",
                value: raw.chars().take(64).collect(),
            })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::text::string_newtype!(SystemActor, SystemActor::parse);

/// Who performs an operation: an employee of the directory, or a system actor the host named.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// An employee, checked against the employee directory.
    Employee(EmployeeId),
    /// A host process, checked against the names given to the builder.
    System(SystemActor),
}

impl From<EmployeeId> for Actor {
    fn from(id: EmployeeId) -> Self {
        Actor::Employee(id)
    }
}

impl From<SystemActor> for Actor {
    fn from(s: SystemActor) -> Self {
        Actor::System(s)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Employee(id) => write!(f, "employee {id}"),
            Actor::System(s) => write!(f, "system actor {}", s.as_str()),
        }
    }
}

/// Decides whether a system actor may perform `action` (`registered`: whether the host named
/// it). Returns the reason for a refusal.
pub fn authorize_system(action: Action, registered: bool) -> Result<(), &'static str> {
    if !registered {
        Err("the host did not name this system actor")
    } else if !action.is_open_to_system_actors() {
        Err("system actors may only run the sweep and the dispatch")
    } else {
        Ok(())
    }
}

/// Why an employee cannot be made responsible for a lead. Displayed as the predicate of
/// "they are ...": `inactive`, `not in the employee directory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeProblem {
    /// The employee directory does not know them.
    Unknown,
    /// They are not active.
    Inactive,
    /// They are neither sales staff nor management.
    NotSales,
}

impl fmt::Display for AssigneeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AssigneeProblem::Unknown => "not in the employee directory",
            AssigneeProblem::Inactive => "inactive",
            AssigneeProblem::NotSales => "neither sales staff nor management",
        })
    }
}

/// Refuses saving `saved` when it would leave `staff` (the directory as it is) without an
/// active manager: nobody could then manage employees, and a new first manager can only be
/// added to an empty directory.
pub fn check_keeps_a_manager(
    staff: &[Employee],
    saved: &Employee,
) -> Result<(), crate::validation::ValidationError> {
    let leads = |e: &Employee| e.role == Role::Manager && e.active;
    let others = staff.iter().any(|e| e.id != saved.id && leads(e));
    let was = staff.iter().any(|e| e.id == saved.id && leads(e));
    if was && !leads(saved) && !others {
        return Err(crate::validation::ValidationError::LastManager);
    }
    Ok(())
}

/// Whether `actor` may be made responsible for leads (the assignment rule).
pub fn can_own_leads(e: &Employee) -> Result<(), AssigneeProblem> {
    if !e.active {
        Err(AssigneeProblem::Inactive)
    } else if e.role == Role::Other {
        Err(AssigneeProblem::NotSales)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::Name;

    fn emp(id: i64, role: Role, active: bool) -> Employee {
        Employee {
            active,
            ..Employee::new(
                EmployeeId::new(id).unwrap(),
                Name::parse("E").unwrap(),
                role,
            )
        }
    }

    #[test]
    fn managers_may_do_everything_employees_may() {
        let m = emp(1, Role::Manager, true);
        for a in Action::ALL
            .into_iter()
            .filter(|a| *a != Action::CaptureLead)
        {
            assert_eq!(
                authorize(&m, a, Some(EmployeeId::new(9).unwrap())),
                Ok(()),
                "{a}"
            );
        }
    }

    #[test]
    fn no_employee_captures_leads_and_no_system_actor_either() {
        for e in [emp(1, Role::Manager, true), emp(5, Role::Sales, true)] {
            let r = authorize(&e, Action::CaptureLead, None).map_err(|r| r.reason);
            assert_eq!(r, Err("leads are captured by forms and mailboxes"));
        }
        assert!(authorize_system(Action::CaptureLead, true).is_err());
    }

    #[test]
    fn others_and_inactive_only_read() {
        for e in [
            emp(2, Role::Other, true),
            emp(3, Role::Sales, false),
            emp(4, Role::Manager, false),
        ] {
            for a in Action::ALL {
                let r = authorize(&e, a, Some(e.id));
                assert!(r.is_err(), "{:?} {a}", e.role);
            }
        }
    }

    #[test]
    fn sales_reassign_only_their_own_and_never_reopen() {
        let s = emp(5, Role::Sales, true);
        assert_eq!(authorize(&s, Action::ReassignLead, Some(s.id)), Ok(()));
        let other = EmployeeId::new(6).unwrap();
        assert_eq!(
            authorize(&s, Action::ReassignLead, Some(other)).map_err(|r| r.reason),
            Err("reassigning a lead that is not yours is management's")
        );
        assert!(authorize(&s, Action::ReopenLead, Some(s.id)).is_err());
        for a in [
            Action::CreateLead,
            Action::EditLead,
            Action::ChangeStatus,
            Action::LogInteraction,
            Action::AddOpportunity,
            Action::EditOpportunity,
        ] {
            assert_eq!(authorize(&s, a, Some(other)), Ok(()), "{a}");
        }
    }

    #[test]
    fn only_active_sales_and_managers_own_leads() {
        assert_eq!(can_own_leads(&emp(1, Role::Sales, true)), Ok(()));
        assert_eq!(can_own_leads(&emp(1, Role::Manager, true)), Ok(()));
        assert_eq!(
            can_own_leads(&emp(1, Role::Other, true)),
            Err(AssigneeProblem::NotSales)
        );
        assert_eq!(
            can_own_leads(&emp(1, Role::Sales, false)),
            Err(AssigneeProblem::Inactive)
        );
    }
}
