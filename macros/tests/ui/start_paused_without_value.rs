#[gust::test(start_paused)]
async fn an_hour() {}

fn main() {}
