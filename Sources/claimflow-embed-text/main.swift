import Foundation

// Usage: claimflow-embed-text OUTPUT.swift VARIABLE FILE...
// Writes one Swift array literal holding each file's name and text. Raw string delimiters
// are chosen longer than any run of `#` in the text so no text needs escaping.
let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: claimflow-embed-text OUTPUT VARIABLE FILE...\n".utf8))
    exit(2)
}
let output = arguments[0]
let variable = arguments[1]
var entries: [String] = []
for path in arguments.dropFirst(2) {
    let url = URL(fileURLWithPath: path)
    let text = try String(contentsOf: url, encoding: .utf8)
    var hashes = "#"
    while text.contains("\"" + hashes) || text.contains(hashes + "\"") || text.contains("\\" + hashes) { hashes += "#" }
    entries.append(
        "    (name: \"\(url.lastPathComponent)\", text: \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)),"
    )
}
let source = """
    // Generated at build time by claimflow-embed-text. Do not edit.

    let \(variable): [(name: String, text: String)] = [
    \(entries.joined(separator: "\n"))
    ]

    """
try source.write(to: URL(fileURLWithPath: output), atomically: true, encoding: .utf8)
