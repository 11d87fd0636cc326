//! The administrative commands. Each opens the data folder's database directly (the server
//! may be running on it) and does its work in one IMMEDIATE transaction.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::artifacts::{self, Store};
use crate::auth::valid_scope;
use crate::clock;
use crate::config::{
    Config, IntegrationCommand, KeyCommand, ProjectCommand, StorageCommand, UserCommand,
};
use crate::crypto;
use crate::db::{self, identity, keys};
use crate::error::{Error, Result};
use crate::users;

/// Runs `f` in one write transaction on the data folder's database.
fn with_db<T>(config: &Config, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let mut conn = db::open_for_admin(&config.data_dir)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

pub fn user(config: &Config, cmd: UserCommand) -> Result<()> {
    let (email, password, first_name, last_name, admin) = match cmd {
        UserCommand::Create {
            email,
            password,
            first_name,
            last_name,
            admin,
        } => (email, password, first_name, last_name, admin),
        UserCommand::SetPassword { email, password } => {
            return set_password(config, &email, password);
        }
    };
    if let Some(p) = &password {
        crypto::check_password(p)?;
    }
    let generated = password.is_none().then(|| crypto::random_alphanumeric(20));
    let password = password.or_else(|| generated.clone());
    let password_hash = password.as_deref().map(crypto::hash_password).transpose()?;
    let user = with_db(config, |c| {
        users::create_user(
            c,
            &identity::NewUser {
                email: &email,
                password_hash,
                first_name: &first_name,
                last_name: &last_name,
                admin,
            },
        )
    })?;
    println!("Created user {} (id {})", user.email, user.id);
    if let Some(p) = generated {
        println!("Password: {p}");
    }
    Ok(())
}

/// Sets a user's password (an imported user has none) and ends their sessions.
fn set_password(config: &Config, email: &str, password: Option<String>) -> Result<()> {
    if let Some(p) = &password {
        crypto::check_password(p)?;
    }
    let generated = password.is_none().then(|| crypto::random_alphanumeric(20));
    let password = password.or_else(|| generated.clone()).unwrap_or_default();
    let hash = crypto::hash_password(&password)?;
    with_db(config, |c| {
        let user = identity::user_by_email(c, email)?
            .ok_or_else(|| Error::invalid("email", "does_not_exist", format!("no user {email}")))?;
        identity::set_password(c, user.id, &hash)
    })?;
    println!("Set the password of {email}");
    if let Some(p) = generated {
        println!("Password: {p}");
    }
    Ok(())
}

pub fn project(config: &Config, cmd: ProjectCommand) -> Result<()> {
    let ProjectCommand::Create { name } = cmd;
    let id = with_db(config, |c| users::create_project(c, &name))?;
    println!("{id}");
    Ok(())
}

pub fn key(config: &Config, cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::Create {
            email,
            label,
            scopes,
            projects,
        } => {
            let scopes: Vec<String> = scopes.iter().map(|s| s.trim().to_string()).collect();
            if let Some(bad) = scopes.iter().find(|s| !valid_scope(s)) {
                return Err(Error::invalid(
                    "scopes",
                    "invalid_choice",
                    format!("'{bad}' is not a scope (use task:read, task:write or *)"),
                ));
            }
            let value = with_db(config, |c| {
                let user = match identity::user_by_email(c, &email)? {
                    Some(u) => u,
                    None => users::create_user(
                        c,
                        &identity::NewUser {
                            email: &email,
                            password_hash: None,
                            first_name: "",
                            last_name: "",
                            admin: false,
                        },
                    )?,
                };
                for id in &projects {
                    if identity::project_for_user(c, user.id, *id)?.is_none() {
                        return Err(Error::invalid(
                            "project",
                            "does_not_exist",
                            format!("no project {id} that {email} can reach"),
                        ));
                    }
                }
                let projects = (!projects.is_empty()).then_some(projects.as_slice());
                Ok(keys::create_key(c, user.id, &label, &scopes, projects)?.1)
            })?;
            println!("{value}");
        }
        KeyCommand::List { email } => {
            let keys = with_db(config, |c| {
                let user = identity::user_by_email(c, &email)?.ok_or_else(|| {
                    Error::invalid("email", "does_not_exist", format!("no user {email}"))
                })?;
                keys::keys_for_user(c, user.id, true)
            })?;
            println!(
                "{:<34} {:<16} {:<22} {:<10} {:<28} {:<28} STATUS",
                "ID", "LABEL", "SCOPES", "PROJECTS", "CREATED", "LAST USED"
            );
            for k in keys {
                let projects = k
                    .scoped_teams
                    .map(|p| p.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
                    .unwrap_or_else(|| "all".into());
                println!(
                    "{:<34} {:<16} {:<22} {:<10} {:<28} {:<28} {}",
                    k.id,
                    k.label,
                    k.scopes.join(","),
                    projects,
                    k.created_at,
                    k.last_used_at.unwrap_or_else(|| "never".into()),
                    if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        KeyCommand::Revoke { id } => {
            with_db(config, |c| keys::revoke_key(c, &id, None)).map_err(|e| match e {
                Error::NotFound => {
                    Error::invalid("id", "does_not_exist", format!("no active key {id}"))
                }
                e => e,
            })?;
            println!("Revoked key {id}");
        }
    }
    Ok(())
}

pub fn integration(config: &Config, cmd: IntegrationCommand) -> Result<()> {
    let IntegrationCommand::Create { project, account } = cmd;
    let id = with_db(config, |c| users::create_integration(c, project, &account))?;
    println!("{id}");
    Ok(())
}

pub fn storage(config: &Config, cmd: StorageCommand) -> Result<()> {
    let StorageCommand::Check = cmd;
    let store = Store::for_check(config)?;
    println!("checking {}", store.describe());
    let steps = actix_web::rt::System::new().block_on(artifacts::check::check(&store))?;
    for s in steps {
        println!("ok: {s}");
    }
    println!("the artifact store works");
    Ok(())
}

/// Objects younger than this are never collected: an inline upload writes its objects just
/// before its manifest entry commits.
const GC_GRACE_SECS: i64 = 3600;

pub fn gc(config: &Config, dry_run: bool) -> Result<()> {
    let store = Store::from_config(config)?;
    let now = clock::unix_now();
    let referenced = with_db(config, |c| {
        db::artifacts::drop_expired(c, now)?;
        db::artifacts::referenced(c, now)
    })?;
    let collected = actix_web::rt::System::new().block_on(artifacts::check::collect(
        &store,
        &referenced,
        GC_GRACE_SECS,
        dry_run,
    ))?;
    let verb = if dry_run { "would remove" } else { "removed" };
    for (path, size) in &collected.removed {
        println!("{verb} {path} ({size} bytes)");
    }
    let bytes: u64 = collected.removed.iter().map(|(_, s)| s).sum();
    println!(
        "{verb} {} objects ({bytes} bytes); kept {}",
        collected.removed.len(),
        collected.kept
    );
    Ok(())
}

pub fn backup(config: &Config, file: &Path) -> Result<()> {
    let bytes = crate::backup::backup(&config.data_dir, file)?;
    println!("wrote {} ({bytes} bytes)", file.display());
    Ok(())
}

pub fn restore(config: &Config, file: &Path) -> Result<()> {
    let kept = crate::backup::restore(&config.data_dir, file)?;
    println!("restored {}", file.display());
    if let Some(kept) = kept {
        println!("the previous database is kept as {}", kept.display());
    }
    Ok(())
}

pub fn export(config: &Config, file: Option<&Path>, secrets: bool, artifacts: bool) -> Result<()> {
    let store = artifacts.then(|| Store::from_config(config)).transpose()?;
    let conn = db::open_for_admin(&config.data_dir)?;
    let mut out: Box<dyn std::io::Write> = match file {
        // As `backup`: never overwrite a file that is already there.
        Some(path) => Box::new(std::io::BufWriter::new(
            crate::private::new_file(path).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Error::unexpected(format!(
                    "{} already exists; choose a new file",
                    path.display()
                )),
                _ => Error::unexpected(format!("cannot create {}: {e}", path.display())),
            })?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    // One read transaction: the export is one consistent snapshot.
    conn.execute_batch("BEGIN")?;
    let rows = crate::export::export(&conn, &mut out, secrets)?;
    let paths = match store {
        Some(_) => db::artifacts::in_manifests(&conn)?,
        None => Vec::new(),
    };
    conn.execute_batch("COMMIT")?;
    eprintln!("exported {rows} rows");
    if let Some(store) = store {
        let (objects, missing) = actix_web::rt::System::new()
            .block_on(artifacts::carry::write(&store, &paths, &mut out))?;
        out.flush()?;
        eprintln!("exported {objects} artifacts");
        for path in &missing {
            eprintln!("warning: artifact {path} is not in the store; left out");
        }
    }
    Ok(())
}

pub fn import(config: &Config, file: &Path) -> Result<()> {
    let input = std::fs::File::open(file)
        .map_err(|e| Error::unexpected(format!("cannot read {}: {e}", file.display())))?;
    let store = Store::from_config(config)?;
    let database = config.data_dir.join("burrow.db");
    let fresh = !database.exists();
    let runtime = actix_web::rt::System::new();
    let mut objects = 0;
    let mut put = |path: String, bytes: Vec<u8>| {
        objects += 1;
        runtime.block_on(store.put(&path, bytes))
    };
    let imported = db::open_for_admin(&config.data_dir).and_then(|mut conn| {
        let rows = crate::export::import(&mut conn, std::io::BufReader::new(input), &mut put)?;
        Ok((rows, db::artifacts::in_manifests(&conn)?))
    });
    let (rows, paths) = match imported {
        Ok(done) => done,
        Err(e) => {
            // A failed import into a new data folder leaves no half-made database behind,
            // so it can simply be run again.
            if fresh {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
                }
            }
            return Err(e);
        }
    };
    println!(
        "imported {rows} rows and {objects} artifacts from {}",
        file.display()
    );
    let missing = runtime.block_on(artifacts::carry::missing(&store, &paths))?;
    if !missing.is_empty() {
        eprintln!(
            "warning: {} artifacts are listed on runs but not in {}; export with \
             --with-artifacts, or copy the old store's objects to the same paths:",
            missing.len(),
            store.describe()
        );
        for path in &missing {
            eprintln!("  {path}");
        }
    }
    Ok(())
}

/// One line for the terminal: the field (when there is one) and what is wrong.
pub fn describe(e: &Error) -> String {
    match e {
        Error::Invalid {
            attr: Some(attr),
            detail,
            ..
        } => format!("{attr}: {detail}"),
        other => other.to_string(),
    }
}
