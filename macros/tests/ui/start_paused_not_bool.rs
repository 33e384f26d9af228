#[gust::test(start_paused = 1)]
async fn an_hour() {}

fn main() {}
