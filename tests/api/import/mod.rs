//! Importing the prototype's CSV and JSON: every bad row reported with its line and skipped,
//! every good row stored and counted, once however often the file is imported.

use std::io::Write;

use twooter::import::{import_file, ImportError, ImportObserver, ImportReport, Rejection};

use crate::support::process::run;
use crate::support::{Backend, TestDb};

#[derive(Default)]
struct Collect(Vec<Rejection>);

impl ImportObserver for Collect {
    fn rejected(&mut self, rejection: &Rejection) {
        self.0.push(rejection.clone());
    }
    fn progress(&mut self, _: u64) {}
}

fn file(contents: &str, suffix: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

async fn import(
    db: &TestDb,
    contents: &str,
    suffix: &str,
    batch: usize,
) -> (ImportReport, Vec<Rejection>) {
    let file = file(contents, suffix);
    let mut rejections = Collect::default();
    let (report, result) =
        import_file(db.store.as_ref(), file.path(), batch, &mut rejections).await;
    result.unwrap();
    (report, rejections.0)
}

/// The ten newest twoots stored.
async fn newest(db: &TestDb) -> Vec<twooter::domain::Message> {
    let newest = twooter::store::PageQuery {
        tag: None,
        before: None,
        after: None,
        limit: 10,
    };
    db.store.page(&newest).await.unwrap()
}

fn csv() -> String {
    format!(
        "{bom}message,tag,timestamp
First coffee of the day.,coffee,2023-04-02T09:25:00Z
\"Quoted, with a comma\",Hiking,2022-06-01 08:00:00
,coffee,2023-04-02T09:25:00Z
   ,coffee,2023-04-02T09:25:00Z
{too_long},coffee,2023-04-02T09:25:00Z
bad tag,two words,2023-04-02T09:25:00Z
empty tag,,2023-04-02T09:25:00Z
bad time,coffee,yesterday
too old,coffee,1950-01-01T00:00:00Z
missing fields,coffee
\"multi
line\",jazz,2021-01-01T00:00:00Z
Last one 🎷,jazz,2021-12-31T23:59:59.999Z
",
        bom = '\u{feff}',
        too_long = "a".repeat(281)
    )
}

#[tokio::test]
async fn csv_imports_good_rows_and_reports_each_bad_one() {
    for backend in [Backend::Sqlite, Backend::MySql] {
        let Some(db) = TestDb::new(backend).await else {
            continue;
        };
        // A batch size of 2 makes the good rows span several transactions.
        let (report, rejections) = import(&db, &csv(), ".csv", 2).await;
        assert_eq!(
            report,
            ImportReport {
                imported: 4,
                already_stored: 0,
                rejected: 8
            }
        );
        let found: Vec<_> = rejections
            .iter()
            .map(|r| (r.line, r.reason.split([':', ' ']).next().unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                (4, "text"),
                (5, "text"),
                (6, "text"),
                (7, "tag"),
                (8, "tag"),
                (9, "timestamp"),
                (10, "timestamp"),
                (11, "has"),
            ],
            "{rejections:#?}"
        );
        assert_eq!(rejections[7].reason, "has 2 fields where the header has 3");

        let stats = db.store.stats(0, 3000).await.unwrap();
        let summary: Vec<_> = stats
            .iter()
            .map(|c| (c.year, c.tag.as_str(), c.count))
            .collect();
        assert_eq!(
            summary,
            [(2021, "jazz", 2), (2022, "hiking", 1), (2023, "coffee", 1)]
        );
        assert_eq!(crate::conformance::recount(db.store.as_ref()).await, stats);

        // Imported twoots keep their time, and their ids order by it.
        let page = newest(&db).await;
        let times: Vec<_> = page.iter().map(|m| m.timestamp.to_rfc3339()).collect();
        assert_eq!(
            times,
            [
                "2023-04-02T09:25:00+00:00",
                "2022-06-01T08:00:00+00:00",
                "2021-12-31T23:59:59.999+00:00",
                "2021-01-01T00:00:00+00:00"
            ]
        );
        assert_eq!(page[1].text, "Quoted, with a comma");
        assert_eq!(page[1].tag, "hiking");
        assert_eq!(page[3].text, "multi\nline");
    }
}

#[tokio::test]
async fn malformed_quoting_is_reported_with_its_line_and_never_merges_rows() {
    for backend in [Backend::Sqlite, Backend::MySql] {
        let Some(db) = TestDb::new(backend).await else {
            continue;
        };
        let csv = "message,tag,timestamp
\"broken quote,coffee,2023-01-01T00:00:00Z
\"ok two\",coffee,2023-01-02T00:00:00Z
\"closed\" then text,coffee,2023-01-03T00:00:00Z
a \"stray\" quote,coffee,2023-01-04T00:00:00Z
\"a real
two-line twoot\",coffee,2023-01-05T00:00:00Z
last good,coffee,2023-01-06T00:00:00Z
\"left open at the end,coffee,2023-01-07T00:00:00Z
";
        let (report, rejections) = import(&db, csv, ".csv", 100).await;
        let lines: Vec<_> = rejections.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4, 5, 9], "{rejections:#?}");
        assert!(
            rejections[0].reason.contains("closed on line 3"),
            "{rejections:#?}"
        );
        assert!(rejections[1]
            .reason
            .contains("text after its closing quote"));
        assert!(rejections[2].reason.contains("does not start with one"));
        assert!(rejections[3].reason.contains("never closed"));
        assert_eq!((report.imported, report.rejected), (3, 4));
        let page = newest(&db).await;
        let texts: Vec<_> = page.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["last good", "a real\ntwo-line twoot", "ok two"]);
    }
}

