//! `GET /messages/{id}`: an id that names no twoot is 404, whatever its form.

use crate::support::{fresh_app, get};

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let (_db, app) = fresh_app().await;
    let unknown = ["12345", "abc", "-1", "99999999999999999999"];
    for id in unknown {
        get(&app, &format!("/messages/{id}")).await.problem(404);
    }
}
