#[gust::main]
fn main() {}
