//! gust-waitgroup (work in progress).
