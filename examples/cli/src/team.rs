//! `crm team`: the teams of the embedded employee directory.

use clap::Subcommand;
use crm_cli::output::Table;
use serde_json::json;

use crate::app::{App, Out, join, who};

/// `crm team` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum TeamCmd {
    /// List teams with their members and managers.
    List,
}

/// `crm team`.
pub(crate) async fn run(app: &App, c: TeamCmd) -> Out {
    let TeamCmd::List = c;
    let teams = app.crm.teams(app.actor()?).await?;
    let names = app
        .names(
            teams
                .iter()
                .flat_map(|t| t.members.iter().chain(&t.managers).copied()),
        )
        .await;
    app.print(json!(teams), || {
        if teams.is_empty() {
            return "no teams yet; give employees one with `crm employee add --team NAME`\n"
                .to_owned();
        }
        let mut t = Table::new(["team", "members", "managers"]);
        for team in &teams {
            t.row([
                team.team.to_string(),
                join(team.members.iter().map(|m| who(&names, *m))),
                join(team.managers.iter().map(|m| who(&names, *m))),
            ]);
        }
        t.render()
    });
    Ok(())
}
