//! The audit log: entries appended and read back whole, newest first, by resource, key and time, page by page.

use crate::support::{all_pages, at};
use application::ports::{AuditEntry, AuditFilter, AuditLog};
use database::testing::fresh_databases;
use domain::{ApiKeyId, EventId, PageRequest, Role};
use std::collections::BTreeMap;

fn entry(route: &str, key_id: Option<ApiKeyId>, secs: i64) -> AuditEntry {
    AuditEntry {
        id: EventId::new(),
        at: at(secs),
        key_id,
        key_name: key_id.map(|_| "ci".to_owned()),
        role: Role::Admin,
        method: "POST".into(),
        route: route.into(),
        params: BTreeMap::from([("id".to_owned(), "b1".to_owned())]),
        fields: vec!["name".into(), "system_prompt".into()],
        status: 201,
        request_id: Some("r1".into()),
        source_ip: Some("203.0.113.9".into()),
    }
}

#[tokio::test]
async fn entries_come_back_whole_newest_first_by_resource_key_and_time() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let key = ApiKeyId::new();
        let written = [
            entry("/api/v1/bots", Some(key), 1),
            entry("/api/v1/bots/{id}/platforms/{platform}", None, 2),
            entry("/api/v1/api-keys", Some(key), 3),
            entry("/api/v1/botsy", None, 4),
        ];
        for one in &written {
            store.append(one).await.unwrap();
        }
        let list = |filter: AuditFilter| {
            let store = &store;
            async move {
                let (entries, _) = all_pages(1, |page: PageRequest| {
                    let filter = filter.clone();
                    async move { store.list_audit(&filter, &page).await }
                })
                .await;
                entries
            }
        };
        let everything = list(AuditFilter::default()).await;
        let newest_first: Vec<_> = written.iter().rev().cloned().collect();
        assert_eq!(everything, newest_first, "{}", db.backend());
        let bots = AuditFilter {
            resource: Some("bots".into()),
            ..AuditFilter::default()
        };
        let routes: Vec<String> = list(bots).await.into_iter().map(|e| e.route).collect();
        assert_eq!(
            routes,
            ["/api/v1/bots/{id}/platforms/{platform}", "/api/v1/bots"]
        );
        let by_key = AuditFilter {
            key_id: Some(key),
            since: Some(at(2)),
            until: Some(at(4)),
            ..AuditFilter::default()
        };
        assert_eq!(list(by_key).await, [written[2].clone()]);
    }
}
