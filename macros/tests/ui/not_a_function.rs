#[gust::test]
struct Adds;

fn main() {}
