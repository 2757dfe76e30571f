//! The web pages around the leads, in process: teams, sweep and events, API tokens,
//! follow-up times and the navigation. Each form as the signed-in employee through the
//! library's rules: refused requests change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod server_support;

use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use crm_core::{Clock, EmployeeId};
use crm_server::web::NAV;
use serde_json::json;
use server_support::browser::{Browser, hidden_csrf, location};
use server_support::{Harness, MANAGER, OTHER, PASSWORD, SALES};

fn id(n: i64) -> EmployeeId {
    EmployeeId::new(n).unwrap()
}

async fn team_of(h: &Harness, n: i64) -> Option<String> {
    let e = h.state.crm.employee(id(MANAGER), id(n)).await.unwrap();
    e.unwrap().team.map(|t| t.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_show_members_and_leads_and_managers_change_them() {
    let h = server_support::sqlite().await;
    let (mut sales, csrf) = Browser::signed_in(&h, SALES).await;
    let page = sales.get("/teams").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("لا توجد فرق بعد"), "{}", page.text);
    assert!(!page.text.contains("id=\"team-form\""));
    // Sales may not move anyone: the library refuses, nothing changes.
    let r = sales
        .post(
            "/teams/members",
            &[("csrf", &csrf), ("employee", "2"), ("team", "جدة")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(team_of(&h, SALES).await, None);

    let (mut manager, csrf) = Browser::signed_in(&h, MANAGER).await;
    // Without the session's form token: refused, nothing changes.
    let r = manager
        .post("/teams/members", &[("employee", "2"), ("team", "جدة")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = manager
        .post(
            "/teams/members",
            &[("csrf", &csrf), ("employee", "x"), ("team", "\u{202E}")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = manager
        .post(
            "/teams/members",
            &[("csrf", &csrf), ("employee", "77"), ("team", "جدة")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(team_of(&h, SALES).await, None);
    let r = manager
        .post(
            "/teams/members",
            &[("csrf", &csrf), ("employee", "2"), ("team", "فريق الرياض")],
        )
        .await;
    assert_eq!(location(&r), "/teams", "{}", r.text);
    assert_eq!(team_of(&h, SALES).await.as_deref(), Some("فريق الرياض"));
    // The manager leads it (saved on the employees page, shown here).
    let mut sara = h
        .state
        .crm
        .employee(id(MANAGER), id(MANAGER))
        .await
        .unwrap()
        .unwrap();
    sara.manages
        .insert(crm_core::Team::parse("فريق الرياض").unwrap());
    h.state.crm.save_employee(id(MANAGER), sara).await.unwrap();
    let page = manager.get("/teams").await;
    assert!(page.text.contains("data-team=\"فريق الرياض\""));
    assert!(page.text.contains("<bdi>علي</bdi>"));
    assert!(page.text.contains("<bdi>سارة القحطاني</bdi>"));
    assert!(page.text.contains("id=\"team-form\""));
    // Taken out again.
    let r = manager
        .post(
            "/teams/members",
            &[("csrf", &csrf), ("employee", "2"), ("team", "")],
        )
        .await;
    assert_eq!(location(&r), "/teams");
    assert_eq!(team_of(&h, SALES).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_preview_and_run_the_sweep_and_acknowledge_events() {
    let h = server_support::sqlite().await;
    for (name, email) in [("نورة", "noura@example.com"), ("Khalid", "k@example.com")] {
        h.lead(&h.sales, json!({"name": name, "email": email}))
            .await;
    }
    let (mut sales, sales_csrf) = Browser::signed_in(&h, SALES).await;
    let page = sales.get("/automation").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.text.contains("id=\"preview\""),
        "sales see no dry run"
    );
    assert!(
        page.text.contains("lead_created"),
        "but their leads' events"
    );
    assert!(!page.text.contains("id=\"ack-form\""));
    for uri in ["/automation/sweep", "/automation/dispatch"] {
        let r = sales.post(uri, &[("csrf", &sales_csrf)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
    }
    let r = sales
        .post(
            "/automation/ack",
            &[("csrf", &sales_csrf), ("up_to", "100")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let (mut manager, _) = Browser::signed_in(&h, MANAGER).await;
    let page = manager.get("/automation").await;
    assert!(page.text.contains("لا شيء مستحق الآن"), "{}", page.text);
    // Sessions last 12 hours: a week later the manager signs in again.
    h.clock.advance(TimeDelta::days(8));
    let (mut manager, csrf) = Browser::signed_in(&h, MANAGER).await;
    let page = manager.get("/automation").await;
    assert!(page.text.contains("<bdi>نورة</bdi>"), "{}", page.text);
    assert!(page.text.contains("لم يتواصل معه أحد"));
    // The dry run sent nothing: the sweep sends both.
    let r = manager.post("/automation/sweep", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = manager.get(location(&r)).await;
    assert!(page.text.contains("id=\"outcome\""));
    assert!(page.text.contains("تنبيه أول تواصل 2"), "{}", page.text);
    assert!(page.text.contains("لا شيء مستحق الآن"));
    let r = manager
        .post("/automation/dispatch", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    let pending = |h: &Harness| {
        let crm = h.state.crm.clone();
        async move { crm.pending_events(id(MANAGER), 0, 100).await.unwrap().len() }
    };
    let before = pending(&h).await;
    assert!(before >= 2, "{before}");
    for bad in ["x", "-1", "99999999999999999999"] {
        let r = manager
            .post("/automation/ack", &[("csrf", &csrf), ("up_to", bad)])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(pending(&h).await, before);
    let page = manager.get("/automation").await;
    assert!(page.text.contains("id=\"ack-form\""));
    let at = page.text.find("name=\"up_to\" value=\"").unwrap() + 20;
    let last: String = page.text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let r = manager
        .post("/automation/ack", &[("csrf", &csrf), ("up_to", &last)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(pending(&h).await, 0);
    assert!(
        manager
            .get("/automation")
            .await
            .text
            .contains("لا توجد أحداث معلّقة")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employees_create_list_and_revoke_their_own_tokens() {
    let h = server_support::sqlite().await;
    let (mut b, csrf) = Browser::signed_in(&h, SALES).await;
    let live = |h: &Harness, n: i64| {
        let auth = h.state.auth.clone();
        async move { auth.tokens(id(n)).await.unwrap() }
    };
    let page = b.get("/tokens").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text.matches("data-token=").count(), 1, "the harness's");
    // The password is asked again; a wrong one issues nothing.
    let r = b
        .post(
            "/tokens",
            &[("csrf", &csrf), ("label", "سكربت"), ("password", "wrong")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("id=\"problem\""));
    assert_eq!(live(&h, SALES).await.len(), 1);
    let r = b
        .post("/tokens", &[("label", "سكربت"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no form token");
    assert_eq!(live(&h, SALES).await.len(), 1);

    let r = b
        .post(
            "/tokens",
            &[("csrf", &csrf), ("label", "سكربت"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let at = r.text.find("id=\"token-secret\">").unwrap() + 18;
    let secret: String = r.text[at..].chars().take_while(|c| *c != '<').collect();
    assert!(secret.starts_with("crm_"), "{secret}");
    assert_eq!(h.get("/api/v1/leads", &secret).await.status, StatusCode::OK);
    // Listed without its secret, from now on.
    let page = b.get("/tokens").await;
    assert!(page.text.contains("<bdi>سكربت</bdi>"));
    assert!(!page.text.contains(&secret));

    // Someone else's token: not found, and it keeps working.
    let theirs = live(&h, MANAGER).await[0].id.clone();
    let r = b
        .post(&format!("/tokens/{theirs}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(live(&h, MANAGER).await.len(), 1);
    let mine = live(&h, SALES)
        .await
        .into_iter()
        .find(|t| t.label == "سكربت")
        .unwrap()
        .id;
    let r = b.post(&format!("/tokens/{mine}/revoke"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no form token");
    let r = b
        .post(&format!("/tokens/{mine}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&r), "/tokens");
    assert_eq!(
        h.get("/api/v1/leads", &secret).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// The edit form as a browser posts it (no `csrf` field when `csrf` is empty).
fn edit<'a>(when: &'a str, version: &'a str, csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("version", version),
        ("name", "هند"),
        ("email", "hind@example.com"),
        ("source", "other"),
        ("next_follow_up", when),
    ];
    if !csrf.is_empty() {
        f.push(("csrf", csrf));
    }
    f
}

/// A follow-up time typed in the viewer's zone is stored in UTC, shown back in the zone,
/// highlighted once it passes, and can be cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_up_times_are_edited_in_the_viewers_zone() {
    let h = server_support::sqlite().await;
    let lead = h
        .lead(
            &h.sales,
            json!({"name": "هند", "email": "hind@example.com"}),
        )
        .await;
    let lead_id: crm_core::LeadId = lead.parse().unwrap();
    let (mut b, mut csrf) = Browser::signed_in(&h, SALES).await;
    let uri = format!("/leads/{lead}");
    let stored = |h: &Harness| {
        let crm = h.state.crm.clone();
        async move {
            let l = crm.lead(id(SALES), lead_id).await.unwrap();
            (l.version(), l.next_follow_up_at())
        }
    };
    let form = b.get(&format!("{uri}/edit")).await;
    assert!(form.text.contains("type=\"datetime-local\""));
    let now = h.clock.now();
    let tomorrow = (now + TimeDelta::days(1)).date_naive();
    let local = format!("{tomorrow}T10:30");
    // Refused: without the form token, a time in the past, a time that is not one.
    let r = b.post(&format!("{uri}/edit"), &edit(&local, "1", "")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for bad in ["2020-01-01T10:00", "tomorrow"] {
        let f = edit(bad, "1", &csrf);
        let r = b.post(&format!("{uri}/edit"), &f).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.text
        );
        assert!(
            r.text.contains(&format!("value=\"{bad}\"")),
            "typed text kept"
        );
    }
    assert_eq!(stored(&h).await, (1, None));

    let r = b
        .post(&format!("{uri}/edit"), &edit(&local, "1", &csrf))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    // 10:30 in Riyadh (UTC+3) is 07:30 UTC.
    let want: DateTime<Utc> = format!("{tomorrow}T07:30:00Z").parse().unwrap();
    assert_eq!(stored(&h).await, (2, Some(want)));
    let page = b.get(&uri).await;
    assert!(page.text.contains(&format!("{tomorrow} 10:30")));
    assert!(!page.text.contains("class=\"overdue\""));
    let list = b.get("/leads").await;
    assert!(list.text.contains(&format!("{tomorrow} 10:30")));
    // Once the time passes with nothing done, list and detail say it is overdue.
    // (Sessions last 12 hours: two days later the employee signs in again.)
    h.clock.advance(TimeDelta::days(2));
    (b, csrf) = Browser::signed_in(&h, SALES).await;
    assert!(b.get(&uri).await.text.contains("class=\"overdue\""));
    assert!(b.get("/leads").await.text.contains("class=\"overdue\""));

    // Logging an interaction plans the next one (in the zone the viewer chose).
    b.get("/tz?zone=UTC").await;
    let next = (h.clock.now() + TimeDelta::days(3)).date_naive();
    let next_local = format!("{next}T09:00");
    let r = b
        .post(
            &format!("{uri}/interactions"),
            &[
                ("csrf", &csrf),
                ("kind", "call"),
                ("notes", "سيرد الأسبوع القادم"),
                ("next_follow_up", &next_local),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let want: DateTime<Utc> = format!("{next}T09:00:00Z").parse().unwrap();
    assert_eq!(stored(&h).await.1, Some(want));
    assert!(!b.get(&uri).await.text.contains("class=\"overdue\""));
    let r = b
        .post(
            &format!("{uri}/interactions"),
            &[("csrf", &csrf), ("kind", "call"), ("next_follow_up", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Cleared.
    let version = stored(&h).await.0.to_string();
    let mut f = edit("", &version, &csrf);
    f.push(("clear_follow_up", "1"));
    let r = b.post(&format!("{uri}/edit"), &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(stored(&h).await.1, None);
}

/// Every page of the navigation is linked from every page and opens, for a manager; the
/// management-only ones are not offered to others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_navigation_links_every_page() {
    let h = server_support::sqlite().await;
    let (mut manager, _) = Browser::signed_in(&h, MANAGER).await;
    let home = manager.get("/leads").await;
    for (href, _, _) in NAV {
        assert!(
            home.text.contains(&format!("<a href=\"{href}\"")),
            "{href} is not linked"
        );
        let page = manager.get(href).await;
        assert_eq!(page.status, StatusCode::OK, "{href}");
        assert!(page.text.contains("aria-current=\"page\""), "{href}");
        hidden_csrf(&page.text);
    }
    let (mut other, _) = Browser::signed_in(&h, OTHER).await;
    let home = other.get("/leads").await;
    assert!(!home.text.contains("<a href=\"/automation\""));
    assert!(home.text.contains("<a href=\"/teams\""));
}
