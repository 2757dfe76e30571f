//! Every form of crm-server that is refused comes back as typed (under the refusal's
//! status), with each message in the page's language at its field or its form, and nothing
//! stored: the lead page's status, assignment and stage forms, the employee, password, team
//! and token forms (the import form: `server_import.rs`). On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::StatusCode;
use serde_json::json;
use server_support::browser::Browser;
use server_support::{Harness, MANAGER, SALES};

on_every_backend!(
    the_lead_pages_select_forms_come_back_with_why,
    the_management_forms_come_back_as_typed,
);

async fn the_lead_pages_select_forms_come_back_with_why(h: Harness) {
    let lead = h
        .lead(
            &h.sales,
            json!({"name": "سلمى", "phone": "0501234567", "source": "web"}),
        )
        .await;
    let (mut b, csrf) = Browser::signed_in(&h, SALES).await;
    let path = format!("/leads/{lead}");

    // Given to someone who may not hold a lead: the page again, saying why at the form.
    let r = b
        .post(
            &format!("{path}/assign"),
            &[("csrf", &csrf), ("version", "1"), ("to", "3")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("id=\"assign-error\""), "{}", r.text);
    assert!(
        r.text.contains("ليس من المبيعات ولا من الإدارة"),
        "{}",
        r.text
    );
    // A stale version: reload, said in Arabic, at the form.
    let r = b
        .post(
            &format!("{path}/assign"),
            &[("csrf", &csrf), ("version", "7"), ("to", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    assert!(r.text.contains("غيّر شخص آخر هذا السجل"), "{}", r.text);
    assert_eq!(h.lead_json(&lead, &h.sales).await["owner"], 2);

    // A move the status rule refuses.
    let r = b
        .post(
            &format!("{path}/status"),
            &[("csrf", &csrf), ("version", "1"), ("status", "new")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("لا يُنقل العميل من «جديد»"), "{}", r.text);
    // A detail without its reason: refused, the detail kept.
    let r = b
        .post(
            &format!("{path}/status"),
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("status", "contacted"),
                ("lost_reason_detail", "سعر المنافس أقل"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("تفاصيل السبب تأتي مع رمز سبب الخسارة"),
        "{}",
        r.text
    );
    assert!(r.text.contains("value=\"سعر المنافس أقل\""), "{}", r.text);
    assert!(
        r.text.contains("value=\"contacted\" selected"),
        "{}",
        r.text
    );
    assert_eq!(h.lead_json(&lead, &h.sales).await["status"], "new");

    // A stage form with a probability out of range: that deal's form as typed.
    let r = h
        .post(
            &format!("/api/v1/leads/{lead}/opportunities"),
            &h.sales,
            json!({"title": "عقد صيانة", "value": "1200.500", "currency": "KWD", "expected_close": "2027-03-31"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let opp = r.json()["id"].as_str().unwrap().to_owned();
    let r = b
        .post(
            &format!("/opportunities/{opp}/stage"),
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("stage", "negotiation"),
                ("probability", "150"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("value=\"150\""), "{}", r.text);
    assert!(
        r.text.contains("value=\"negotiation\" selected"),
        "{}",
        r.text
    );
    assert!(r.text.contains("الاحتمال 150 خارج المدى"), "{}", r.text);
    let stored = h
        .get(&format!("/api/v1/opportunities/{opp}"), &h.sales)
        .await;
    assert_eq!(stored.json()["stage"], "open", "{}", stored.text);
}

async fn the_management_forms_come_back_as_typed(h: Harness) {
    let (mut b, csrf) = Browser::signed_in(&h, MANAGER).await;

    // The employee form: an id that is not one, everything else kept.
    let r = b
        .post(
            "/employees",
            &[
                ("csrf", &csrf),
                ("id", "x7"),
                ("name", "نورة الشمري"),
                ("role", "sales"),
                ("team", "الشرقية"),
                ("manages", ""),
                ("manager", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("value=\"نورة الشمري\""), "{}", r.text);
    assert!(r.text.contains("value=\"الشرقية\""), "{}", r.text);
    assert!(r.text.contains("value=\"x7\""), "{}", r.text);
    assert!(r.text.contains("value=\"sales\" selected"), "{}", r.text);
    assert!(r.text.contains("id=\"employee-id-error\""), "{}", r.text);
    assert!(r.text.contains("رقم الموظف «x7» غير صحيح"), "{}", r.text);
    assert!(
        !r.text.contains("checked>"),
        "active unticked stays unticked"
    );
    let staff = h.get("/api/v1/employees", &h.manager).await.json();
    assert_eq!(staff.as_array().map(Vec::len), Some(3), "{staff}");

    // A password too short, at its row.
    let r = b
        .post(
            &format!("/employees/{SALES}/password"),
            &[("csrf", &csrf), ("password", "short")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("كلمة المرور من 10 إلى 256 حرفًا"),
        "{}",
        r.text
    );

    // The team form with nobody chosen: the team typed is kept.
    let r = b
        .post(
            "/teams/members",
            &[("csrf", &csrf), ("employee", ""), ("team", "الغربية")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("value=\"الغربية\""), "{}", r.text);
    assert!(r.text.contains("id=\"team-employee-error\""), "{}", r.text);

    // A token with the wrong password: its label kept.
    let r = b
        .post(
            "/tokens",
            &[
                ("csrf", &csrf),
                ("label", "جهاز المكتب"),
                ("password", "wrong-password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.text.contains("value=\"جهاز المكتب\""), "{}", r.text);
    assert!(
        r.text.contains("aria-describedby=\"problem\""),
        "{}",
        r.text
    );
}
