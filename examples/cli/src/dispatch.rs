//! `crm dispatch`: clients retried for converted leads whose clients system call failed.

use crm_config::sentence;
use serde_json::json;

use crate::app::{App, Out};

/// `crm dispatch`.
pub(crate) async fn run(app: &App) -> Out {
    let r = app.crm.dispatch_pending(app.actor()?).await?;
    let created: Vec<_> = r
        .created
        .iter()
        .map(|(l, c)| json!({"lead_id": l, "client_id": c}))
        .collect();
    let failed: Vec<_> = r
        .failed
        .iter()
        .map(|(l, e)| json!({"lead_id": l, "error": sentence(e)}))
        .collect();
    app.print(json!({"created": created, "failed": failed}), || {
        format!(
            "created {} client(s), {} failed\n",
            r.created.len(),
            r.failed.len()
        )
    });
    Ok(())
}
