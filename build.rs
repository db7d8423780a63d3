//! The templates are compiled in (`include_dir!` in src/templates.rs), which notices a changed
//! file but not a new one: a new template would be missing until some Rust source changed.
//! Watching the folders rebuilds the crate whenever one of their files is added or changed.

fn main() {
    for dir in ["message-templates", "templates", "migrations"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
