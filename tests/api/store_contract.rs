//! The `AuditStore` contract (tests/contract) on the DynamoDB store, on a fresh table in
//! DynamoDB Local for each case.

use crate::contract::store::Store;
use crate::helpers::*;

async fn fresh_table() -> Store {
    audit_table(&aws_config().await, "contract").await.1
}

crate::store_contract!(fresh_table());
