//! Small pure pieces of the runtime, tested on their own: the four-letter words' number and
//! date formats, which must print as ZooKeeper's Java code prints them.

use zabkeeper::runtime::four::java_date;
use zabkeeper::runtime::stats::Latency;

#[test]
fn the_average_latency_prints_as_zookeeper_prints_it() {
    let mut l = Latency::default();
    assert_eq!((l.min(), l.avg(), l.max()), (0, "0.0".to_string(), 0));
    for ms in [0, 0, 13, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0] {
        l.add(ms);
    }
    // 16 / 13 = 1.230769..., rounded half-up to 4 decimals (ZooKeeper's BigDecimal HALF_UP).
    assert_eq!((l.min(), l.avg(), l.max()), (0, "1.2308".to_string(), 13));
    assert_eq!(l.avg_ms(), 1);
    let mut l = Latency::default();
    l.add(3);
    l.add(4);
    assert_eq!(l.avg(), "3.5");
}

#[test]
fn dates_print_as_java_prints_them() {
    assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    // 2026-11-22 09:59:51 UTC
    assert_eq!(java_date(1_795_341_591_000), "Sun Nov 22 09:59:51 UTC 2026");
    // A leap day.
    assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
}
