#[gust::main(crate = g)]
async fn main() {}
