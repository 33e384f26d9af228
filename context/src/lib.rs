//! gust-context (work in progress).
