//! `segue-bench`: measurements that print ratios and percentiles, never assertions.
//!
//! - `segue-bench engine [ITERATIONS]`: segue against a plain Playwright script.
//! - `segue-bench service [RUNS_IN_LIST]`: the API, the queue and list pages at scale.
//! - `segue-bench agent [ACTIONS]`: observation sizes and the agent's overhead per action.

mod agent_bench;
mod engine_bench;
mod service_bench;
mod stats;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("engine") | None => engine_bench::main(number(1, 20) as usize).await,
        Some("service") => service_bench::main(number(1, 1_000_000)).await,
        Some("agent") => agent_bench::main(number(1, 50) as u32).await,
        Some(other) => {
            eprintln!("unknown benchmark '{other}': use engine, service or agent");
            std::process::exit(2);
        }
    }
}
