//! A throwaway PostgreSQL for tests.
//!
//! Code that talks to PostgreSQL has to be tested against a real server, and
//! tests run in parallel, so each test gets a database of its own:
//! [`TestDatabase::create`] makes a fresh, uniquely named one and
//! [`TestDatabase::drop_database`] removes it. The server they live on is
//! chosen once per test process by [`server_url`]:
//!
//! 1. `DATABASE_URL`, if set: an existing server (CI, a local install). Its
//!    user must be allowed to `CREATE DATABASE`.
//! 2. Otherwise a private cluster made with `initdb` and started with `pg_ctl`
//!    in a temporary directory. It listens only on a unix socket inside that
//!    directory, so concurrent test processes never fight over a port, and it
//!    trades durability for speed (`fsync=off`). Statics are never dropped, so
//!    a detached watchdog stops the cluster and deletes the directory once the
//!    test process has exited, however it exited (success, panic, abort).
//!
//! There is no silent skip: without a server, `create` fails with a message
//! that says how to provide one.
//!
//! ```no_run
//! # async fn demo() -> Result<(), continuum_testkit::postgres::TestDbError> {
//! use continuum_testkit::postgres::TestDatabase;
//!
//! let db = TestDatabase::create().await?;
//! // ... connect to `db.url()` and test ...
//! db.drop_database().await?;
//! # Ok(())
//! # }
//! ```
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};

/// How to get a server, appended to every "no server" message.
const FIX: &str = "Fix: set DATABASE_URL=postgres://user@host:port/db (a server where that user may CREATE DATABASE), \
                   or install PostgreSQL so initdb and pg_ctl are on PATH (or in /usr/lib/postgresql/*/bin).";

/// Connection attempts before giving up (the server may still be starting).
const CONNECT_ATTEMPTS: u32 = 5;

/// The test server could not be found, started or used.
#[derive(Debug, thiserror::Error)]
pub enum TestDbError {
    /// `DATABASE_URL` is not set and no cluster can be started here.
    #[error("no PostgreSQL server for tests: {detail}\n{fix}", fix = FIX)]
    NoServer {
        /// What is missing.
        detail: String,
    },
    /// The throwaway cluster could not be created or started.
    #[error("could not start a throwaway PostgreSQL cluster for tests: {detail}\n{fix}", fix = FIX)]
    Start {
        /// What failed, with the command's output or the server log's tail.
        detail: String,
    },
    /// Connecting to the test server or running a statement on it failed.
    #[error("{context}: {source}")]
    Sql {
        /// What was being done.
        context: String,
        /// The driver's error.
        source: sqlx::Error,
    },
}

/// A cached server failure; [`TestDbError`] is not `Clone`.
#[derive(Clone)]
enum Failure {
    NoServer(String),
    Start(String),
}

impl From<Failure> for TestDbError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::NoServer(detail) => TestDbError::NoServer { detail },
            Failure::Start(detail) => TestDbError::Start { detail },
        }
    }
}

/// A fresh, empty database for one test.
///
/// Nothing happens on drop (dropping a database is async): call
/// [`TestDatabase::drop_database`]. A database left behind on the throwaway
/// cluster goes away with the cluster; on a `DATABASE_URL` server it stays.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates a uniquely named database (`continuum_test_<uuid>`) on the
    /// test server ([`server_url`]) and returns it.
    pub async fn create() -> Result<TestDatabase, TestDbError> {
        // Starting a cluster blocks for a few seconds; keep it off the executor.
        let admin_url = tokio::task::spawn_blocking(server_url)
            .await
            .map_err(|e| TestDbError::Start { detail: format!("the server setup task failed: {e}") })??;
        let name = format!("continuum_test_{}", uuid::Uuid::new_v4().simple());
        // `name` is ours and only [a-z0-9_], so quoting it is enough.
        run_sql(&admin_url, &format!("CREATE DATABASE \"{name}\""), &format!("creating test database {name}")).await?;
        tracing::debug!(%name, "created a test database");
        Ok(TestDatabase { url: with_database(&admin_url, &name), name, admin_url })
    }

    /// The connection URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, terminating any connections still open to it
    /// (`WITH (FORCE)` needs PostgreSQL 13 or newer).
    pub async fn drop_database(self) -> Result<(), TestDbError> {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        run_sql(&self.admin_url, &sql, &format!("dropping test database {}", self.name)).await
    }
}

