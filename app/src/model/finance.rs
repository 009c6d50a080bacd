//! Finance wire types: crediting an ad account's prepaid balance, and the accounts finance
//! staff look through.

use crate::model::{AccountId, Micros};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use validator::Validate;

/// A credit as finance types it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Validate))]
pub struct CreditInput {
    pub account: AccountId,
    /// A decimal amount in the account's currency ("250", "99.50").
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 32, message = "Enter an amount like 250.00."))
    )]
    pub amount: String,
    /// The bank transfer id (or other proof): one credit per reference and account.
    #[cfg_attr(
        feature = "ssr",
        validate(length(
            min = 1,
            max = 100,
            message = "Enter the bank transfer reference (up to 100 characters)."
        ))
    )]
    pub reference: String,
    #[cfg_attr(
        feature = "ssr",
        validate(length(max = 500, message = "At most 500 characters."))
    )]
    pub note: String,
}

/// What a credit did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditResult {
    pub account_name: String,
    pub amount: Micros,
    pub currency: String,
    /// The same reference was credited before: nothing new was written.
    pub already_credited: bool,
    pub available: Micros,
}

/// One ad account in finance's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceAccountRow {
    pub id: AccountId,
    pub name: String,
    pub currency: String,
    pub available: Micros,
    pub held: Micros,
    pub spent: Micros,
    pub credited: Micros,
}

/// A page of ad accounts, searched by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceAccounts {
    pub rows: Vec<FinanceAccountRow>,
    pub page: u64,
    pub total: u64,
    pub query: String,
}
