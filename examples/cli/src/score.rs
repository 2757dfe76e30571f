//! `crm score train`: count the leads decided before scoring counted them and fit the
//! calibration; and how `crm lead list` and `crm lead show` print a score.

use clap::Subcommand;
use crm_core::export::Locale;
use crm_core::scoring::{ALL_TEAMS, Score};
use serde_json::{Value, json};

use crate::app::{App, Out};

/// `crm score` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum ScoreCmd {
    /// Count the converted and lost leads scoring has not counted (those decided before it
    /// existed) and fit each team's calibration on its decided leads (management). Run it
    /// after an upgrade, then now and then: each conversion or loss counts at once.
    Train,
}

/// `crm score`.
pub(crate) async fn run(app: &App, c: ScoreCmd) -> Out {
    match c {
        ScoreCmd::Train => {
            let t = app.crm.train_scoring(app.actor()?).await?;
            let calibrated: Vec<Value> = (t.calibrated.iter())
                .map(|(team, n, c)| {
                    json!({"team": team, "decided": n, "scale": c.scale, "shift": c.shift})
                })
                .collect();
            app.print(
                json!({"counted": t.counted, "skipped": t.skipped, "calibrated": calibrated}),
                || {
                    let mut s = format!(
                        "counted {} decided lead(s), {} changed meanwhile (run again)\n",
                        t.counted, t.skipped
                    );
                    for (team, n, c) in &t.calibrated {
                        let team = if team == ALL_TEAMS { "everyone" } else { team };
                        s.push_str(&format!(
                            "{team}: {n} decided, calibration scale {:.3} shift {:.3}\n",
                            c.scale, c.shift
                        ));
                    }
                    s
                },
            );
        }
    }
    Ok(())
}

/// The language scores' reasons are said in: Arabic when `$LANG` is an Arabic locale.
pub(crate) fn locale() -> Locale {
    match std::env::var("LANG") {
        Ok(l) if l.starts_with("ar") => Locale::Ar,
        _ => Locale::En,
    }
}

/// A score as JSON: the value, the predicted part, the probability and every reason, each
/// with its sentence in `locale`.
pub(crate) fn json(s: &Score, locale: Locale) -> Value {
    let reasons: Vec<Value> = (s.reasons.iter())
        .map(|r| {
            let mut v = json!(r);
            if let Some(o) = v.as_object_mut() {
                o.insert("text".into(), json!(r.describe(locale)));
            }
            v
        })
        .collect();
    json!({
        "value": s.value,
        "predicted": s.predicted,
        "probability": s.probability,
        "reasons": reasons,
    })
}

/// The top three reasons as one line.
pub(crate) fn why(s: &Score, locale: Locale) -> String {
    let said: Vec<String> = s.top_reasons().iter().map(|r| r.describe(locale)).collect();
    if said.is_empty() {
        "-".to_owned()
    } else {
        said.join("; ")
    }
}
