//! gust-executor (work in progress).
