#[gust::main(workers = "four")]
async fn main() {}
