#[gust::main(2)]
async fn main() {}
