//! `GET /messages/{id}`: an id that names no twoot is 404, whatever its form.

use crate::support::{fresh_app, get};

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let (_db, app) = fresh_app().await;
    for uri in [
        "/messages/12345",
        "/messages/abc",
        "/messages/-1",
        "/messages/99999999999999999999",
    ] {
        get(&app, uri).await.problem(404);
    }
}