/// The server tests run against, as an admin URL (one whose database
/// exists): `DATABASE_URL` if set, else a throwaway cluster started once per
/// test process. Thread-safe; a failure is remembered, not retried.
pub fn server_url() -> Result<String, TestDbError> {
    static SERVER: OnceLock<Result<String, Failure>> = OnceLock::new();
    SERVER.get_or_init(select_server).clone().map_err(TestDbError::from)
}

fn select_server() -> Result<String, Failure> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            tracing::info!(url = %redact(&url), "tests use the PostgreSQL server from DATABASE_URL");
            return Ok(url.trim().to_string());
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(Failure::NoServer("DATABASE_URL is set but is not valid UTF-8".to_string()));
        }
        _ => {}
    }
    let Some(bin) = find_bin_dir() else {
        return Err(Failure::NoServer(
            "DATABASE_URL is not set, and initdb and pg_ctl are neither on PATH nor in /usr/lib/postgresql/*/bin"
                .to_string(),
        ));
    };
    start_cluster(&bin).map_err(Failure::Start)
}

/// A directory holding both `initdb` and `pg_ctl`: on PATH first, else the
/// highest version under `/usr/lib/postgresql` (Debian and Ubuntu keep them
/// off PATH).
fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let on_path =
        std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).find(|dir| has_both(dir.as_path())));
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let version = name.to_str()?.split('.').map(|part| part.parse().ok()).collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            has_both(bin.as_path()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Runs `initdb` and `pg_ctl start` in a new temporary directory and returns
/// the cluster's admin URL; the error is the failure's details.
fn start_cluster(bin: &Path) -> Result<String, String> {
    let root = effective_uid() == Some(0);
    // initdb and postgres refuse to run as root: run them as user postgres.
    let run_as = if root { postgres_runner()? } else { RunAs::Me };
    // A short base keeps the socket path under the ~107-byte limit, and /tmp
    // is traversable by user postgres where root's TMPDIR may not be.
    let base = if Path::new("/tmp").is_dir() { PathBuf::from("/tmp") } else { std::env::temp_dir() };
    let dir = tempfile::Builder::new()
        .prefix("continuum-pg-")
        .tempdir_in(&base)
        .map_err(|e| format!("could not create a temporary directory in {}: {e}", base.display()))?
        .keep();
    let dir_str = dir.to_str().ok_or_else(|| format!("temporary directory {} is not UTF-8", dir.display()))?;
    let data = format!("{dir_str}/data");
    let log = format!("{dir_str}/log");
    let pg_ctl = bin.join("pg_ctl");
    // Armed before anything can fail, so a half-made cluster is cleaned up too.
    spawn_watchdog(&run_as, &pg_ctl, dir_str, &data);

    if root {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("could not make {dir_str} traversable: {e}"))?;
        run(
            Command::new("chown").args(["-R", "postgres", dir_str]),
            "chown -R postgres (as root, the cluster runs as user postgres; create that user or set DATABASE_URL)",
        )?;
    }
    let initdb_args = ["-D", data.as_str(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--no-locale"];
    run(run_as.command(&bin.join("initdb"), &initdb_args).current_dir(&dir), "initdb")?;

    let options = format!(
        "-c listen_addresses='' -c unix_socket_directories='{dir_str}' -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    );
    let start_args = ["-D", data.as_str(), "-l", log.as_str(), "-w", "-t", "60", "-o", options.as_str(), "start"];
    if let Err(e) = run(run_as.command(&pg_ctl, &start_args).current_dir(&dir), "pg_ctl start") {
        return Err(format!("{e}\nthe server log {log} ends with:\n{}", log_tail(&log)));
    }
    tracing::info!(dir = %dir_str, "started a throwaway PostgreSQL cluster for tests");
    let _ = CLUSTER.set(Cluster { run_as, pg_ctl, data, log, options });
    Ok(format!("postgres://postgres@localhost/postgres?host={}", encode_query_value(dir_str)))
}

/// The throwaway cluster, when this process started one.
static CLUSTER: OnceLock<Cluster> = OnceLock::new();

struct Cluster {
    run_as: RunAs,
    pg_ctl: PathBuf,
    data: String,
    log: String,
    /// The server options it was started with (a start after a stop needs
    /// them again; a restart reuses them by itself).
    options: String,
}

/// How [`stop_server`] and [`restart_server_with`] shut the server down
/// (`pg_ctl -m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Sessions are disconnected and the server shuts down cleanly.
    Fast,
    /// The server stops at once, without a checkpoint, as in a power cut:
    /// it replays its write-ahead log when it starts again.
    Immediate,
}

impl StopMode {
    fn arg(self) -> &'static str {
        match self {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        }
    }
}

/// Restarts the test server (`pg_ctl restart -m fast`), dropping every
/// connection, for tests of what survives a database restart. Blocks until
/// the server accepts connections again.
///
/// Only the throwaway cluster can be restarted: with `DATABASE_URL` set
/// this fails with a message saying so (unset it to run such a test).
pub fn restart_server() -> Result<(), TestDbError> {
    restart_server_with(StopMode::Fast)
}

/// Restarts the test server with the given stop mode (see
/// [`restart_server`]).
pub fn restart_server_with(mode: StopMode) -> Result<(), TestDbError> {
    pg_ctl(&["-w", "-t", "60", "-m", mode.arg(), "restart"], "pg_ctl restart")
}

/// Stops the test server (see [`restart_server`] for which servers can
/// be); [`start_server`] starts it again.
pub fn stop_server(mode: StopMode) -> Result<(), TestDbError> {
    pg_ctl(&["-w", "-t", "60", "-m", mode.arg(), "stop"], "pg_ctl stop")
}

/// Starts the test server stopped by [`stop_server`]; blocks until it
/// accepts connections.
pub fn start_server() -> Result<(), TestDbError> {
    let options = CLUSTER.get().map(|c| c.options.clone()).unwrap_or_default();
    pg_ctl(&["-w", "-t", "60", "-o", options.as_str(), "start"], "pg_ctl start")
}

/// Runs `pg_ctl` on the throwaway cluster with `args` (after its data
/// directory and log file).
fn pg_ctl(args: &[&str], what: &str) -> Result<(), TestDbError> {
    server_url()?;
    let Some(c) = CLUSTER.get() else {
        return Err(TestDbError::NoServer {
            detail: "stopping or restarting the database needs the throwaway cluster, but DATABASE_URL points at a \
                     server this test must not touch; unset DATABASE_URL to run this test"
                .to_string(),
        });
    };
    let mut all = vec!["-D", c.data.as_str(), "-l", c.log.as_str()];
    all.extend_from_slice(args);
    run(&mut c.run_as.command(&c.pg_ctl, &all), what)
        .map_err(|e| TestDbError::Start { detail: format!("{e}\nthe server log ends with:\n{}", log_tail(&c.log)) })
}

/// Who runs the PostgreSQL binaries.
enum RunAs {
    /// The current user.
    Me,
    /// User postgres, through `runuser -u postgres --`.
    Runuser(PathBuf),
    /// User postgres, through `su postgres -s /bin/sh -c`.
    Su(PathBuf),
}

impl RunAs {
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        match self {
            RunAs::Me => {
                let mut cmd = Command::new(program);
                cmd.args(args);
                cmd
            }
            RunAs::Runuser(runuser) => {
                let mut cmd = Command::new(runuser);
                cmd.args(["-u", "postgres", "--"]).arg(program).args(args);
                cmd
            }
            RunAs::Su(su) => {
                let mut cmd = Command::new(su);
                cmd.args(["postgres", "-s", "/bin/sh", "-c", shell_line(program, args).as_str()]);
                cmd
            }
        }
    }

    /// The same command as one `sh` command line.
    fn shell(&self, program: &Path, args: &[&str]) -> String {
        let line = shell_line(program, args);
        match self {
            RunAs::Me => line,
            RunAs::Runuser(runuser) => format!("{} -u postgres -- {line}", sh_quote(&runuser.to_string_lossy())),
            RunAs::Su(su) => format!("{} postgres -s /bin/sh -c {}", sh_quote(&su.to_string_lossy()), sh_quote(&line)),
        }
    }
}

