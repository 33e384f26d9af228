//! gust-chan (work in progress).
