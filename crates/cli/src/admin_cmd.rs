//! `segue admin …`: maintenance on the server's machine, straight against its
//! database. No API key is asked for: whoever can open the database already
//! holds every organization's data. The way back when an organization has no
//! admin key left.

use std::process::ExitCode;

use clap::Subcommand;
use store::Role;

use crate::EXIT_INVALID;
use crate::serve_cmd::DataArgs;

#[derive(Subcommand)]
pub enum Admin {
    /// Create an API key for an organization and print it (shown once).
    CreateKey(CreateKeyArgs),
}

#[derive(clap::Args)]
pub struct CreateKeyArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The organization's id, or its name when no other has it (`segue serve` creates `default`).
    #[arg(long)]
    org: String,
    /// A name to recognise the key by in `GET /v1/api-keys`.
    #[arg(long, default_value = "admin")]
    name: String,
    /// `admin` or `member`.
    #[arg(long, default_value = "admin")]
    role: String,
}

pub async fn main(command: Admin) -> ExitCode {
    match command {
        Admin::CreateKey(args) => create_key(args).await,
    }
}

async fn create_key(args: CreateKeyArgs) -> ExitCode {
    let Some(role) = Role::parse(&args.role) else {
        eprintln!("error: --role must be admin or member, got '{}'", args.role);
        return ExitCode::from(EXIT_INVALID);
    };
    let store = match args.data.existing_store().await {
        Ok(store) => store,
        Err(message) => return fail(&message, ExitCode::FAILURE),
    };
    let org = match store.find_org(&args.org).await {
        Ok(org) => org,
        Err(store::Error::NotFound) => {
            return fail(&format!("no organization has the id or name '{}'", args.org), ExitCode::from(EXIT_INVALID));
        }
        Err(e @ store::Error::Conflict(_)) => return fail(&e.to_string(), ExitCode::from(EXIT_INVALID)),
        Err(e) => return fail(&e.to_string(), ExitCode::FAILURE),
    };
    match store.create_api_key(&org.id, &args.name, role).await {
        Ok((key, clear)) => {
            eprintln!(
                "created {} key '{}' ({}) for organization '{}' ({}):",
                role.as_str(),
                key.name,
                key.id,
                org.name,
                org.id
            );
            println!("{clear}");
            ExitCode::SUCCESS
        }
        Err(e @ store::Error::Invalid { .. }) => fail(&e.to_string(), ExitCode::from(EXIT_INVALID)),
        Err(e) => fail(&e.to_string(), ExitCode::FAILURE),
    }
}

fn fail(message: &str, code: ExitCode) -> ExitCode {
    eprintln!("error: {message}");
    code
}
