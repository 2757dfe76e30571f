//! The boards in crm-server, in process on SQLite and PostgreSQL: `GET /api/v1/boards/leads`
//! and `/api/v1/boards/deals` and the pages `/board` and `/board/deals`. A card moves with
//! the same status change or stage move as anywhere else, by its own plain form: a loss asks
//! for its reason, a conversion for a confirmation and then shows the lead with its client;
//! each move comes back to the board; someone who may only read is offered no move.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod server_support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use server_support::browser::{Browser, location};
use server_support::{Harness, OTHER, SALES};

on_every_backend!(the_api_gives_both_boards, board_cards_move_with_every_rule,);

/// The sales employee's leads: two new, one interested with a KWD deal and a won SAR one;
/// the manager's own new lead. Returns (new, newer, interested, deal).
async fn leads(h: &Harness) -> (String, String, String, String) {
    let new = |name: &str, n: u32| json!({"name": name, "email": format!("{n}@example.sa"), "company": "شركة النور"});
    let first = h.lead(&h.sales, new("عميل أول", 1)).await;
    // A second apart: the newest card comes first.
    h.clock.advance(chrono::TimeDelta::seconds(1));
    let second = h.lead(&h.sales, new("عميل ثان", 2)).await;
    let hot = h.lead(&h.sales, new("مهتم جدًا", 3)).await;
    let r = h
        .versioned(
            axum::http::Method::POST,
            &format!("/api/v1/leads/{hot}/status"),
            &h.sales,
            json!({"status": "interested"}),
            "\"1\"",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let deal = |title: &str, value: &str, currency: &str| json!({"title": title, "value": value, "currency": currency, "expected_close": "2027-01-31"});
    let r = h
        .post(
            &format!("/api/v1/leads/{hot}/opportunities"),
            &h.sales,
            deal("توريد أجهزة", "1250000.500", "KWD"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let opp = r.json()["id"].as_str().unwrap().to_owned();
    h.lead(&h.manager, new("للمدير", 4)).await;
    (first, second, hot, opp)
}

fn column<'a>(board: &'a Value, key: &str, name: &str) -> &'a Value {
    board["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[key] == name)
        .unwrap_or_else(|| panic!("no column {name}: {board}"))
}

fn card_ids(col: &Value, what: &str) -> Vec<String> {
    col["cards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[what]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_api_gives_both_boards(h: Harness) {
    let (first, second, hot, opp) = leads(&h).await;
    let r = h.get("/api/v1/boards/leads?mine=true", &h.sales).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let board = r.json();
    let statuses: Vec<_> = (board["columns"].as_array().unwrap().iter())
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        ["new", "contacted", "interested", "converted", "lost"]
    );
    let new = column(&board, "status", "new");
    assert_eq!(new["total"], 2, "only mine: {board}");
    assert_eq!(card_ids(new, "lead"), [second.as_str(), first.as_str()]);
    assert_eq!(
        new["cards"][0]["moves"],
        json!(["contacted", "interested", "lost"])
    );
    let interested = column(&board, "status", "interested");
    assert_eq!(card_ids(interested, "lead"), [hot.as_str()]);
    assert_eq!(
        interested["cards"][0]["open_value"],
        json!([{"amount": "1250000.500", "minor": 1_250_000_500_i64, "currency": "KWD"}])
    );
    // Everyone's: the manager's lead counts too; one card a column, the count of all.
    let all = h
        .get("/api/v1/boards/leads?per_column=1", &h.sales)
        .await
        .json();
    let new = column(&all, "status", "new");
    assert_eq!(new["total"], 3);
    assert_eq!(new["cards"].as_array().unwrap().len(), 1);
    // Someone who may only read is offered no move.
    let other = h.token(OTHER).await;
    let theirs = h.get("/api/v1/boards/leads", &other).await.json();
    assert_eq!(
        column(&theirs, "status", "new")["cards"][0]["moves"],
        json!([])
    );
    for (uri, field) in [
        ("/api/v1/boards/leads?per_column=0", "per_column"),
        ("/api/v1/boards/deals?per_column=201", "per_column"),
        ("/api/v1/boards/leads?mine=true&owner=2", "mine"),
        ("/api/v1/boards/leads?owner=x", "owner"),
    ] {
        let r = h.get(uri, &h.sales).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            r.text
        );
        assert_eq!(r.fields(), [field], "{uri}");
    }
    let r = h.get("/api/v1/boards/leads?colour=red", &h.sales).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    let deals = h.get("/api/v1/boards/deals", &h.sales).await;
    assert_eq!(deals.status, StatusCode::OK, "{}", deals.text);
    let deals = deals.json();
    let open = column(&deals, "stage", "open");
    assert_eq!(card_ids(open, "opportunity"), [opp.as_str()]);
    assert_eq!(open["cards"][0]["lead"]["id"], hot.as_str());
    assert_eq!(open["value"][0]["amount"], "1250000.500");
    assert_eq!(column(&deals, "stage", "won")["total"], 0);
}

async fn board_cards_move_with_every_rule(h: Harness) {
    let (first, second, hot, opp) = leads(&h).await;
    let (mut b, csrf) = Browser::signed_in(&h, SALES).await;
    let page = b.get("/board?mine=true").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for status in ["new", "contacted", "interested", "converted", "lost"] {
        assert!(
            page.text.contains(&format!("id=\"col-{status}\"")),
            "{status}"
        );
    }
    assert!(page.text.contains(&format!("id=\"card-{first}\"")));
    assert!(!page.text.contains("للمدير"), "only mine");
    // Values read at a glance: grouped by thousands.
    assert!(page.text.contains("1,250,000.500 KWD"), "{}", page.text);
    assert!(
        page.text
            .contains("data-moves=\"contacted interested lost \"")
    );
    // A column showing fewer than it has links to the list of all of them, as filtered.
    let source = h.lead_json(&first, &h.sales).await["source"]
        .as_str()
        .unwrap()
        .to_owned();
    let few = b
        .get(&format!("/board?per_column=1&source={source}&mine=false"))
        .await;
    assert!(
        few.text
            .contains(&format!("href=\"/leads?status=new&#38;source={source}\"")),
        "{}",
        few.text
    );
    b.get("/board?mine=true").await;
    // "Only mine" sticks, on the board and the list alike.
    assert!(!b.get("/board").await.text.contains("للمدير"));
    assert!(!b.get("/leads").await.text.contains("للمدير"));
    assert!(b.get("/board?mine=false").await.text.contains("للمدير"));

    let post = async |b: &mut Browser<'_>, lead: &str, fields: &[(&str, &str)]| {
        let mut form = vec![("csrf", csrf.as_str()), ("back", "/board")];
        form.extend_from_slice(fields);
        b.post(&format!("/leads/{lead}/status"), &form).await
    };
    // A plain move comes back to the board, the card in its new column.
    let r = post(&mut b, &first, &[("version", "1"), ("status", "contacted")]).await;
    assert_eq!(location(&r), "/board", "{}", r.text);
    let board = h.get("/api/v1/boards/leads", &h.sales).await.json();
    assert!(card_ids(column(&board, "status", "contacted"), "lead").contains(&first));
    // A loss asks for its reason; given, the card is lost and the board shown again.
    let r = post(&mut b, &second, &[("version", "1"), ("status", "lost")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("id=\"lost-reason-select\""));
    assert!(r.text.contains("name=\"back\" value=\"/board\""));
    let r = post(
        &mut b,
        &second,
        &[
            ("version", "1"),
            ("status", "lost"),
            ("lost_reason", "price"),
        ],
    )
    .await;
    assert_eq!(location(&r), "/board", "{}", r.text);
    // A conversion asks for confirmation, then shows the lead with the client it created.
    let r = post(&mut b, &hot, &[("version", "2"), ("status", "converted")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("data-to=\"converted\""));
    assert_eq!(h.lead_json(&hot, &h.sales).await["status"], "interested");
    let r = post(
        &mut b,
        &hot,
        &[
            ("version", "2"),
            ("status", "converted"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(location(&r), format!("/leads/{hot}"), "{}", r.text);
    let lead = h.lead_json(&hot, &h.sales).await;
    assert_eq!(lead["status"], "converted");
    let client = lead["client_id"].as_str().expect("a client was created");
    assert!(b.get(&format!("/leads/{hot}")).await.text.contains(client));
    // A converted card offers no move.
    let board = h.get("/api/v1/boards/leads", &h.sales).await.json();
    let converted = column(&board, "status", "converted");
    assert_eq!(converted["cards"][0]["moves"], json!([]));

    // The deal board: a stage move comes back to it.
    let page = b.get("/board/deals").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(&format!("id=\"card-{opp}\"")));
    let r = b
        .post(
            &format!("/opportunities/{opp}/stage"),
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("stage", "won"),
                ("back", "/board/deals"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/board/deals", "{}", r.text);
    let deals = h.get("/api/v1/boards/deals", &h.sales).await.json();
    assert_eq!(
        card_ids(column(&deals, "stage", "won"), "opportunity"),
        [opp.as_str()]
    );

    // Someone who may only read sees the boards with no form to move a card.
    let (mut reader, _) = Browser::signed_in(&h, OTHER).await;
    for uri in ["/board", "/board/deals"] {
        let page = reader.get(uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("board-card"), "{uri}");
        assert!(!page.text.contains("class=\"move\""), "{uri} offers a move");
    }
}
