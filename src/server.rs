//! The long-running service: HTTP server, outbox dispatcher and job runner, stopped gracefully
//! on SIGTERM or Ctrl-C (in-flight sends and the job in hand finish; nothing stays claimed).

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tokio::sync::watch;

use crate::config::Config;
use crate::sms::outbox::dispatcher;
use crate::{db, AppState};

pub async fn run(config: Config) -> anyhow::Result<()> {
    let state = tokio::task::spawn_blocking(move || AppState::new(config)).await??;
    // Deadlines past the calendar data are only estimates: say so well before the year turns.
    let horizon = state.config.today() + chrono::Duration::days(90);
    let (_, last) = state.calendar.years();
    if chrono::Datelike::year(&horizon) > last {
        tracing::warn!(
            last_year = last,
            "the working-day calendar ends with {last}: add calendar/national/{}.toml (and the regional file) to calendar_dir",
            last + 1
        );
    }
    if state.config.smtp.host.is_some() && state.config.public_url.is_none() {
        // Referral emails carry links built on public_url; the listen address is no use to a
        // department reading its mail elsewhere.
        tracing::warn!(
            "smtp is configured but public_url is not: acknowledgement links in referral emails will point at {}",
            state.config.public_base_url()
        );
    }
    let running = start(state).await?;
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests and sends in flight");
    running.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

/// The service running: HTTP server, outbox dispatcher workers, job runner.
pub struct Running {
    handle: actix_web::dev::ServerHandle,
    stop_tx: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts serving `state` on `state.config.listen`. Tests start the whole service this way
/// over a state whose clock they move.
pub async fn start(state: AppState) -> anyhow::Result<Running> {
    let url = db::redact_url(&state.config.database_url);
    let listen = state.config.listen.clone();
    let web_state = crate::web::WebState::new(state.clone())?;
    let data = web::Data::new(web_state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(crate::web::log_request))
            .configure(crate::web::configure)
    })
    .disable_signals()
    .shutdown_timeout(20)
    .bind(&listen)
    .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?
    .run();
    let handle = server.handle();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = dispatcher::spawn(&state, stop_rx.clone());
    tasks.push(tokio::spawn(web_state.tidy(stop_rx.clone())));
    tasks.push(tokio::spawn(state.job_runner().run(stop_rx)));
    let channels: Vec<String> = state
        .channels
        .iter()
        .map(|c| format!("{}({})", c.config().id, c.config().kind.as_str()))
        .collect();
    tracing::info!(%listen, database = %url, channels = %channels.join(","), version = env!("CARGO_PKG_VERSION"), "hotline serving");
    let server_task = tokio::spawn(server);
    Ok(Running {
        handle,
        stop_tx,
        tasks,
        server_task,
    })
}

impl Running {
    /// Stops gracefully: requests and sends in flight finish, the job in hand too.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.handle.stop(true).await;
        let _ = self.stop_tx.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.server_task.await??;
        Ok(())
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
