//! The Vitess sharding plan, checked against what the MySQL store really sends: every operation of
//! the store runs through a proxy that writes down each statement, and each statement must route
//! under `deploy/vitess/vschema.json` as `deploy/vitess/README.md` says: one shard for every
//! read and write of the request path but the documented scatters, no joins, no write that
//! scatters, no statement that mixes keyspaces.
//!
//! No Vitess binary installs here, so this checks the plan by Vitess's routing rules, not by
//! running vtgate.

#[path = "../support/mod.rs"]
mod support;

mod capture;
mod routing;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use twooter::domain::{MessageId, MessageText, NewMessage, NodeId, Tag};
use twooter::store::{self, sql, PageQuery, PoolConfig, Store};

use capture::Capture;
use routing::{Route, VSchema};
use support::TestDb;

fn repository(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn message(id: MessageId, tag: &str) -> NewMessage {
    NewMessage {
        id,
        text: MessageText::parse("Routed").unwrap(),
        tag: Tag::parse(tag).unwrap(),
        timestamp: id.timestamp(),
    }
}

/// Calls every operation of the store once or more, the way the service does.
async fn exercise(store: &dyn Store) {
    let node = NodeId::new(5).unwrap();
    let now = Utc::now().timestamp_millis();
    let id = |n: u16| MessageId::from_parts(now, node, n).unwrap();
    store.insert(&message(id(0), "coffee")).await.unwrap();
    store
        .insert_batch(&[message(id(1), "coffee"), message(id(2), "tea")])
        .await
        .unwrap();
    store.get(id(0)).await.unwrap();
    for tag in [None, Some(Tag::parse("coffee").unwrap())] {
        for (before, after) in [(None, None), (Some(id(2)), None), (None, Some(id(0)))] {
            let query = PageQuery {
                tag: tag.clone(),
                before,
                after,
                limit: 21,
            };
            store.page(&query).await.unwrap();
        }
    }
    store.stats(0, 3000).await.unwrap();
    store
        .tag_stats(&Tag::parse("coffee").unwrap(), 0, 3000)
        .await
        .unwrap();
    let year = chrono::Datelike::year(&Utc::now());
    assert!(store.count_years().await.unwrap().contains(&year));
    store.audit_year(year).await.unwrap();
    store.repair_count(year, "coffee").await.unwrap();
    store.is_empty().await.unwrap();
    store.newest_id().await.unwrap();
    store.ping().await.unwrap();
    store.check_writable().await.unwrap();
    let free = store.expired_node_leases().await.unwrap();
    let ttl = Duration::from_secs(30);
    assert!(store
        .claim_node_lease(&free[0], "vitess-test", ttl, now)
        .await
        .unwrap());
    assert!(store
        .renew_node_lease(free[0].node, "vitess-test", ttl, now)
        .await
        .unwrap());
    store
        .release_node_lease(free[0].node, "vitess-test", now)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_the_mysql_store_sends_routes_as_planned() {
    let Some(db) = TestDb::mysql().await else {
        return;
    };
    let vschema = VSchema::load(&repository("deploy/vitess/vschema.json"));
    vschema.check().expect("the VSchema is consistent");
    let plan = std::fs::read_to_string(repository("deploy/vitess/README.md")).unwrap();

    let capture = Capture::start(support::mysql_address()).await;
    let database = db.url.rsplit('/').next().unwrap().to_owned();
    let url = format!(
        "mysql://root@{}/{database}?ssl-mode=disabled",
        capture.address
    );
    let store = store::connect(&url, &PoolConfig::default()).await.unwrap();
    exercise(store.as_ref()).await;
    store.close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let named = known_statements();
    let mut routes: BTreeMap<String, Route> = BTreeMap::new();
    let mut refused = Vec::new();
    for statement in capture.statements() {
        match vschema.route(&statement) {
            Ok(route) => {
                routes.insert(statement, route);
            }
            Err(why) => refused.push(format!("{why}: {statement}")),
        }
    }
    assert!(
        refused.is_empty(),
        "statements Vitess cannot run as planned:\n{}",
        refused.join("\n")
    );
    for (statement, route) in &routes {
        eprintln!(
            "{route:?}\t{}",
            named.get(statement.as_str()).copied().unwrap_or(statement)
        );
    }

    // The request path stays on one shard, but for what the plan says scatters and why.
    for (statement, route) in &routes {
        if *route != Route::Scatter {
            continue;
        }
        let name = named
            .get(statement.as_str())
            .unwrap_or_else(|| panic!("an unplanned scatter: {statement}"));
        assert!(
            plan.contains(&format!("`{name}`")),
            "{name} scatters but deploy/vitess/README.md does not list it"
        );
    }
    for (name, sql) in [
        ("GET_MESSAGE", sql::GET_MESSAGE),
        ("MYSQL_PAGE_BY_TAG_NEWEST", sql::MYSQL_PAGE_BY_TAG_NEWEST),
        ("MYSQL_PAGE_BY_TAG_OLDEST", sql::MYSQL_PAGE_BY_TAG_OLDEST),
    ] {
        assert!(
            matches!(routes.get(sql), Some(Route::OneShard(_))),
            "{name} must go to one shard: {:?}",
            routes.get(sql)
        );
    }
    let single_insert = routes
        .iter()
        .filter(|(statement, _)| statement.starts_with("INSERT INTO messages "))
        .map(|(_, route)| route)
        .collect::<Vec<_>>();
    assert!(
        single_insert.contains(&&Route::OneShard("tag_hash".to_owned())),
        "a post is one row on its tag's shard: {single_insert:?}"
    );
}

/// The store's fixed statements by the name they have in `twooter::store::sql`.
fn known_statements() -> BTreeMap<&'static str, &'static str> {
    let leases = &sql::MYSQL_LEASES;
    let counts = &sql::MYSQL_COUNTS;
    BTreeMap::from([
        (sql::GET_MESSAGE, "GET_MESSAGE"),
        (sql::PAGE_NEWEST, "PAGE_NEWEST"),
        (sql::PAGE_OLDEST, "PAGE_OLDEST"),
        (sql::MYSQL_PAGE_BY_TAG_NEWEST, "MYSQL_PAGE_BY_TAG_NEWEST"),
        (sql::MYSQL_PAGE_BY_TAG_OLDEST, "MYSQL_PAGE_BY_TAG_OLDEST"),
        (sql::MYSQL_STATS, "MYSQL_STATS"),
        (sql::NEWEST_ID, "NEWEST_ID"),
        (sql::MYSQL_TAG_STATS, "MYSQL_TAG_STATS"),
        (counts.counted_years, "MYSQL_COUNTS.counted_years"),
        (counts.year_counters, "MYSQL_COUNTS.year_counters"),
        (counts.year_messages, "MYSQL_COUNTS.year_messages"),
        (counts.oldest_id, "MYSQL_COUNTS.oldest_id"),
        (counts.lock_counter, "MYSQL_COUNTS.lock_counter"),
        (counts.tag_messages, "MYSQL_COUNTS.tag_messages"),
        (counts.clear_counter, "MYSQL_COUNTS.clear_counter"),
        (counts.set_counter, "MYSQL_COUNTS.set_counter"),
        (leases.expired, "MYSQL_LEASES.expired"),
        (leases.claim, "MYSQL_LEASES.claim"),
        (leases.renew, "MYSQL_LEASES.renew"),
        (leases.release, "MYSQL_LEASES.release"),
    ])
}
