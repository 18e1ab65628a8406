use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Address to serve on; the examples expect the default.
    #[arg(long, default_value = "127.0.0.1:8077")]
    listen: SocketAddr,
}

pub async fn main(args: Args) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    eprintln!("demo site on http://{}/ (Ctrl-C to stop)", args.listen);
    eprintln!(
        "its account: user {}, password {}, one-time code {} (or the TOTP secret {})",
        demo::USERNAME,
        demo::PASSWORD,
        demo::ONE_TIME_CODE,
        demo::TOTP_SECRET
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match demo::serve(listener, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
