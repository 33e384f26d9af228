#[gust::test(workers = -1)]
async fn adds() {}

fn main() {}
