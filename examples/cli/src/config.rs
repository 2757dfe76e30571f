//! `crm config`: the one configuration (crm-config) as this tool reads it: the file named
//! by `--config` or `$CRM_CONFIG`, then `CRM_*` variables, then the flags below.

use clap::Subcommand;
use crm_cli::output::Table;
use crm_config::{Config, KEYS, Sources};
use serde_json::json;

use crate::app::{Failure, Out, usage};
use crate::{Cli, Command};

/// `crm config` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum ConfigCmd {
    /// Check the configuration and show every setting in force and where its value came
    /// from (default, the file, an environment variable or a flag). Opens no database.
    Check,
    /// List the settings: the key in the file, its environment variable, its flag, its
    /// default and what it means.
    Keys,
}

/// The configuration this command line, its file and the environment give.
pub(crate) fn load(cli: &Cli) -> Result<Config, Failure> {
    let mut flags = Vec::new();
    let mut flag = |key: &str, name: &str, value: &Option<String>| {
        if let Some(v) = value {
            flags.push((key.to_owned(), name.to_owned(), v.clone()));
        }
    };
    flag("db", "--db", &cli.db);
    flag("region", "--region", &cli.region);
    flag("visibility", "--visibility", &cli.visibility);
    flag("lost_reasons", "--lost-reasons", &cli.lost_reasons);
    flag("sources", "--sources", &cli.sources);
    flag("new_sources", "--new-sources", &cli.new_sources);
    flag("currencies", "--currencies", &cli.currencies);
    flag(
        "stage_probabilities",
        "--stage-probabilities",
        &cli.stage_probabilities,
    );
    flag("score_points", "--score-points", &cli.score_points);
    flag("score_decay", "--score-decay", &cli.score_decay);
    flag("score_events", "--score-events", &cli.score_events);
    if !cli.assign.is_empty() {
        flag("assign", "--assign", &Some(cli.assign.join(";")));
    }
    if let Command::Sweep(sweep) = &cli.command {
        sweep.flags(&mut flags);
    }
    let sources = Sources::process(cli.config.clone(), flags).map_err(|e| usage(e.to_string()))?;
    Config::from_sources(sources).map_err(|e| usage(e.to_string()))
}

pub(crate) fn run(config: &Config, cmd: &ConfigCmd, json: bool) -> Out {
    match cmd {
        ConfigCmd::Check => {
            let rows = config.rows();
            if json {
                println!("{}", json!({ "settings": rows }));
            } else {
                let mut t = Table::new(["key", "value", "from"]);
                for r in rows {
                    t.row(vec![r.key.to_owned(), r.value, r.origin]);
                }
                print!("{}", t.render());
            }
        }
        ConfigCmd::Keys => {
            if json {
                let keys: Vec<_> = KEYS
                    .iter()
                    .map(|k| json!({"key": k.name, "env": k.env, "flag": k.flag, "default": k.default, "help": k.help}))
                    .collect();
                println!("{}", json!({ "keys": keys }));
            } else {
                let mut t = Table::new(["key", "environment", "flag", "default", "meaning"]);
                for k in KEYS {
                    t.row(vec![
                        k.name.to_owned(),
                        k.env.to_owned(),
                        k.flag.to_owned(),
                        k.default.to_owned(),
                        k.help.to_owned(),
                    ]);
                }
                print!("{}", t.render());
            }
        }
    }
    Ok(())
}
