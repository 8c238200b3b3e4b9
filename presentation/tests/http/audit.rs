//! The audit log: each admin write recorded with its key, route, parameters and field names — never a secret — and listed newest first by filter.

use crate::support::{TestApp, ADMIN_KEY};
use actix_web::test::TestRequest;
use serde_json::{json, Value};

/// The `route` and `status` of each listed entry.
fn routes(page: &Value) -> Vec<(String, u64)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let line = format!(
                "{} {}",
                entry["method"].as_str().unwrap(),
                entry["route"].as_str().unwrap()
            );
            (line, entry["status"].as_u64().unwrap())
        })
        .collect()
}

#[actix_web::test]
async fn every_admin_write_is_recorded_with_its_key_and_never_a_secret() {
    let app = TestApp::new().await;
    let me = app.admin(TestRequest::get().uri("/api/v1/me")).await;
    let admin_id = me.body["key_id"].clone();
    assert!(admin_id.is_string(), "{}", me.raw);
    let created = app
        .admin(
            TestRequest::post()
                .uri("/api/v1/bots")
                .set_json(json!({"name": "Ada", "system_prompt": "Be brief."})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let bot = created.body["id"].as_str().unwrap().to_owned();
    let binding = json!({"token": "123456:tg-token-SECRET-DEF1234ghIkl-zyx57W2v1u", "secret_token": "tg-webhook-SECRET"});
    let bound = app
        .admin(
            TestRequest::put()
                .uri(&format!("/api/v1/bots/{bot}/platforms/telegram"))
                .set_json(binding),
        )
        .await;
    assert_eq!(bound.status, 200, "{}", bound.raw);
    let issued = app
        .admin(
            TestRequest::post()
                .uri("/api/v1/api-keys")
                .set_json(json!({"name": "ci", "role": "operator"})),
        )
        .await;
    let (ci_key, ci_id) = (
        issued.body["key"].as_str().unwrap().to_owned(),
        issued.body["id"].clone(),
    );
    let refused = app
        .as_key(
            &ci_key,
            TestRequest::patch()
                .uri(&format!("/api/v1/bots/{bot}"))
                .set_json(json!({"name": "Bob"})),
        )
        .await;
    assert_eq!(refused.status, 403);
    app.as_key(&ci_key, TestRequest::get().uri("/api/v1/bots"))
        .await;
    let web_chat = format!("/api/v1/bots/{bot}/platforms/web_chat");
    let bound = app
        .admin(TestRequest::put().uri(&web_chat).set_json(json!({})))
        .await;
    assert_eq!(bound.status, 200, "{}", bound.raw);
    let said = json!({"user_id": "u1", "text": "hi"});
    let chat = format!("/api/v1/bots/{bot}/chat");
    let said = app
        .admin(TestRequest::post().uri(&chat).set_json(said))
        .await;
    assert!(said.status.is_success(), "{}", said.raw);
    let hook = json!({"url": "https://hooks.example.com/in", "events": ["*"],
        "secret": "whsec_SECRETSECRETSECRETSECRETSECRETSE"});
    let subscribed = app
        .admin(TestRequest::post().uri("/api/v1/webhooks").set_json(hook))
        .await;
    assert_eq!(subscribed.status, 201, "{}", subscribed.raw);
    let deleted = app
        .admin(TestRequest::delete().uri(&format!("/api/v1/bots/{bot}")))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.raw);

    let audit = app.admin(TestRequest::get().uri("/api/v1/audit")).await;
    assert_eq!(audit.status, 200, "{}", audit.raw);
    let expected = [
        ("DELETE /api/v1/bots/{id}", 204),
        ("POST /api/v1/webhooks", 201),
        ("PUT /api/v1/bots/{id}/platforms/{platform}", 200),
        ("PATCH /api/v1/bots/{id}", 403),
        ("POST /api/v1/api-keys", 201),
        ("PUT /api/v1/bots/{id}/platforms/{platform}", 200),
        ("POST /api/v1/bots", 201),
    ];
    let expected: Vec<(String, u64)> = expected
        .iter()
        .map(|(r, s)| ((*r).to_owned(), *s))
        .collect();
    assert_eq!(
        routes(&audit.body),
        expected,
        "every write, newest first, reads and chat messages left out"
    );
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(
        (&entries[3]["key_id"], &entries[3]["key_name"]),
        (&ci_id, &json!("ci"))
    );
    assert_eq!(entries[3]["fields"], json!(["name"]));
    for entry in [
        &entries[0],
        &entries[1],
        &entries[2],
        &entries[4],
        &entries[5],
        &entries[6],
    ] {
        assert_eq!(entry["key_id"], admin_id, "{entry}");
    }
    assert_eq!(entries[1]["fields"], json!(["events", "secret", "url"]));
    assert_eq!(entries[5]["fields"], json!(["secret_token", "token"]));
    assert_eq!(
        entries[5]["params"],
        json!({"id": bot, "platform": "telegram"})
    );
    assert!(entries[0]["request_id"].is_string() && entries[0]["source_ip"].is_string());
    assert!(
        !audit.raw.contains("SECRET")
            && !audit.raw.contains(&ci_key)
            && !audit.raw.contains(ADMIN_KEY)
    );

    let by_ci = app
        .admin(TestRequest::get().uri(&format!("/api/v1/audit?key_id={}", ci_id.as_str().unwrap())))
        .await;
    assert_eq!(routes(&by_ci.body).len(), 1);
    let keys = app
        .admin(TestRequest::get().uri("/api/v1/audit?resource=api-keys"))
        .await;
    assert_eq!(
        routes(&keys.body),
        [("POST /api/v1/api-keys".to_owned(), 201)]
    );
    let (mut seen, mut cursor) = (0, String::new());
    loop {
        let uri = format!("/api/v1/audit?resource=bots&limit=2&cursor={cursor}");
        let uri = uri.trim_end_matches("&cursor=");
        let page = app.admin(TestRequest::get().uri(uri)).await;
        seen += routes(&page.body).len();
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, 5, "the bot's writes and its bindings', page by page");
    let future = app
        .admin(TestRequest::get().uri("/api/v1/audit?since=2999-01-01T00:00:00Z"))
        .await;
    assert_eq!(routes(&future.body).len(), 0);
    for bad in ["since=yesterday", "resource=Bots!", "cursor=7"] {
        let refused = app
            .admin(TestRequest::get().uri(&format!("/api/v1/audit?{bad}")))
            .await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.raw);
    }
}
