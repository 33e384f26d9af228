// `#[gust::test]` is the test attribute: a second `#[test]` would register
// the test twice.
#[gust::test]
#[test]
async fn twice() {}

fn main() {}
