#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn load(
    file: Option<&str>,
    env: &[(&str, &str)],
    flags: &[(&str, &str)],
) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    Config::from_sources(Sources {
        file: file.map(|t| (PathBuf::from("crm.toml"), t.to_owned())),
        env: &lookup,
        flags: flags
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    format!("--{}", k.replace('_', "-")),
                    (*v).to_owned(),
                )
            })
            .collect(),
    })
}

#[test]
fn defaults_hold_when_nothing_is_set() {
    let c = load(None, &[], &[]).unwrap();
    let s = c.settings();
    assert_eq!(s.db, "crm.db");
    assert_eq!(s.visibility, Visibility::All);
    assert_eq!(s.time_zone, Tz::UTC);
    assert_eq!(s.follow_up, FollowUpRule::calendar_days(5).unwrap());
    assert!(s.escalation.is_none());
    assert!(!s.secure_cookies);
    assert!(
        c.rows().iter().all(|r| r.origin == "default"),
        "{:?}",
        c.rows()
    );
}

#[test]
fn the_file_then_the_environment_then_flags() {
    let file = "visibility = \"team\"\nregion = \"EG\"\ndb = \"from-file.db\"\n";
    let c = load(
        Some(file),
        &[("CRM_VISIBILITY", "own"), ("CRM_DB", "from-env.db")],
        &[("db", "from-flag.db")],
    )
    .unwrap();
    assert_eq!(c.settings().visibility, Visibility::Own);
    assert_eq!(c.origin("visibility"), Origin::Env("CRM_VISIBILITY"));
    assert_eq!(c.settings().db, "from-flag.db");
    assert_eq!(c.origin("db"), Origin::Flag("--db".into()));
    assert_eq!(c.settings().region, PhoneRegion::parse("EG").unwrap());
    assert_eq!(c.origin("region"), Origin::File("crm.toml".into()));
    let row = c.rows().into_iter().find(|r| r.key == "region").unwrap();
    assert_eq!(
        (row.value.as_str(), row.origin.as_str()),
        ("EG", "crm.toml")
    );
}

#[test]
fn an_unknown_key_in_the_file_is_refused_by_name() {
    let e = load(Some("visibilty = \"own\"\n"), &[], &[]).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, ConfigError::UnknownKey { ref key, .. } if key == "visibilty"),
        "{msg}"
    );
    assert!(
        msg.contains("\"visibilty\"") && msg.contains("crm.toml"),
        "{msg}"
    );
}

#[test]
fn a_bad_value_is_refused_naming_the_key_and_where_it_came_from() {
    for (file, env, key, origin) in [
        (
            "visibility = \"everyone\"\n",
            vec![],
            "visibility",
            "crm.toml",
        ),
        (
            "",
            vec![("CRM_WEEKEND", "friday,funday")],
            "weekend",
            "$CRM_WEEKEND",
        ),
        (
            "follow_up_days = -1\n",
            vec![],
            "follow_up_days",
            "crm.toml",
        ),
        (
            "secure_cookies = \"maybe\"\n",
            vec![],
            "secure_cookies",
            "crm.toml",
        ),
        (
            "",
            vec![("CRM_TIME_ZONE", "Mars/Olympus")],
            "time_zone",
            "$CRM_TIME_ZONE",
        ),
        ("assign = [\"random:1\"]\n", vec![], "assign", "crm.toml"),
        ("region = [\"SA\", \"AE\"]\n", vec![], "region", "crm.toml"),
        (
            "holidays = [\"2026-13-01\"]\n",
            vec![],
            "holidays",
            "crm.toml",
        ),
        (
            "score_points = [\"colour:red=5\"]\n",
            vec![],
            "score_points",
            "crm.toml",
        ),
        (
            "",
            vec![("CRM_SCORE_POINTS", "source:event=500")],
            "score_points",
            "$CRM_SCORE_POINTS",
        ),
        ("score_decay = -2\n", vec![], "score_decay", "crm.toml"),
        (
            "score_events = \"maybe\"\n",
            vec![],
            "score_events",
            "crm.toml",
        ),
    ] {
        let e = load(Some(file), &env, &[]).unwrap_err();
        match &e {
            ConfigError::Invalid {
                key: k, origin: o, ..
            } => {
                assert_eq!((*k, o.to_string().as_str()), (key, origin), "{e}");
            }
            other => panic!("{file} {env:?}: {other}"),
        }
        assert!(e.to_string().starts_with(key), "{e}");
    }
}

#[test]
fn not_toml_is_refused() {
    let e = load(Some("visibility = own\n"), &[], &[]).unwrap_err();
    assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
}

