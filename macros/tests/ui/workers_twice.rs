#[gust::test(workers = 2, workers = 1)]
async fn adds() {}

fn main() {}