fn postgres_runner() -> Result<RunAs, String> {
    if let Some(runuser) = find_program("runuser", &["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
        return Ok(RunAs::Runuser(runuser));
    }
    if let Some(su) = find_program("su", &["/bin", "/usr/bin"]) {
        return Ok(RunAs::Su(su));
    }
    Err("running as root, where initdb and postgres refuse to run, and neither runuser nor su was found \
         to run them as user postgres"
        .to_string())
}

fn find_program(name: &str, extra_dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The effective uid, from `/proc/self/status` or else `id -u`.
fn effective_uid() -> Option<u32> {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        // "Uid:\t<real>\t<effective>\t<saved>\t<fs>"
        let uid = status.lines().find(|line| line.starts_with("Uid:")).and_then(|line| line.split_whitespace().nth(2));
        if let Some(uid) = uid.and_then(|uid| uid.parse().ok()) {
            return Some(uid);
        }
    }
    let out = Command::new("id").arg("-u").stdin(Stdio::null()).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Stops the cluster and deletes `dir` once this process has exited. It runs
/// in its own process group so a Ctrl-C aimed at the tests does not kill it.
fn spawn_watchdog(run_as: &RunAs, pg_ctl: &Path, dir: &str, data: &str) {
    let stop = run_as.shell(pg_ctl, &["-D", data, "-m", "immediate", "stop"]);
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = sh_quote(dir),
    );
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    if let Err(e) = spawned {
        tracing::warn!(%dir, "could not start the cluster's watchdog; stop it and delete the directory by hand: {e}");
    }
}

/// Runs `cmd` to completion; the error carries its output.
fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("could not run {what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

fn log_tail(path: &str) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        }
        Err(e) => format!("(could not read it: {e})"),
    }
}

