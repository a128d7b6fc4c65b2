//! Rebuilds the binary when a dashboard file changes: the dashboard is embedded with
//! `include_dir!`, which cargo does not know to track on its own.

fn main() {
    println!("cargo:rerun-if-changed=dashboard");
}
