#[gust::main(workers = 99999999)]
async fn main() {}
