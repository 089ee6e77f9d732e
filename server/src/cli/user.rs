//! `mapframe user add | passwd | list | revoke`: accounts, from the server's machine (the first
//! administrator is made this way).

use super::serve::DbArgs;
use super::{CliError, Outcome};
use crate::auth::{self, AuthSettings, NewAccount, Role};
use crate::db::{DbConnection, DbUrl, migrate, now_ms};
use crate::store::{tokens, users};
use clap::{ArgGroup, Args, Subcommand};
use serde_json::json;

/// Accounts.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates an account.
    Add(AddArgs),
    /// Sets a new password (and signs the user out everywhere).
    Passwd(PasswdArgs),
    /// Lists the accounts.
    List(ListArgs),
    /// Revokes every token of a user (signs them out everywhere).
    Revoke(RevokeArgs),
}

/// The password, from standard input (one line) or the command line.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("secret").required(true).args(["password_stdin", "password"])))]
pub struct PasswordArgs {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// The password (visible to other users of this machine: prefer --password-stdin).
    #[arg(long, value_name = "P")]
    password: Option<String>,
}

impl PasswordArgs {
    fn read(&self) -> Result<String, CliError> {
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| CliError::Input(format!("cannot read the password: {e}")))?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            return Err(CliError::Input(
                "no password on standard input (one line expected)".into(),
            ));
        }
        Ok(password)
    }
}

/// `mapframe user add`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    echo 'a long secret' | mapframe user add --username admin --role admin --password-stdin\n  \
    mapframe user add --username liwei --display-name 李伟 --role interviewer --team north --password-stdin")]
pub struct AddArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The username (letters, digits, `.`, `_`, `-`, `@`; stored in lower case).
    #[arg(long, value_name = "U")]
    username: String,
    /// The role.
    #[arg(long, value_enum, value_name = "R")]
    role: Role,
    /// The team (created if new): required for supervisors, refused for administrators.
    #[arg(long, value_name = "T")]
    team: Option<String>,
    /// The name shown to people (default: the username).
    #[arg(long, value_name = "NAME")]
    display_name: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
}

/// `mapframe user passwd`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The username.
    #[arg(long, value_name = "U")]
    username: String,
    #[command(flatten)]
    password: PasswordArgs,
}

/// `mapframe user list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    db: DbArgs,
    /// One JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

/// `mapframe user revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The username.
    #[arg(long, value_name = "U")]
    username: String,
}

fn store_error(e: crate::store::StoreError) -> CliError {
    CliError::Input(e.to_string())
}

/// Opens a database that exists and is migrated (these commands never create one).
fn open(db: &DbArgs) -> Result<DbConnection, CliError> {
    let url = db.url()?;
    if let DbUrl::Sqlite(path) = &url
        && !path.exists()
    {
        return Err(CliError::Input(format!(
            "no database at {}: run `mapframe migrate` (or `mapframe serve`) first",
            path.display()
        )));
    }
    let mut conn = url.connect().map_err(store_error)?;
    let pending = migrate::pending(&mut conn).map_err(store_error)?;
    if !pending.is_empty() {
        return Err(CliError::Input(format!(
            "the database {url} needs migrations: run `mapframe migrate` first"
        )));
    }
    Ok(conn)
}

/// Runs `mapframe user …`.
pub fn run(cmd: UserCommand) -> Result<Outcome, CliError> {
    let settings = AuthSettings::default();
    match cmd {
        UserCommand::Add(args) => {
            let password = args.password.read()?;
            let mut conn = open(&args.db)?;
            let user = auth::create_account(
                &mut conn,
                &NewAccount {
                    username: &args.username,
                    display_name: args.display_name.as_deref(),
                    role: args.role,
                    team: args.team.as_deref(),
                    password: &password,
                },
                &settings,
                now_ms(),
            )
            .map_err(store_error)?;
            let team = user
                .team
                .as_deref()
                .map(|t| format!(", team {t}"))
                .unwrap_or_default();
            println!(
                "created {} ({}{team}), id {}",
                user.username, user.role, user.id
            );
        }
        UserCommand::Passwd(args) => {
            let password = args.password.read()?;
            let mut conn = open(&args.db)?;
            let user = users::by_username(&mut conn, &args.username).map_err(store_error)?;
            let revoked =
                auth::change_password(&mut conn, &user.id, &password, &settings, now_ms())
                    .map_err(store_error)?;
            println!(
                "password changed for {}; {revoked} token(s) revoked",
                user.username
            );
        }
        UserCommand::List(args) => {
            let mut conn = open(&args.db)?;
            let all = users::list(&mut conn).map_err(store_error)?;
            if args.json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|u| {
                        json!({
                            "id": u.id,
                            "username": u.username,
                            "display_name": u.display_name,
                            "role": u.role,
                            "team": u.team,
                            "disabled": u.disabled,
                            "created_at": crate::api::rfc3339(u.created_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!(
                    "{:<24} {:<12} {:<16} {:<8} NAME",
                    "USERNAME", "ROLE", "TEAM", "STATUS"
                );
                for u in &all {
                    println!(
                        "{:<24} {:<12} {:<16} {:<8} {}",
                        u.username,
                        u.role.as_str(),
                        u.team.as_deref().unwrap_or("-"),
                        if u.disabled { "disabled" } else { "active" },
                        u.display_name
                    );
                }
            }
        }
        UserCommand::Revoke(args) => {
            let mut conn = open(&args.db)?;
            let user = users::by_username(&mut conn, &args.username).map_err(store_error)?;
            let n = tokens::revoke_all(&mut conn, &user.id, now_ms()).map_err(store_error)?;
            println!("revoked {n} token(s) of {}", user.username);
        }
    }
    Ok(Outcome::Ok)
}
