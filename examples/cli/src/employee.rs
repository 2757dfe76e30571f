//! `crm employee`: the embedded employee directory, and the passwords crm-server signs in
//! with.

use std::io::IsTerminal;
use std::sync::Arc;

use clap::Subcommand;
use crm_cli::output::{Table, exit};
use crm_config::sentence;
use crm_core::{CrmError, Employee, EmployeeId, Name, Role, SystemClock, Team};
use serde_json::json;

use crate::app::{App, Failure, Out, invalid, join, usage};

/// `crm employee` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum EmployeeCmd {
    /// Add or update an employee.
    Add {
        /// Employee id (a positive integer).
        #[arg(long)]
        id: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// sales, manager or other.
        #[arg(long)]
        role: String,
        /// Mark inactive (read only).
        #[arg(long)]
        inactive: bool,
        /// The team they belong to.
        #[arg(long)]
        team: Option<String>,
        /// A team a manager leads (repeat for several).
        #[arg(long = "leads-team")]
        leads_team: Vec<String>,
        /// Their manager's employee id (who hears of their leads left without follow-up).
        #[arg(long)]
        manager: Option<String>,
    },
    /// Deactivate an employee (says how many open leads they still own).
    Deactivate {
        /// Employee id.
        id: String,
    },
    /// List employees.
    List,
    /// Set an employee's password for crm-server, read from stdin (one line). Yourself, or
    /// anyone as a manager.
    SetPassword {
        /// Employee id.
        id: String,
    },
}

/// `crm employee`.
pub(crate) async fn run(app: &App, db: &str, c: EmployeeCmd) -> Out {
    match c {
        EmployeeCmd::Add {
            id,
            name,
            role,
            inactive,
            manager,
            team,
            leads_team,
        } => {
            let mut e = Employee::new(id.parse()?, Name::parse(&name)?, role.parse::<Role>()?);
            e.active = !inactive;
            e.team = team.as_deref().map(Team::parse).transpose()?;
            e.manages = leads_team
                .iter()
                .map(|t| Team::parse(t))
                .collect::<Result<_, _>>()?;
            e.manager = manager.as_deref().map(str::parse).transpose()?;
            // The first employee of a new database needs no one acting (there is no one
            // yet) and must be an active manager; every later one is a manager's to add.
            let e = match app.actor {
                Some(actor) => app.crm.save_employee(actor, e).await?,
                None => app
                    .crm
                    .bootstrap_manager(e)
                    .await
                    .map_err(|err| match err {
                        CrmError::AlreadyBootstrapped => {
                            usage("employees exist already: add employees as a manager (--as ID)")
                        }
                        err => err.into(),
                    })?,
            };
            // An inactive employee who still owns open leads: say so (nobody works them).
            let open = match app.actor {
                Some(actor) if !e.active => app.crm.open_lead_count(actor, e.id).await?,
                _ => 0,
            };
            if !e.active {
                end_server_credentials(db, e.id).await?;
            }
            app.print(json!(e), || format!("employee {} saved\n", e.id));
            eprint!("{}", still_owns(e.id, open));
        }
        EmployeeCmd::Deactivate { id } => {
            let d = app
                .crm
                .deactivate_employee(app.actor()?, id.parse()?)
                .await?;
            let id = d.employee.id;
            end_server_credentials(db, id).await?;
            app.print(
                json!({"employee": d.employee, "open_leads": d.open_leads}),
                || {
                    format!(
                        "employee {id} deactivated\n{}",
                        still_owns(id, d.open_leads)
                    )
                },
            );
        }
        EmployeeCmd::SetPassword { id } => return set_password(app, db, &id).await,
        EmployeeCmd::List => {
            let list = app.crm.employees(app.actor()?).await?;
            app.print(json!(list), || {
                if list.is_empty() {
                    return "no employees yet; add one with `crm employee add`\n".to_owned();
                }
                let mut t = Table::new([
                    "id",
                    "name",
                    "role",
                    "active",
                    "team",
                    "leads teams",
                    "manager",
                ]);
                for e in &list {
                    t.row([
                        e.id.to_string(),
                        e.name.to_string(),
                        e.role.to_string(),
                        e.active.to_string(),
                        e.team.as_ref().map_or("-".into(), Team::to_string),
                        join(e.manages.iter()),
                        e.manager.map_or("-".to_owned(), |m| m.to_string()),
                    ]);
                }
                t.render()
            });
        }
    }
    Ok(())
}

/// Ends crm-server's sessions and tokens of an employee who has left, in the server's own
/// tables of the same database (made if missing, as crm-server makes them): whoever holds
/// them must not go on reading as the employee.
async fn end_server_credentials(db: &str, id: EmployeeId) -> Result<(), Failure> {
    use crm_auth::{AuthStore, Policy};
    let storage = |e: crm_auth::AuthError| Failure {
        code: exit::STORAGE,
        kind: "storage",
        message: sentence(&e),
    };
    let store = AuthStore::open(db, Arc::new(SystemClock), Policy::default())
        .await
        .map_err(storage)?;
    store.end_credentials(id, None).await.map_err(storage)
}

/// `crm employee set-password ID`: the password from stdin, stored for crm-server; the
/// employee's sessions and tokens end.
async fn set_password(app: &App, db: &str, id: &str) -> Out {
    use crm_auth::{self as auth, AuthError, AuthStore, Policy, SetPasswordError};
    let target: EmployeeId = id.parse()?;
    let actor = app.actor()?;
    if std::io::stdin().is_terminal() {
        eprint!("new password for employee {target} (shown as typed): ");
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| usage(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']);
    let store = AuthStore::open(db, Arc::new(SystemClock), Policy::default())
        .await
        .map_err(|e| Failure {
            code: exit::STORAGE,
            kind: "storage",
            message: sentence(&e),
        })?;
    // Whoever runs the tool on the database could change any table: no current password.
    let proof = auth::Proof::Database;
    auth::set_password_as(&app.crm, &store, actor, target, password, proof, None)
        .await
        .map_err(|e| match e {
            SetPasswordError::Crm(e) => e.into(),
            SetPasswordError::Auth(AuthError::WeakPassword) => invalid(e.to_string()),
            e @ SetPasswordError::Forbidden { .. } => Failure {
                code: exit::FORBIDDEN,
                kind: "forbidden",
                message: e.to_string(),
            },
            e @ SetPasswordError::NotFound(_) => Failure {
                code: exit::NOT_FOUND,
                kind: "not_found",
                message: e.to_string(),
            },
            // The tool proves who it is by the database itself.
            e @ (SetPasswordError::CurrentPasswordRequired
            | SetPasswordError::WrongCurrentPassword) => Failure {
                code: exit::FORBIDDEN,
                kind: "forbidden",
                message: e.to_string(),
            },
            e @ SetPasswordError::Auth(_) => Failure {
                code: exit::STORAGE,
                kind: "storage",
                message: sentence(&e),
            },
        })?;
    app.print(json!({"employee_id": target, "password_set": true}), || {
        format!("password of employee {target} set\n")
    });
    Ok(())
}

/// The warning for an inactive employee who still owns open leads (empty when none).
fn still_owns(id: EmployeeId, open: u64) -> String {
    if open == 0 {
        return String::new();
    }
    format!(
        "warning: employee {id} still owns {open} open lead(s); give them to others with \
         `crm lead reassign-all --from {id} --rule round-robin`\n"
    )
}
