use super::*;

fn plenty(_: &Path) -> std::io::Result<u64> {
    Ok(64 << 30)
}

fn little(_: &Path) -> std::io::Result<u64> {
    Ok(KEEP_FREE + 1000)
}

fn staging(dir: &Path) -> Staging {
    Staging::with_free_space(dir.join("updates"), plenty)
}

#[tokio::test]
async fn an_upload_arrives_in_pieces_and_resumes_where_it_broke() {
    let dir = tempfile::tempdir().unwrap();
    let staging = staging(dir.path());
    assert_eq!(staging.pending().unwrap(), None);
    let mut writer = staging.begin(10).await.unwrap();
    writer.write(b"hello").await.unwrap();
    // The connection breaks here: what arrived is kept.
    assert_eq!(
        writer.finish().await.unwrap(),
        Progress {
            received: 5,
            size: 10
        }
    );
    assert_eq!(staging.whole().unwrap(), None);
    match staging.resume(3).await {
        Err(StagingError::WrongOffset { have: 5, asked: 3 }) => {}
        other => panic!("{other:?}"),
    }
    let mut writer = staging.resume(5).await.unwrap();
    writer.write(b"world").await.unwrap();
    assert!(writer.finish().await.unwrap().is_whole());
    let whole = staging.whole().unwrap().expect("whole");
    assert_eq!(std::fs::read(&whole).unwrap(), b"helloworld");
    let kept = staging.stage("0123456789abcdef").unwrap();
    assert_eq!(kept, staging.bundle_path("0123456789abcdef"));
    assert_eq!(std::fs::read(&kept).unwrap(), b"helloworld");
    assert_eq!(staging.pending().unwrap(), None);
}

#[tokio::test]
async fn more_than_announced_is_refused_and_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let staging = staging(dir.path());
    let mut writer = staging.begin(4).await.unwrap();
    writer.write(b"abc").await.unwrap();
    match writer.write(b"de").await {
        Err(StagingError::TooMuch { size: 4 }) => {}
        other => panic!("{other:?}"),
    }
    writer.finish().await.unwrap();
    assert_eq!(
        staging.pending().unwrap(),
        Some(Progress {
            received: 3,
            size: 4
        })
    );
}

#[tokio::test]
async fn no_room_is_refused_before_a_byte_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let staging = Staging::with_free_space(dir.path().join("updates"), little);
    match staging.begin(2000).await {
        Err(e @ StagingError::NoRoom { .. }) => {
            assert!(e.to_string().contains("no room for the bundle"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(staging.pending().unwrap(), None);
    assert!(!staging.dir().join(PARTIAL).exists());
    // What fits is taken.
    staging.begin(1000).await.unwrap();
}

#[tokio::test]
async fn sizes_out_of_bounds_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let staging = staging(dir.path());
    assert!(matches!(staging.begin(0).await, Err(StagingError::Empty)));
    assert!(matches!(
        staging.begin(MAX_BUNDLE + 1).await,
        Err(StagingError::TooLarge { .. })
    ));
    assert!(matches!(
        staging.resume(0).await,
        Err(StagingError::NothingToResume)
    ));
}

#[tokio::test]
async fn a_cancelled_upload_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let staging = staging(dir.path());
    let mut writer = staging.begin(10).await.unwrap();
    writer.write(b"abc").await.unwrap();
    writer.finish().await.unwrap();
    std::fs::write(staging.bundle_path("00aa"), b"old").unwrap();
    std::fs::write(staging.dir().join("keep-me"), b"not ours").unwrap();
    assert!(staging.cancel().unwrap());
    let left: Vec<String> = std::fs::read_dir(staging.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["keep-me"]);
    assert_eq!(staging.pending().unwrap(), None);
    assert!(!staging.cancel().unwrap());
}

#[tokio::test]
async fn a_new_upload_replaces_the_one_before() {
    let dir = tempfile::tempdir().unwrap();
    let staging = staging(dir.path());
    let mut writer = staging.begin(10).await.unwrap();
    writer.write(b"abc").await.unwrap();
    writer.finish().await.unwrap();
    let writer = staging.begin(7).await.unwrap();
    writer.finish().await.unwrap();
    assert_eq!(
        staging.pending().unwrap(),
        Some(Progress {
            received: 0,
            size: 7
        })
    );
}
