//! My day in crm-server, in process on SQLite and PostgreSQL: `GET /api/v1/me/day` and the
//! start page list the caller's overdue and today's follow-ups, new leads nobody contacted
//! with their days waiting, and open opportunities closing this month, in the viewer's zone;
//! another employee's leads are not in it; the page's quick actions log a call with the
//! next follow-up and mark a new lead contacted, and come back to the page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::{Method, StatusCode};
use chrono::{Datelike, TimeDelta, TimeZone};
use crm_core::Clock;
use serde_json::{Value, json};
use server_support::browser::{Browser, location};
use server_support::{Harness, SALES};

on_every_backend!(
    the_api_gives_the_callers_day,
    the_start_page_is_my_day_with_quick_actions,
);

/// The sales employee's leads: one overdue, one due later today (Riyadh), one new for three
/// days, and a deal closing this month; the manager's own new lead. Returns their ids.
async fn a_day(h: &Harness) -> (String, String, String) {
    let new = |name: &str, n: u32| json!({"name": name, "email": format!("{n}@example.sa")});
    let waiting = h.lead(&h.sales, new("ينتظر", 1)).await;
    // Three days later, at 09:00 in Riyadh, so "later today" is today whenever this runs.
    let day = (h.clock.now() + TimeDelta::days(3))
        .with_timezone(&chrono_tz::Asia::Riyadh)
        .date_naive()
        + TimeDelta::days(1);
    let nine = chrono_tz::Asia::Riyadh
        .from_local_datetime(&day.and_hms_opt(9, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    h.clock.set(nine);
    let now = h.clock.now();
    let riyadh = now.with_timezone(&chrono_tz::Asia::Riyadh);
    let later = now + TimeDelta::hours(3);
    let follow = |id: &str, at: chrono::DateTime<chrono::Utc>| {
        let uri = format!("/api/v1/leads/{id}/interactions");
        let body = json!({"kind": "call", "next_follow_up": at.to_rfc3339()});
        h.call(Method::POST, &uri, Some(&h.sales), Some(body), &[])
    };
    let overdue = h.lead(&h.sales, new("متأخر", 2)).await;
    let r = follow(&overdue, now - TimeDelta::minutes(1)).await;
    // An interaction cannot plan a follow-up in the past: set it a minute ahead, then let the
    // clock pass it.
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = follow(&overdue, now + TimeDelta::minutes(1)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let today = h.lead(&h.sales, new("اليوم", 3)).await;
    h.clock.advance(TimeDelta::minutes(2));
    let r = follow(&today, later + TimeDelta::minutes(2)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let close = riyadh
        .date_naive()
        .with_day(28)
        .unwrap_or(riyadh.date_naive());
    let r = h
        .post(
            &format!("/api/v1/leads/{today}/opportunities"),
            &h.sales,
            json!({"title": "توريد", "value": "1250.500", "currency": "KWD", "expected_close": close.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    h.lead(&h.manager, new("للمدير", 4)).await;
    (waiting, overdue, today)
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["lead"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_api_gives_the_callers_day(h: Harness) {
    let (waiting, overdue, today) = a_day(&h).await;
    let r = h.get("/api/v1/me/day?tz=Asia/Riyadh", &h.sales).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let day = r.json();
    assert_eq!(day["time_zone"], "Asia/Riyadh");
    assert_eq!(ids(&day["overdue"]), [overdue.as_str()]);
    assert_eq!(ids(&day["today"]), [today.as_str()]);
    // The waiting lead is the only one still new with no interaction: 4 days (created a
    // day before the three, at 09:00 in Riyadh on the fourth).
    assert_eq!(ids(&day["waiting"]), [waiting]);
    let waited = day["waiting"][0]["days"].as_i64().unwrap();
    assert!((3..=4).contains(&waited), "{waited}");
    assert_eq!(day["closing"][0]["lead"]["id"], today.as_str());
    assert_eq!(day["closing"][0]["opportunity"]["currency"], "KWD");
    // The manager's day holds the manager's lead, none of the sales employee's.
    let theirs = h.get("/api/v1/me/day", &h.manager).await.json();
    assert_eq!(theirs["waiting"].as_array().unwrap().len(), 1);
    assert!(theirs["overdue"].as_array().unwrap().is_empty());
    let r = h.get("/api/v1/me/day?tz=Mars/Olympus", &h.sales).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["tz"]);
}

async fn the_start_page_is_my_day_with_quick_actions(h: Harness) {
    let (waiting, overdue, _) = a_day(&h).await;
    let (mut b, csrf) = Browser::signed_in(&h, SALES).await;
    let page = b.get("/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for section in ["day-overdue", "day-today", "day-waiting", "day-closing"] {
        assert!(
            page.text.contains(&format!("id=\"{section}\"")),
            "{section}"
        );
    }
    assert!(page.text.contains("ينتظر"), "{}", page.text);
    assert!(
        page.text.contains(" أيام</td>") || page.text.contains("أيام"),
        "{}",
        page.text
    );
    assert!(page.text.contains("1,250.500") || page.text.contains("1250.500"));
    assert!(!page.text.contains("للمدير"), "not the manager's lead");

    // Log a call with the next follow-up on the overdue lead: back to my day, not overdue.
    let tomorrow = (h.clock.now() + TimeDelta::days(1))
        .with_timezone(&chrono_tz::Asia::Riyadh)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let r = b
        .post(
            &format!("/leads/{overdue}/interactions"),
            &[
                ("csrf", &csrf),
                ("kind", "call"),
                ("back", "/"),
                ("next_follow_up", &tomorrow),
            ],
        )
        .await;
    assert_eq!(location(&r), "/", "{}", r.text);
    let day = h.get("/api/v1/me/day", &h.sales).await.json();
    assert!(ids(&day["overdue"]).is_empty(), "{day}");
    // Mark the waiting lead contacted from the page.
    let r = b
        .post(
            &format!("/leads/{waiting}/status"),
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("status", "contacted"),
                ("back", "/"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/", "{}", r.text);
    let day = h.get("/api/v1/me/day", &h.sales).await.json();
    assert!(ids(&day["waiting"]).is_empty());
    // A back to another site goes to the start page instead.
    let r = b
        .post(
            &format!("/leads/{waiting}/interactions"),
            &[
                ("csrf", &csrf),
                ("kind", "note"),
                ("back", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/");
}
