//! API keys: kept by id, listed, revoked.

use super::*;

/// Keys are stored and read back whole, listed in order of creation, and revoked once.
pub(super) async fn keeps_api_keys_by_id_and_revokes_them(store: Arc<dyn Store>) {
    use twooter::domain::{PresentedKey, Role};
    use twooter::store::ApiKeyRow;
    assert!(store.api_keys().await.unwrap().is_empty());
    let mut made = Vec::new();
    for (name, role) in [("ops", Role::Admin), ("bot «1»", Role::Poster)] {
        let key = PresentedKey::generate();
        let row = ApiKeyRow {
            id: key.id.clone(),
            name: name.to_owned(),
            role,
            secret: key.hash(),
            created_at: 1_700_000_000_000 + made.len() as i64,
            revoked_at: None,
        };
        store.create_api_key(&row).await.unwrap();
        made.push((key, row));
    }
    let (admin, admin_row) = &made[0];
    let read = store.api_key(&admin.id).await.unwrap().expect("stored");
    assert_eq!(&read, admin_row);
    assert!(read.secret.matches(&admin.hash()));
    assert!(store.api_key("0000000000000000").await.unwrap().is_none());
    let listed = store.api_keys().await.unwrap();
    assert_eq!(
        listed,
        made.iter().map(|(_, row)| row.clone()).collect::<Vec<_>>()
    );

    assert!(store
        .revoke_api_key(&admin.id, 1_800_000_000_000)
        .await
        .unwrap());
    assert!(!store
        .revoke_api_key(&admin.id, 1_900_000_000_000)
        .await
        .unwrap());
    assert!(!store.revoke_api_key("0000000000000000", 1).await.unwrap());
    let revoked = store.api_key(&admin.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(1_800_000_000_000));
    let poster = store.api_key(&made[1].0.id).await.unwrap().unwrap();
    assert_eq!(poster.revoked_at, None);
    assert_eq!(poster.name, "bot «1»");
}
