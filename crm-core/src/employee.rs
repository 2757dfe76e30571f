//! Employees as the host's employee system describes them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::contact::Name;
use crate::ids::EmployeeId;
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
    /// The employee's manager: who hears of their leads left without follow-up
    /// ([`crate::escalation`]).
    #[serde(default)]
    pub manager: Option<EmployeeId>,
}