#[tokio::test]
async fn future_times_are_rejected() {
    let db = TestDb::sqlite().await;
    let csv = "message,tag,timestamp\nfrom the future,coffee,2100-01-01T00:00:00Z\n";
    let (report, rejections) = import(&db, csv, ".csv", 10).await;
    assert_eq!(report.rejected, 1);
    assert_eq!(rejections[0].reason, "timestamp: must not be in the future");
}

#[tokio::test]
async fn json_from_the_prototypes_api_imports_with_line_numbers() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else {
        return;
    };
    let json = r#"[
  {"id": 1, "text": "From the prototype", "tag": "Coffee", "timestamp": "2023-04-02T09:25:00"},
  {"id": 2, "text": "", "tag": "coffee", "timestamp": "2023-04-02T09:25:00"},
  {"id": 3, "text": "no tag", "timestamp": "2023-04-02T09:25:00"},
  {"id": 4, "text": 5, "tag": "coffee", "timestamp": "2023-04-02T09:25:00"},
  "not an object",
  {
    "id": 5,
    "message": "spread over lines",
    "tag": "jazz",
    "timestamp": "2020-05-05T05:05:05+02:00"
  }
]"#;
    let (report, rejections) = import(&db, json, ".json", 1000).await;
    assert_eq!(
        report,
        ImportReport {
            imported: 2,
            already_stored: 0,
            rejected: 4
        }
    );
    let lines: Vec<_> = rejections.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 5, 6], "{rejections:#?}");
    assert!(rejections[1].reason.contains("tag: is required"));
    let stats = db.store.stats(0, 3000).await.unwrap();
    assert_eq!(
        stats
            .iter()
            .map(|c| (c.year, c.tag.as_str()))
            .collect::<Vec<_>>(),
        [(2020, "jazz"), (2023, "coffee")]
    );
}

#[tokio::test]
async fn files_that_are_not_twoots_stop_the_import() {
    let db = TestDb::sqlite().await;
    for (contents, suffix, expected) in [
        ("name,age\nbob,3\n", ".csv", "message, tag and timestamp"),
        ("[{\"text\": \"a\"", ".json", "not closed"),
    ] {
        let file = file(contents, suffix);
        let mut sink = Collect::default();
        let (_, result) = import_file(db.store.as_ref(), file.path(), 10, &mut sink).await;
        let error = result.unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }
}

/// A broken array stops the import, and what came before it is stored and counted in the report.
#[tokio::test]
async fn a_json_item_that_is_not_json_is_skipped_and_a_broken_array_stops_after_its_rows() {
    let db = TestDb::sqlite().await;
    let json = r#"[
  {"text": "one", "tag": "coffee", "timestamp": "2023-04-02T09:25:00Z"},
  {"text": "bad literal", "tag": nope, "timestamp": "2023-04-02T09:25:00Z"},
  {"text": "two", "tag": "coffee", "timestamp": "2023-04-02T09:26:00Z"}
  {"text": "after a missing comma", "tag": "coffee", "timestamp": "2023-04-02T09:27:00Z"}
]"#;
    let file = file(json, ".json");
    let mut sink = Collect::default();
    let (report, result) = import_file(db.store.as_ref(), file.path(), 1, &mut sink).await;
    assert_eq!((report.imported, report.rejected), (2, 1), "{:?}", sink.0);
    assert_eq!(sink.0[0].line, 3);
    assert!(sink.0[0].reason.starts_with("is not valid JSON"));
    match result {
        Err(ImportError::Json(reason)) => {
            assert_eq!(reason, "line 5: expected , or ] after an item")
        }
        other => panic!("{other:?}"),
    }
}

/// The binary says what it stored also when it stops part-way.
#[test]
fn the_summary_is_printed_when_the_import_stops() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.json"),
        r#"[{"text": "kept", "tag": "coffee", "timestamp": "2023-04-02T09:25:00Z"} x"#,
    )
    .unwrap();
    let stderr = run(
        dir.path(),
        "sqlite:broken.db",
        &["import", "broken.json"],
        1,
    );
    assert!(
        stderr.contains("imported 1 twoots, skipped 0 already stored, rejected 0 rows"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 1: expected , or ] after an item"),
        "{stderr}"
    );
}

mod rerun;
