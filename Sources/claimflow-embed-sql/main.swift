import Foundation

// Usage: claimflow-embed-sql OUTPUT.swift FILE.sql...
// Writes one Swift array literal holding each migration's file name and text. Raw string
// delimiters are chosen longer than any run of `#` in the SQL so no text needs escaping.
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: claimflow-embed-sql OUTPUT FILE...\n".utf8))
    exit(2)
}
var entries: [String] = []
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let text = try String(contentsOf: url, encoding: .utf8)
    var hashes = "#"
    while text.contains("\"" + hashes) || text.contains(hashes + "\"") || text.contains("\\" + hashes) { hashes += "#" }
    entries.append(
        "    (name: \"\(url.lastPathComponent)\", sql: \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)),"
    )
}
let source = """
    // Generated at build time from sql/ by claimflow-embed-sql. Do not edit.

    let embeddedMigrationFiles: [(name: String, sql: String)] = [
    \(entries.joined(separator: "\n"))
    ]

    """
try source.write(to: URL(fileURLWithPath: output), atomically: true, encoding: .utf8)