fn shell_line(program: &Path, args: &[&str]) -> String {
    let mut line = sh_quote(&program.to_string_lossy());
    for arg in args {
        line.push(' ');
        line.push_str(&sh_quote(arg));
    }
    line
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Percent-encodes everything but unreserved characters (so `/` is `%2F`).
fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Connects to `url`, retrying briefly: the server may still be starting.
async fn connect(url: &str) -> Result<PgConnection, TestDbError> {
    let mut attempt = 1;
    loop {
        match PgConnection::connect(url).await {
            Ok(conn) => return Ok(conn),
            Err(e) if attempt < CONNECT_ATTEMPTS && !matches!(e, sqlx::Error::Configuration(_)) => {
                tracing::debug!(attempt, "connecting to the test server failed, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(source) => {
                return Err(TestDbError::Sql {
                    context: format!(
                        "connecting to the test server {} (attempt {attempt}; check DATABASE_URL)",
                        redact(url)
                    ),
                    source,
                });
            }
        }
    }
}

/// Runs one statement on a fresh connection to `url`.
async fn run_sql(url: &str, sql: &str, context: &str) -> Result<(), TestDbError> {
    let mut conn = connect(url).await?;
    let result = conn.execute(sql).await;
    if let Err(e) = conn.close().await {
        tracing::debug!("closing the admin connection failed: {e}");
    }
    result.map(|_| ()).map_err(|source| TestDbError::Sql { context: format!("{context} on {}", redact(url)), source })
}

/// `url` with its database (path) replaced by `db`, keeping scheme, user,
/// password, host, port and query string.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{db}?{query}"),
        None => format!("{server}/{db}"),
    }
}

/// `url` with its password (if any) masked, for messages and logs.
fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[start..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_string();
    };
    format!("{}{}:***{}", &url[..start], &rest[..colon], &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::{redact, with_database};

    #[test]
    fn replaces_the_database() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "name"), "postgres://u@h:5432/name");
        assert_eq!(with_database("postgres://u@h:5432/", "name"), "postgres://u@h:5432/name");
    }

    #[test]
    fn adds_a_missing_database() {
        assert_eq!(with_database("postgres://u@h:5432", "name"), "postgres://u@h:5432/name");
    }

    #[test]
    fn keeps_the_query() {
        assert_eq!(
            with_database("postgres://u@h/postgres?host=%2Ftmp%2Fx", "name"),
            "postgres://u@h/name?host=%2Ftmp%2Fx"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "name"),
            "postgresql://u:p@h/name?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h?sslmode=disable", "name"), "postgres://u@h/name?sslmode=disable");
    }

    #[test]
    fn masks_the_password() {
        assert_eq!(redact("postgresql://u:p@h/db?sslmode=disable"), "postgresql://u:***@h/db?sslmode=disable");
        assert_eq!(redact("postgres://u@h:5432/db"), "postgres://u@h:5432/db");
    }
}