#[test]
fn lists_and_tables_read_as_their_one_line_forms() {
    let file = "weekend = [\"fri\", \"sat\"]\nholidays = [\"2026-12-02\", \"2026-12-03\"]\n\
                time_zone = \"Asia/Riyadh\"\nworking_hours = \"08:00-17:00\"\n\
                stage_probabilities = { open = 5, qualified = 20 }\n\
                assign = [\"web=round-robin:1\", \"least-open:2\"]\nescalate_after = 2\n";
    let c = load(Some(file), &[], &[]).unwrap();
    let s = c.settings();
    let calendar = WorkCalendar::new(chrono_tz::Asia::Riyadh)
        .working_hours("08:00-17:00")
        .unwrap()
        .weekend(vec![chrono::Weekday::Fri, chrono::Weekday::Sat])
        .unwrap()
        .holidays(
            ["2026-12-02", "2026-12-03"]
                .iter()
                .map(|d| d.parse().unwrap())
                .collect(),
        )
        .unwrap();
    assert_eq!(s.follow_up, FollowUpRule::in_calendar(5, calendar).unwrap());
    assert_eq!(
        s.stage_probabilities,
        StageProbabilities::parse("open=5,qualified=20").unwrap()
    );
    assert_eq!(
        s.assignment,
        AssignmentRules::new([
            "web=round-robin:1".parse().unwrap(),
            "least-open:2".parse().unwrap()
        ])
        .unwrap()
    );
    assert_eq!(
        s.escalation,
        Some(EscalationRule::after_working_days(2).unwrap())
    );
    let weekend = c.rows().into_iter().find(|r| r.key == "weekend").unwrap();
    assert_eq!(weekend.value, "fri,sat");
}

#[test]
fn an_arabic_locale_brings_the_friday_saturday_weekend() {
    let c = load(
        None,
        &[("LANG", "ar_SA.UTF-8"), ("CRM_TIME_ZONE", "Asia/Riyadh")],
        &[],
    )
    .unwrap();
    let calendar = WorkCalendar::new(chrono_tz::Asia::Riyadh)
        .weekend(vec![chrono::Weekday::Fri, chrono::Weekday::Sat])
        .unwrap();
    assert_eq!(
        c.settings().follow_up,
        FollowUpRule::in_calendar(5, calendar).unwrap()
    );
}

#[test]
fn tz_alone_sets_where_dates_are_shown_not_a_calendar() {
    let c = load(None, &[("TZ", ":Asia/Dubai")], &[]).unwrap();
    assert_eq!(c.settings().time_zone, chrono_tz::Asia::Dubai);
    assert_eq!(
        c.settings().follow_up,
        FollowUpRule::calendar_days(5).unwrap()
    );
    assert_eq!(c.origin("time_zone"), Origin::Env("TZ"));
}

#[tokio::test]
async fn the_built_crm_carries_the_policies() {
    let c = Config::from_pairs(&[
        ("db", "sqlite::memory:"),
        ("visibility", "own"),
        ("follow_up_days", "3"),
        ("score_points", "source:معرض=20,email_kind:free_mail=-5"),
        ("score_decay", "3"),
        ("score_events", "yes"),
    ])
    .unwrap();
    assert!(c.settings().score_events);
    let crm = c.settings().connect().await.unwrap().build().unwrap();
    assert_eq!(
        crm.follow_up_rule(),
        &FollowUpRule::calendar_days(3).unwrap()
    );
    assert_eq!(crm.visibility(), Visibility::Own);
    let rules = crm.scoring_rules();
    assert_eq!(rules.decay_per_week, 3);
    assert_eq!(
        (rules.points.iter())
            .map(|p| (p.field.as_str(), p.value.as_str(), p.points))
            .collect::<Vec<_>>(),
        [("source", "معرض", 20), ("email_kind", "free_mail", -5)]
    );
}

#[test]
fn mailboxes_read_from_a_table_and_their_passwords_are_not_shown_back() {
    let file = r#"
mail_domains = ["Example.com", "example.sa"]
mail_every = "5m"

[mailboxes.riyadh]
assign = "round-robin:riyadh"
url = "imaps://sales%40example.com:s3cret@imap.example.com/INBOX"

[mailboxes.jeddah]
assign = "least-open:jeddah"
url = "imap://leads:pw@127.0.0.1:10143/"
"#;
    let c = load(Some(file), &[], &[]).unwrap();
    let s = c.settings();
    let names: Vec<&str> = s.mailboxes.iter().map(|m| m.channel.as_str()).collect();
    assert_eq!(names, ["mail.jeddah", "mail.riyadh"]);
    assert_eq!(s.mail_domains, ["example.com", "example.sa"]);
    assert_eq!(s.mail_every, Some(std::time::Duration::from_secs(300)));
    let shown = serde_json::to_string(&c.rows()).unwrap();
    assert!(
        !shown.contains("s3cret") && !shown.contains(":pw@"),
        "{shown}"
    );
    // A mailbox in the clear to another machine is refused, naming the key.
    let err = load(
        None,
        &[(
            "CRM_MAILBOXES",
            "x=round-robin:x imap://u:p@mail.example.com/",
        )],
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("mailboxes (from $CRM_MAILBOXES)"), "{err}");
}
