//! Workflows shared by the example binaries and the process-level tests.

pub mod orders {
    //! A small order workflow: reserve stock, wait on a durable timer,
    //! ship. With `CONTINUUM_HANG_IN_SHIP=1` the `ship` activity announces
    //! itself (a file in `CONTINUUM_MARKER_DIR`) and then hangs, so a test
    //! can kill the process with SIGKILL in the middle of it.

    use std::time::Duration;

    use continuum::prelude::*;

    /// Reserves stock; returns the units reserved.
    #[activity(retry(max_attempts = 3, initial = "100ms"))]
    pub async fn reserve(order: String) -> Result<u32, ActivityError> {
        Ok(u32::try_from(order.len()).unwrap_or(0))
    }

    /// Ships the units; returns a shipment number.
    #[activity(retry(max_attempts = 3, initial = "100ms"))]
    pub async fn ship(units: u32) -> Result<u32, ActivityError> {
        if let Some(dir) = std::env::var_os("CONTINUUM_MARKER_DIR") {
            let marker = std::path::Path::new(&dir).join(format!("ship-{}", std::process::id()));
            std::fs::write(marker, b"").retryable()?;
        }
        if std::env::var_os("CONTINUUM_HANG_IN_SHIP").is_some() {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok(units * 10)
    }

    /// Reserve, wait half a second on a durable timer, ship.
    #[workflow]
    pub async fn ship_order(ctx: &WorkflowContext, order: String) -> Result<u32, WorkflowError> {
        let units = ctx.activity(reserve, order).await?;
        ctx.sleep(millis(500)).await;
        let shipped = ctx.activity(ship, units).await?;
        Ok(shipped)
    }

    /// Like `ship_order`, with a timer long enough to kill the process
    /// while the run waits on it (and nothing else would wake the run).
    #[workflow]
    pub async fn timed_order(ctx: &WorkflowContext, order: String) -> Result<u32, WorkflowError> {
        let units = ctx.activity(reserve, order).await?;
        ctx.sleep(seconds(4)).await;
        let shipped = ctx.activity(ship, units).await?;
        Ok(shipped)
    }
}
