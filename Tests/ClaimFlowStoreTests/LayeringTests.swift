import Foundation
import Testing

/// Reads the source tree and holds it to the layout: all SQL in ClaimFlowStore, no process
/// started from it, and imports that point one way. The compiler cannot see a SQL string in
/// a handler, or a `Process` in the store; this test can.
@Suite("The source tree keeps its layers")
struct LayeringTests {
    /// The package root, three folders above this file (Tests/ClaimFlowStoreTests/...).
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("no SQL outside Sources/ClaimFlowStore")
    func sqlLivesInTheStore() throws {
        let found = try Self.findings(in: Self.sourceFiles(outside: "ClaimFlowStore"), matching: Self.sqlPatterns)
        #expect(found.isEmpty, "SQL belongs in a store type in Sources/ClaimFlowStore:\n\(found.joined(separator: "\n"))")
    }

    @Test("no process started from Sources/ClaimFlowStore")
    func storeStartsNoProcess() throws {
        let found = try Self.findings(in: Self.sourceFiles(inside: "ClaimFlowStore"), matching: Self.spawnPatterns)
        #expect(found.isEmpty, "child processes belong in Sources/ClaimFlowHosting:\n\(found.joined(separator: "\n"))")
    }

    @Test("imports point one way: claimflow -> API/Workers -> Store -> Core; Hosting for claimflow alone")
    func importsPointOneWay() throws {
        let allowed: [String: Set<String>] = [
            "ClaimFlowCore": [],
            "ClaimFlowStore": ["ClaimFlowCore"],
            "ClaimFlowHosting": ["ClaimFlowCore", "ClaimFlowStore"],
            "ClaimFlowAPI": ["ClaimFlowCore", "ClaimFlowStore"],
            "ClaimFlowWorkers": ["ClaimFlowCore", "ClaimFlowStore"],
        ]
        let importLine = try Regex(#"^\s*(?:@[A-Za-z_]+\s+)*(?:public |package |internal )?import\s+(ClaimFlow[A-Za-z]*)"#)
        var found: [String] = []
        for (target, permitted) in allowed {
            for file in try Self.sourceFiles(inside: target) {
                for (number, line) in try Self.lines(of: file) {
                    guard let match = line.firstMatch(of: importLine), let module = match.output[1].substring else { continue }
                    if !permitted.contains(String(module)) { found.append("\(Self.relative(file)):\(number): \(line)") }
                }
            }
        }
        #expect(found.isEmpty, "an import against the layering:\n\(found.joined(separator: "\n"))")
    }

    // MARK: What is looked for

    /// Database calls and statements by their first keyword, at the start of a string literal
    /// (`"SELECT ...`) or of the first line of a multi-line one.
    static var sqlPatterns: [Regex<AnyRegexOutput>] {
        [
            #"\bclient\.query\("#, #"\bconnection\.query\("#, #"\.withTransaction\("#, #"\bPostgresQuery\b"#,
            #"\bPostgresPreparedStatement\b"#, #""(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|TRUNCATE) "#,
            #""{3}[ \t]*\n\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|TRUNCATE)\b"#,
        ].map { try! Regex($0) }
    }

    static var spawnPatterns: [Regex<AnyRegexOutput>] {
        [
            #"\bProcess\("#, #"\bFoundation\.Process\b"#, #"\bposix_spawn"#, #"\bexecv[pe]?\("#, #"\bfork\(\)"#,
            #"\bChildProcess\b"#,
        ].map { try! Regex($0) }
    }

    // MARK: Reading the tree

    static func sourceFiles(inside target: String) throws -> [URL] {
        try swiftFiles(below: root.appending(path: "Sources/\(target)"))
    }

    static func sourceFiles(outside target: String) throws -> [URL] {
        try swiftFiles(below: root.appending(path: "Sources")).filter {
            !$0.path.hasPrefix(root.appending(path: "Sources/\(target)/").path)
        }
    }

    static func swiftFiles(below folder: URL) throws -> [URL] {
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else {
            throw LayoutError("\(folder.path) cannot be read")
        }
        let files = walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        guard !files.isEmpty else { throw LayoutError("no Swift files below \(folder.path): is the root right?") }
        return files.sorted { $0.path < $1.path }
    }

    /// The file's lines, numbered from 1, with comment lines blanked (a doc comment may name
    /// a type the code does not use) so multi-line patterns still see the lines in order.
    static func lines(of file: URL) throws -> [(Int, String)] {
        let text = try String(contentsOf: file, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { index, line in
            let isComment = line.drop { $0 == " " }.hasPrefix("//")
            return (index + 1, isComment ? "" : String(line))
        }
    }

    /// `path:line: text` for every match of any pattern in the files.
    static func findings(in files: [URL], matching patterns: [Regex<AnyRegexOutput>]) throws -> [String] {
        var found: [String] = []
        for file in files {
            let lines = try lines(of: file)
            let text = lines.map(\.1).joined(separator: "\n")
            for pattern in patterns {
                for match in text.matches(of: pattern) {
                    let number = text[..<match.range.lowerBound].count { $0 == "\n" } + 1
                    found.append("\(relative(file)):\(number): \(lines[number - 1].1.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        return found
    }

    static func relative(_ file: URL) -> String {
        String(file.path.dropFirst(root.path.count + 1))
    }
}

struct LayoutError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
