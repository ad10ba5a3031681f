//! Importing again: the same file, a file whose row meets a taken id, and a rerun after kill -9
//! each end with exactly the twoots of one clean run.

use std::time::{Duration, Instant};

use twooter::domain::{imported_id, MessageText, NewMessage, Tag};
use twooter::import::ImportReport;

use super::import;
use crate::support::process::{run, twooter};
use crate::support::{Backend, TestDb};

/// A date-precision export: thousands of rows in one millisecond, more than one node's sequence
/// numbers, all stored; and the same file again stores nothing new.
async fn same_file_twice_stores_it_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let rows: String = (0..3_000)
        .map(|i| format!("same day {i},coffee,2023-04-02 00:00:00\n"))
        .collect();
    let csv = format!("message,tag,timestamp\n{rows}");
    let (first, rejections) = import(&db, &csv, ".csv", 1_000).await;
    assert_eq!(
        first,
        ImportReport {
            imported: 3_000,
            already_stored: 0,
            rejected: 0
        },
        "{rejections:?}"
    );
    let (again, _) = import(&db, &csv, ".csv", 700).await;
    assert_eq!(
        again,
        ImportReport {
            imported: 0,
            already_stored: 3_000,
            rejected: 0
        }
    );
    let stats = db.store.stats(0, 3000).await.unwrap();
    assert_eq!(stats[0].count, 3_000);
    assert_eq!(crate::conformance::recount(db.store.as_ref()).await, stats);
}

#[tokio::test]
async fn same_file_twice_stores_it_once_on_sqlite() {
    same_file_twice_stores_it_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn same_file_twice_stores_it_once_on_mysql() {
    same_file_twice_stores_it_once(Backend::MySql).await;
}

/// A twoot already holds the id a row would get: the row takes its next id, and a rerun still
/// recognises it there.
#[tokio::test]
async fn a_row_whose_id_holds_another_twoot_takes_the_next() {
    for backend in [Backend::Sqlite, Backend::MySql] {
        let Some(db) = TestDb::new(backend).await else {
            continue;
        };
        let at = "2023-04-02T09:25:00Z".parse().unwrap();
        let squatter = NewMessage {
            id: imported_id(at, 0, 0).unwrap(),
            text: MessageText::parse("already here").unwrap(),
            tag: Tag::parse("coffee").unwrap(),
            timestamp: at,
        };
        db.store.insert(&squatter).await.unwrap();
        let csv = "message,tag,timestamp\nimported,coffee,2023-04-02T09:25:00Z\n";
        let (report, _) = import(&db, csv, ".csv", 10).await;
        assert_eq!(report.imported, 1);
        let (again, _) = import(&db, csv, ".csv", 10).await;
        assert_eq!((again.imported, again.already_stored), (0, 1));
        let stored = db.store.get(imported_id(at, 0, 1).unwrap()).await.unwrap();
        assert_eq!(stored.unwrap().text, "imported");
        assert_eq!(db.store.stats(0, 3000).await.unwrap()[0].count, 2);
    }
}

/// Rows, checksum of ids and counters: equal for two databases that hold the same twoots.
async fn fingerprint(db: &TestDb) -> (i64, i64, Vec<twooter::store::YearTagCount>) {
    let page_sum = |rows: Vec<twooter::domain::Message>| -> i64 {
        rows.iter().map(|m| m.id.as_i64() % 1_000_003).sum()
    };
    let (mut count, mut sum, mut before) = (0i64, 0i64, None);
    loop {
        let page = db
            .store
            .page(&twooter::store::PageQuery {
                tag: None,
                before,
                after: None,
                limit: 1000,
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        count += page.len() as i64;
        sum += page_sum(page);
    }
    (count, sum, db.store.stats(0, 3000).await.unwrap())
}

/// Import, kill -9 part-way, import again: exactly the twoots of one clean run.
async fn killed_and_rerun_equals_one_clean_run(backend: Backend) {
    let (Some(resumed), Some(clean)) = (TestDb::new(backend).await, TestDb::new(backend).await)
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rows = 100_000;
    let mut csv = String::from("message,tag,timestamp\n");
    for i in 0..rows {
        // Few distinct seconds, so that many rows share each millisecond.
        csv.push_str(&format!(
            "row {i},tag{},2023-04-02T09:25:{:02}Z\n",
            i % 7,
            i % 60
        ));
    }
    std::fs::write(dir.path().join("rows.csv"), csv).unwrap();
    let args = ["import", "rows.csv", "--batch-size", "500"];

    let mut child = twooter(dir.path())
        .env("DATABASE_URL", &resumed.url)
        .args(args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let stored_when_killed = loop {
        let stored = crate::support::counted(resumed.store.as_ref()).await;
        if stored > 0 {
            child.kill().unwrap();
            child.wait().unwrap();
            break stored;
        }
        assert!(
            Instant::now() < deadline,
            "the import stored nothing in 60 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before any batch showed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let (after_kill, _, _) = fingerprint(&resumed).await;
    assert!(
        after_kill < rows,
        "the import finished ({after_kill} rows) before it was killed; it must be killed part-way"
    );
    assert!(after_kill >= stored_when_killed);

    let rerun = run(dir.path(), &resumed.url, &args, 0);
    assert!(
        rerun.contains(&format!("skipped {after_kill} already stored")),
        "{rerun}"
    );
    run(dir.path(), &clean.url, &args, 0);
    let (resumed_print, clean_print) = (fingerprint(&resumed).await, fingerprint(&clean).await);
    assert_eq!(resumed_print.0, rows);
    assert_eq!(resumed_print, clean_print);
    assert_eq!(
        crate::conformance::recount(resumed.store.as_ref()).await,
        resumed_print.2
    );
}

#[tokio::test]
async fn killed_and_rerun_equals_one_clean_run_on_sqlite() {
    killed_and_rerun_equals_one_clean_run(Backend::Sqlite).await;
}

#[tokio::test]
async fn killed_and_rerun_equals_one_clean_run_on_mysql() {
    killed_and_rerun_equals_one_clean_run(Backend::MySql).await;
}
