//! Importing the prototype's CSV and JSON: every bad row reported with its line and skipped,
//! every good row stored and counted.

use std::io::Write;

use twooter::domain::NodeId;
use twooter::import::{import_file, ImportObserver, ImportReport, Rejection};

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
    let report = import_file(
        db.store.as_ref(),
        file.path(),
        NodeId::new(4).unwrap(),
        batch,
        &mut rejections,
    )
    .await
    .unwrap();
    (report, rejections.0)
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
        let page = db
            .store
            .page(&twooter::store::PageQuery {
                tag: None,
                before: None,
                after: None,
                limit: 10,
            })
            .await
            .unwrap();
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
async fn importing_the_same_file_twice_stores_it_twice() {
    let db = TestDb::sqlite().await;
    let rows: String = (0..50)
        .map(|i| format!("same {i},coffee,2023-04-02T09:25:00Z\n"))
        .collect();
    let csv = format!("message,tag,timestamp\n{rows}");
    for _ in 0..2 {
        let (report, rejections) = import(&db, &csv, ".csv", 20).await;
        assert_eq!(report.imported, 50, "{rejections:?}");
    }
    assert_eq!(db.store.stats(0, 3000).await.unwrap()[0].count, 100);
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
        ("[{\"text\": \"a\"", ".json", "JSON"),
    ] {
        let file = file(contents, suffix);
        let node = NodeId::new(1).unwrap();
        let mut sink = Collect::default();
        let error = import_file(db.store.as_ref(), file.path(), node, 10, &mut sink)
            .await
            .unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }
}
