//! The table: `create-table` for local use, and the `check-config` check of keys and indexes.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

use super::super::describe;
use crate::ports::StoreError;

use super::items::*;
use super::{DynamoStore, INDEXES};

impl DynamoStore {
    /// `create-table`: the table and its indexes, if missing (local development and tests).
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        if self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .is_ok()
        {
            return Ok(false);
        }
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build_err)
        };
        let mut attrs = HashSet::new();
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?);
        attrs.insert("pk");
        attrs.insert("sk");
        for (name, h, r) in INDEXES {
            attrs.insert(h);
            attrs.insert(r);
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .key_schema(key(h, KeyType::Hash)?)
                    .key_schema(key(r, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(build_err)?,
            );
        }
        for a in attrs {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(a)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(build_err)?,
            );
        }
        req.send().await.map_err(unavailable)?;
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(Duration::from_secs(120))
            .await
            .map_err(|e| {
                StoreError::unavailable(format!(
                    "table {} did not become ACTIVE: {}",
                    self.table,
                    describe(&e)
                ))
            })?;
        Ok(true)
    }
}

/// What `check-config` found wrong with the table.
#[derive(Debug, thiserror::Error)]
pub enum TableCheckError {
    #[error(
        "table {0} does not exist; deploy deploy/bot.yaml (or run `revoke-role-bot create-table` locally)"
    )]
    Missing(String),
    #[error("cannot describe table {table}: {detail}")]
    Unreadable { table: String, detail: String },
    #[error("table {0}: empty description")]
    Empty(String),
    #[error("table {table} must have keys pk (HASH) and sk (RANGE), has {found:?}")]
    Keys {
        table: String,
        found: Vec<(String, String)>,
    },
    #[error("table {table} has no index {index} ({hash}, {range}); see the README's table layout")]
    NoIndex {
        table: String,
        index: &'static str,
        hash: &'static str,
        range: &'static str,
    },
    #[error("index {index} must have keys {hash} (HASH) and {range} (RANGE)")]
    IndexKeys {
        index: &'static str,
        hash: &'static str,
        range: &'static str,
    },
}

/// `check-config`: the table exists with the expected keys and every index the lookups need.
pub async fn check_table(
    config: &aws_config::SdkConfig,
    table: &str,
) -> Result<String, TableCheckError> {
    let client = Client::new(config);
    let out = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception())
            {
                TableCheckError::Missing(table.to_string())
            } else {
                TableCheckError::Unreadable {
                    table: table.to_string(),
                    detail: describe(&e),
                }
            }
        })?;
    let t = out
        .table()
        .ok_or_else(|| TableCheckError::Empty(table.to_string()))?;
    let keys = |schema: &[KeySchemaElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect()
    };
    let expect = |h: &str, r: &str| {
        vec![
            (h.to_string(), "HASH".to_string()),
            (r.to_string(), "RANGE".to_string()),
        ]
    };
    if keys(t.key_schema()) != expect("pk", "sk") {
        return Err(TableCheckError::Keys {
            table: table.to_string(),
            found: keys(t.key_schema()),
        });
    }
    for (index, hash, range) in INDEXES {
        match t
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name() == Some(index))
        {
            None => {
                return Err(TableCheckError::NoIndex {
                    table: table.to_string(),
                    index,
                    hash,
                    range,
                });
            }
            Some(i) if keys(i.key_schema()) != expect(hash, range) => {
                return Err(TableCheckError::IndexKeys { index, hash, range });
            }
            Some(_) => {}
        }
    }
    Ok(format!(
        "dynamodb: table {table} and its {} indexes are as expected",
        INDEXES.len()
    ))
}
