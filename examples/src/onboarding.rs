//! The two-process example's workflow: onboarding a new customer. A
//! worker process (`onboarding_worker`) hosts it; a client process
//! (`onboarding_client`) that hosts nothing starts runs, signals them and
//! reads their results.

use continuum::prelude::*;

/// Who is being onboarded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Customer {
    /// The customer's id (the workflow id is derived from it).
    pub id: String,
    /// Where to send mail.
    pub email: String,
}

/// The `verified` signal's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    /// The code the customer typed.
    pub code: String,
}

/// What onboarding produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Onboarded {
    /// The account created.
    pub account: String,
    /// Whether the customer verified their email within the deadline.
    pub verified: bool,
}

/// Creates the customer's account (an idempotent call to the accounts
/// service, in a real system).
#[activity(retry(max_attempts = 5, initial = "100ms", multiplier = 2.0, max = "2s"), timeout = "10s")]
pub async fn create_account(customer: Customer) -> Result<String, ActivityError> {
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    Ok(format!("acct-{}", customer.id))
}

/// Sends a mail (a template name and the address).
#[activity(retry(max_attempts = 3), timeout = "10s")]
pub async fn send_mail((template, email): (String, String)) -> Result<(), ActivityError> {
    tracing::info!(%template, %email, "mail sent");
    Ok(())
}

/// Creates the account, mails a verification code, waits up to a day for
/// the `verified` signal, then sends the welcome (or reminder) mail.
#[workflow]
pub async fn onboard(ctx: &WorkflowContext, customer: Customer) -> Result<Onboarded, WorkflowError> {
    let account = ctx.activity(create_account, customer.clone()).await?;
    ctx.activity(send_mail, ("verify".to_owned(), customer.email.clone())).await?;
    let verified = match ctx.signal::<Verification>("verified").timeout(hours(24)).await {
        Ok(v) if !v.code.is_empty() => true,
        Ok(_) => return Err(WorkflowError::msg("an empty verification code")),
        Err(SignalError::TimedOut { .. }) => false,
        Err(e) => return Err(e.into()),
    };
    let template = if verified { "welcome" } else { "reminder" };
    ctx.activity(send_mail, (template.to_owned(), customer.email)).await?;
    Ok(Onboarded { account, verified })
}

/// The workflow id of a customer's onboarding.
pub fn workflow_id(customer: &str) -> String {
    format!("onboarding-{customer}")
}
