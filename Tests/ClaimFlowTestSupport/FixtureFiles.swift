public import Foundation

/// Files under `Tests/Fixtures` and the shipped `data/` folder, found from this source file.
public enum FixtureFiles {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `Tests/Fixtures/<path>`.
    public static func url(_ path: String) -> URL { root.appending(path: "Tests/Fixtures/\(path)") }

    /// The shipped ICD-10-CM April 2026 order file.
    public static var icd10cm2026: URL { root.appending(path: "data/icd10cm-order-2026.txt.gz") }
}
