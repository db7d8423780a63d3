use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hotline::config::{Config, LogFormat};

/// Worker-rights SMS hotline. With no command it serves.
#[derive(Parser)]
#[command(name = "hotline", version, about)]
struct Cli {
    /// Configuration file (default: $HOTLINE_CONFIG, else ./hotline.toml if present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP and send the outbox (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the version.
    Version,
    /// Working days: `--from DATE --add N` prints the date N working days after DATE;
    /// `--list YEAR` prints every day of a year as `YYYY-MM-DD work|off`.
    Calendar {
        #[arg(long, requires = "add", conflicts_with = "list")]
        from: Option<chrono::NaiveDate>,
        #[arg(long, requires = "from")]
        add: Option<u32>,
        #[arg(long)]
        list: Option<i32>,
        /// Regional layer, e.g. `xizang`, or `national` for the national calendar alone
        /// (default: the service's, the `region` setting: `xizang` unless configured).
        #[arg(long)]
        region: Option<String>,
    },
    /// API tokens: `token create --role inspector --name NAME`, `token list`, `token revoke ID`.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Console accounts: `user add --username U --name N --role R [--department D]
    /// [--agency A]` (the
    /// password is read from standard input), `user list`, `user passwd U`, `user disable U`.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The project registry (codes on site notice boards).
    Projects {
        #[command(subcommand)]
        command: ProjectsCommand,
    },
    /// The labour-force register (劳动力资源台账): `workers import FILE.csv`,
    /// `workers export [--out FILE]`, `workers invite`.
    Workers {
        #[command(subcommand)]
        command: WorkersCommand,
    },
    /// Placements (a worker placed with an employer, followed up by SMS after the start):
    /// `placements import FILE.csv`.
    Placements {
        #[command(subcommand)]
        command: PlacementsCommand,
    },
    /// Training courses and their trainees (followed up after the course's end):
    /// `trainings import FILE.csv`.
    Trainings {
        #[command(subcommand)]
        command: TrainingsCommand,
    },
    /// Gateways: `channels test ID --to PHONE` sends one SMS through a configured channel, not
    /// through the outbox, and says what the gateway answered.
    Channels {
        #[command(subcommand)]
        command: ChannelsCommand,
    },
    /// The tamper-evident record: `audit verify [--anchor SEQ:HASH]` walks the hash chain over
    /// audit events, complaints and workers' messages and exits 1 if anything was changed,
    /// deleted or inserted; `audit seal` seals what is new now (the service does it every few
    /// seconds).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Fill an empty database with a demonstration (projects, complaints in Tibetan and
    /// Chinese, cases at every stage, a referral, one account per role) and print the logins.
    Demo,
    /// Exit 0 if the running service answers /readyz (for container health checks).
    Healthcheck {
        /// Base URL of the service (default: http://{listen}).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the whole chain; prints its head (`SEQ:HASH`), the anchor to keep elsewhere.
    Verify {
        /// A head printed by an earlier run: the chain must still pass through it.
        #[arg(long)]
        anchor: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Seal every row not sealed yet, and print the head.
    Seal,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token and print it (once: only its hash is kept).
    Create {
        /// admin, inspector, liaison, officer or broker
        #[arg(long)]
        role: String,
        /// Who or what holds it, for the audit trail.
        #[arg(long)]
        name: String,
        /// A broker's agency: the token sees that agency's notices only.
        #[arg(long)]
        agency: Option<String>,
        /// A liaison's department (its code, e.g. 交通): the token sees the cases referred
        /// there only.
        #[arg(long)]
        department: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum ChannelsCommand {
    /// Send one test SMS through channel ID and print the gateway's answer.
    Test {
        /// The channel's id in the configuration.
        id: String,
        /// The phone to send to (yours).
        #[arg(long)]
        to: String,
        /// The text's language: zh or bo.
        #[arg(long, default_value = "zh")]
        lang: String,
        /// A text of your own instead of the test message.
        #[arg(long)]
        text: Option<String>,
    },
}

#[derive(Subcommand)]
enum ProjectsCommand {
    /// Add and update projects from a CSV file (columns: see README, "Importing projects").
    /// Nothing is written if any row is bad.
    Import {
        /// CSV, UTF-8, with a header row.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum WorkersCommand {
    /// Add and update workers from a CSV file (columns: see README, "Labour-force register").
    /// Nothing is written if any row is bad. Consent comes only from a consent column saying
    /// yes with how it was recorded; an import never removes a consent.
    Import {
        /// CSV, UTF-8, with a header row (Chinese or English column names).
        file: PathBuf,
    },
    /// Write the whole register as CSV (Chinese headers, UTF-8 with a BOM for Excel), in the
    /// columns `workers import` reads.
    Export {
        /// The file to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Queue the one-time SMS invitation to job alerts for every register worker without
    /// consent, never invited and not opted out. Running it again invites no one twice.
    Invite,
}

#[derive(Subcommand)]
enum PlacementsCommand {
    /// Record placements from a CSV file (columns: see README, "Placements and trainings"),
    /// each with its follow-ups. Nothing is written if any row is bad; a placement already
    /// recorded (same worker, employer and start date) is not recorded again.
    Import {
        /// CSV, UTF-8, with a header row (Chinese or English column names).
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TrainingsCommand {
    /// Record training courses and their trainees from a CSV file, one row per trainee
    /// (columns: see README, "Placements and trainings"), each trainee with their follow-ups.
    /// Nothing is written if any row is bad; a trainee already on a course is not added twice.
    Import {
        /// CSV, UTF-8, with a header row (Chinese or English column names).
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a console user; the password is the first line of standard input.
    Add {
        #[arg(long)]
        username: String,
        /// The person's name as shown in the console.
        #[arg(long)]
        name: String,
        /// admin, supervisor, inspector, liaison, officer or broker
        #[arg(long)]
        role: String,
        /// A broker's agency (劳务公司): their notices are the agency's.
        #[arg(long)]
        agency: Option<String>,
        /// A liaison's department (住建, 交通, 水利, 发改, 公安 …).
        #[arg(long)]
        department: Option<String>,
    },
    /// List users (never their password hashes).
    List,
    /// Set a new password, read from standard input.
    Passwd { username: String },
    /// Stop a user from logging in.
    Disable { username: String },
    /// Let a disabled user log in again.
    Enable { username: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Version) = cli.command {
        println!("hotline {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => runtime.block_on(hotline::server::run(config)),
        Command::Migrate => migrate(&config),
        Command::Projects {
            command: ProjectsCommand::Import { file },
        } => import_projects(&config, &file),
        Command::Workers { command } => workers(config, command),
        Command::Placements {
            command: PlacementsCommand::Import { file },
        } => import_followups(config, &file, Import::Placements),
        Command::Trainings {
            command: TrainingsCommand::Import { file },
        } => import_followups(config, &file, Import::Trainings),
        Command::Demo => runtime.block_on(demo(config)),
        Command::Channels {
            command: ChannelsCommand::Test { id, to, lang, text },
        } => runtime.block_on(channels_test(&config, &id, &to, &lang, text)),
        Command::Healthcheck { url } => runtime.block_on(healthcheck(&config, url)),
        Command::Token { command } => token(&config, command),
        Command::Audit { command } => audit(&config, command),
        Command::User { command } => user(&config, command),
        Command::Calendar {
            from,
            add,
            list,
            region,
        } => calendar(&config, from.zip(add), list, region.as_deref()),
        Command::Version => unreachable!(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal, not in files or journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn channels_test(
    config: &Config,
    id: &str,
    to: &str,
    lang: &str,
    text: Option<String>,
) -> anyhow::Result<()> {
    use hotline::sms::channels::{Channels, OutgoingSms};
    let phone = hotline::text::normalize_phone(to, &config.default_country_code)
        .map_err(|e| anyhow::anyhow!("--to {to:?}: {e}"))?;
    let language = hotline::db::models::Language::parse(lang)
        .filter(|l| *l != hotline::db::models::Language::Both)
        .ok_or_else(|| anyhow::anyhow!("--lang {lang:?}: use zh or bo"))?;
    let body = match text {
        Some(t) => t,
        None => hotline::templates::Templates::load(
            config.templates_dir.as_deref(),
            &config.sender_name,
        )?
        .with_sender_bo(&config.sender_name_bo)
        .render(
            language,
            "channel_test",
            &serde_json::json!({ "channel": id }),
        )?,
    };
    let http = reqwest::Client::builder()
        .user_agent(concat!("hotline/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let channels = Channels::new(config.effective_channels(), &config.public_base_url(), http);
    let channel = channels.get(id).ok_or_else(|| {
        let known: Vec<String> = channels
            .iter()
            .map(|c| c.config().id.clone())
            .filter(|c| c != hotline::sms::channels::SIMULATOR)
            .collect();
        anyhow::anyhow!("no channel {id:?}; configured: {}", known.join(", "))
    })?;
    let msg = OutgoingSms {
        id: hotline::db::new_id(),
        to: phone.clone(),
        encoding: hotline::text::sms_size(&body).encoding,
        text: body,
        priority: 0,
        validity_secs: Some(3600),
    };
    match channel.send(&msg).await {
        Ok(a) => {
            println!(
                "{id} ({}): accepted for {}: {}",
                channel.config().kind.as_str(),
                hotline::text::mask_phone(&phone),
                a.detail
            );
            Ok(())
        }
        Err(e) => anyhow::bail!("{id} ({}): {e}", channel.config().kind.as_str()),
    }
}

async fn demo(config: Config) -> anyhow::Result<()> {
    let state = tokio::task::spawn_blocking(move || hotline::AppState::new(config)).await??;
    let logins = hotline::demo::run(&state).await?;
    let base = state.config.public_base_url();
    println!("Demo data added. Start the service (`hotline`) and open {base}/console/");
    println!();
    println!("{:<10} {:<11} {:<18} name", "username", "role", "password");
    for l in &logins {
        println!(
            "{:<10} {:<11} {:<18} {}",
            l.username, l.role, l.password, l.name
        );
    }
    println!();
    println!("The passwords are shown only now. Referral emails wait in the job queue until [smtp] is configured.");
    println!(
        "Try the worker simulator (短信模拟) as tashi: text 欠薪, or HELP, or a Tibetan keyword."
    );
    Ok(())
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = hotline::db::Db::connect(&config.database_url, 1)?;
    let n = db.migrate()?;
    println!(
        "{n} migration(s) applied to {}",
        hotline::db::redact_url(&config.database_url)
    );
    Ok(())
}

fn token(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    use hotline::accounts::tokens::{self, Role};
    let db = hotline::db::Db::connect(&config.database_url, 1)?;
    db.migrate()?;
    let mut conn = db.get()?;
    match command {
        TokenCommand::Create {
            role,
            name,
            agency,
            department,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!(
                    "--role: use admin, inspector, liaison, officer or broker, not {role:?}"
                )
            })?;
            anyhow::ensure!(!name.trim().is_empty(), "--name: say who holds the token");
            let agency = agency.as_deref().map(str::trim).filter(|a| !a.is_empty());
            anyhow::ensure!(
                role != Role::Broker || agency.is_some(),
                "--agency: a broker's token belongs to one agency; name it"
            );
            let department = department
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty());
            if role == Role::Liaison {
                let d = department.ok_or_else(|| {
                    anyhow::anyhow!(
                        "--department: a liaison's token belongs to one department; name its code"
                    )
                })?;
                anyhow::ensure!(
                    hotline::cases::departments::active(&mut conn)?
                        .iter()
                        .any(|k| k.code == d),
                    "--department: no active department {d:?} (see /console/departments)"
                );
            }
            let (id, secret) = tokens::create(&mut conn, name.trim(), role, agency, department)?;
            eprintln!(
                "token {id} for {} ({}); keep it secret, it is not shown again:",
                name.trim(),
                role.as_str()
            );
            println!("{secret}");
        }
        TokenCommand::List => {
            for t in tokens::list(&mut conn)? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}  {:<9}  {:<7}  {}  last used {}",
                    t.id,
                    t.role,
                    state,
                    t.name,
                    t.last_used_at
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
        TokenCommand::Revoke { id } => {
            anyhow::ensure!(tokens::revoke(&mut conn, &id)?, "no active token {id}");
            println!("revoked {id}");
        }
    }
    Ok(())
}

fn import_projects(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let reader = std::fs::File::open(file).with_context(|| format!("{}", file.display()))?;
    let db = hotline::db::Db::connect(&config.database_url, 1)?;
    db.migrate()?;
    let report = hotline::projects::import_csv(&mut *db.get()?, reader)
        .with_context(|| format!("{}", file.display()))?;
    println!(
        "imported {}: {} new, {} updated",
        file.display(),
        report.inserted,
        report.updated
    );
    Ok(())
}

fn audit(config: &Config, command: AuditCommand) -> anyhow::Result<()> {
    use hotline::ledger;
    let db = hotline::db::Db::connect(&config.database_url, 1)?;
    db.migrate()?;
    let mut conn = db.get()?;
    match command {
        AuditCommand::Seal => {
            let (n, (seq, hash)) = ledger::seal_all(&mut conn)?;
            println!("sealed {n}; head {seq}:{hash}");
        }
        AuditCommand::Verify { anchor, json } => {
            let anchor = match anchor.as_deref() {
                None => None,
                Some(a) => {
                    let (seq, hash) = a
                        .split_once(':')
                        .and_then(|(s, h)| Some((s.trim().parse::<i64>().ok()?, h.trim())))
                        .ok_or_else(|| anyhow::anyhow!("--anchor {a:?}: give SEQ:HASH"))?;
                    Some((seq, hash))
                }
            };
            let report = ledger::verify(&mut conn, anchor)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{} entries checked; head {}:{}; {} row(s) not sealed yet",
                    report.entries, report.head_seq, report.head_hash, report.unsealed
                );
                for p in &report.problems {
                    let at = p.seq.map(|s| format!("entry {s}: ")).unwrap_or_default();
                    println!("{at}{} {} {}", p.what, p.kind, p.ref_id);
                }
            }
            if !report.ok() {
                anyhow::bail!(
                    "the record was altered: {} problem(s) found",
                    report.problem_count
                );
            }
            if !json {
                println!("intact");
            }
        }
    }
    Ok(())
}

fn workers(config: Config, command: WorkersCommand) -> anyhow::Result<()> {
    use anyhow::Context;
    use hotline::alerts::register;
    let actor = "cli";
    match command {
        WorkersCommand::Import { file } => {
            let reader =
                std::fs::File::open(&file).with_context(|| format!("{}", file.display()))?;
            let db = hotline::db::Db::connect(&config.database_url, 1)?;
            db.migrate()?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let report = register::import_csv(
                &mut *db.get()?,
                &config.register_rules(),
                reader,
                &name,
                actor,
            )
            .with_context(|| format!("{}", file.display()))?;
            println!(
                "imported {}: {} new, {} updated",
                file.display(),
                report.inserted,
                report.updated
            );
        }
        WorkersCommand::Export { out } => {
            let db = hotline::db::Db::connect(&config.database_url, 1)?;
            db.migrate()?;
            let mut conn = db.get()?;
            let bytes = register::export_csv(&mut conn, &config.alerts.trades)?;
            hotline::cases::audit_about(&mut conn, "workers", actor, "workers_exported", None)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &bytes).with_context(|| format!("{}", path.display()))?
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
            }
        }
        WorkersCommand::Invite => {
            let state = hotline::AppState::new(config)?;
            let n = register::invite(&state, &mut *state.db.get()?, actor)?;
            println!("{n} invitation(s) queued; `hotline serve` sends them in the send window");
        }
    }
    Ok(())
}

enum Import {
    Placements,
    Trainings,
}

/// `placements import` and `trainings import`, as the CLI's actor.
fn import_followups(config: Config, file: &std::path::Path, what: Import) -> anyhow::Result<()> {
    use anyhow::Context;
    use hotline::followups::import;
    let reader = std::fs::File::open(file).with_context(|| format!("{}", file.display()))?;
    let state = hotline::AppState::new(config)?;
    let mut conn = state.db.get()?;
    let done = match what {
        Import::Placements => import::placements(&mut conn, &state, reader, "cli").map(|r| {
            format!(
                "{} placements recorded, {} already known",
                r.recorded, r.known
            )
        }),
        Import::Trainings => import::trainings(&mut conn, &state, reader, "cli").map(|r| {
            format!(
                "{} course(s), {} trainees recorded, {} already known",
                r.courses, r.trainees_recorded, r.trainees_known
            )
        }),
    }
    .with_context(|| format!("{}", file.display()))?;
    println!("imported {}: {done}", file.display());
    Ok(())
}

/// The first line of standard input, for a password (not echoed by a pipe; a terminal shows it).
fn read_password() -> anyhow::Result<String> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprint!(
            "password (at least {} characters): ",
            hotline::accounts::users::MIN_PASSWORD_CHARS
        );
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn user(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    use hotline::accounts::users::{self, NewUser, UserRole};
    let db = hotline::db::Db::connect(&config.database_url, 1)?;
    db.migrate()?;
    let mut conn = db.get()?;
    match command {
        UserCommand::Add {
            username,
            name,
            role,
            department,
            agency,
        } => {
            let role = UserRole::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("--role: use admin, supervisor, inspector, liaison, officer or broker, not {role:?}")
            })?;
            let password = read_password()?;
            let u = users::create(
                &mut conn,
                &NewUser {
                    username: &username,
                    display_name: &name,
                    role,
                    department: department.as_deref(),
                    agency: agency.as_deref(),
                    password: &password,
                },
            )?;
            println!("added {} ({}, {})", u.username, u.display_name, u.role);
        }
        UserCommand::List => {
            for u in users::list(&mut conn)? {
                println!(
                    "{:<16} {:<10} {:<8} {:<8} {}",
                    u.username,
                    u.role,
                    u.department.as_deref().unwrap_or("-"),
                    if u.active { "active" } else { "disabled" },
                    u.display_name
                );
            }
        }
        UserCommand::Passwd { username } => {
            let password = read_password()?;
            users::set_password(&mut conn, &username, &password)?;
            println!("password changed for {username}");
        }
        UserCommand::Disable { username } => {
            users::set_active(&mut conn, &username, false)?;
            println!("disabled {username}");
        }
        UserCommand::Enable { username } => {
            users::set_active(&mut conn, &username, true)?;
            println!("enabled {username}");
        }
    }
    Ok(())
}

fn calendar(
    config: &Config,
    add: Option<(chrono::NaiveDate, u32)>,
    list: Option<i32>,
    region: Option<&str>,
) -> anyhow::Result<()> {
    use std::io::Write;
    let cal = hotline::calendar::Calendar::load(config.calendar_dir.as_deref())?;
    // The service's own calendar unless asked otherwise: `--region national` for the
    // national one alone.
    let region = match region {
        Some("national") | Some("") => None,
        Some(r) => Some(r),
        None => config.region.as_deref(),
    };
    let mut out = std::io::stdout().lock();
    let written = match (add, list) {
        (Some((from, n)), _) => writeln!(out, "{}", cal.add_working_days(from, n, region)?),
        (None, Some(year)) => cal
            .days(year, region)?
            .into_iter()
            .try_for_each(|(day, working)| {
                writeln!(out, "{day} {}", if working { "work" } else { "off" })
            }),
        (None, None) => anyhow::bail!("give --from DATE --add N, or --list YEAR"),
    };
    match written.and_then(|()| out.flush()) {
        // `| head` closed the pipe: what was read is all that was wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

async fn healthcheck(config: &Config, url: Option<String>) -> anyhow::Result<()> {
    let base = url.unwrap_or_else(|| format!("http://{}", config.listen));
    let resp = reqwest::Client::new()
        .get(format!("{}/readyz", base.trim_end_matches('/')))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await?;
    anyhow::ensure!(resp.status().is_success(), "not ready: {}", resp.status());
    Ok(())
}
