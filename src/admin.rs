//! `social-live admin create`: the first admin without SQL.

use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cli::AdminCreateArgs;

/// The variable the password is read from (else stdin's first line).
const PASSWORD_VAR: &str = "SOCIAL_LIVE_ADMIN_PASSWORD";

pub fn create(data_dir: &Path, args: &AdminCreateArgs) -> Result<()> {
    let handle = api::http::validate::handle(&args.handle).map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = match std::env::var(PASSWORD_VAR) {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    api::http::validate::password("password", &password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let url = crate::serve::database_url(data_dir, args.database_url.clone())?;
        let store = api::Store::connect(&url, 2).await?;
        let cpu = api::cpu::CpuPool::new(1, Duration::from_secs(60));
        let hash = api::auth::password::hash(&cpu, password)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let created = store.create_admin(&handle, &hash).await?;
        store.pool.close().await;
        let Some(user) = created else {
            bail!("the handle @{handle} is taken; choose another (an admin can then promote it)");
        };
        writeln!(
            std::io::stdout().lock(),
            "created admin @{} (id {})",
            user.handle,
            user.id
        )?;
        Ok(())
    })
}
