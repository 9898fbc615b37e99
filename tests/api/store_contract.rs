//! The `AuditStore` contract (tests/contract) on the DynamoDB store, on a fresh table in
//! DynamoDB Local for each case.

use std::sync::Arc;

use revoke_role_bot::aws::dynamodb::DynamoStore;

use crate::contract::store::Store;
use crate::helpers::*;

async fn fresh_table() -> Store {
    let store = DynamoStore::new(&aws_config().await, &unique("contract"));
    store
        .create_table()
        .await
        .expect("create table in DynamoDB Local");
    Arc::new(store)
}

crate::store_contract!(fresh_table());
