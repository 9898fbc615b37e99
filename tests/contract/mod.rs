//! One contract suite per port (`src/ports.rs`): each case is a function over a fresh fixture of
//! that port, run against the in-memory adapter (tests/memory_contracts.rs, no emulator) and the
//! real one (tests/api/*_contract.rs, on DynamoDB Local, moto or a fake Slack), so that the two
//! cannot drift.
//!
//! Each port's module says what its fixture must offer and exports a macro that writes one
//! `#[tokio::test]` per case: `store_contract!`, `iam_contract!`, `identity_center_contract!`,
//! `slack_contract!`, each given an async expression that yields a fresh fixture.

/// The account the fixtures make roles and provision permission sets in: moto's default account,
/// and the in-memory adapters' likewise.
pub const ACCOUNT: &str = "123456789012";

pub mod iam;
pub mod identity_center;
pub mod slack;
pub mod store;

/// One `#[tokio::test]` per case of the contract in `contract::$port`, each on the fixture that
/// `$make` (an async expression) yields.
#[macro_export]
macro_rules! contract_cases {
    ($port:ident, $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::contract::$port::$case($make.await).await;
            }
        )*
    };
}
