//! gust: Go's concurrency model in async Rust (work in progress).
