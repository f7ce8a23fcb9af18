/// The ICD-10-CM tabular's notes that the handoff rules use, read from the CDC's XML file
/// (`icd10cm_tabular_2026.xml`): each `<diag>` with its `<name>` (the code, dotted) and
/// `<desc>`, its `<excludes1>` notes, and whether it is a manifestation code.
public enum TabularFile {
    /// An Excludes1 note of one code or category: the codes it names never go with it.
    public struct Excludes1: Sendable, Hashable {
        /// The code (no dot) whose note it is; the note covers every code under it.
        public let code: String
        /// The excluded codes, as a range of prefixes (no dots), inclusive: `E11`-`E11` for
        /// "(E11.-)", `E08`-`E13` for "(E08-E13)".
        public let from: String
        public let through: String

        public init(code: String, from: String, through: String) {
            self.code = code
            self.from = from
            self.through = through
        }
    }

    /// What the file says, for the rules.
    public struct Notes: Sendable, Hashable {
        public var excludes1: [Excludes1] = []
        /// Codes and categories (no dots) whose title says "in diseases classified elsewhere":
        /// manifestation codes, which the tabular tells to code after their cause ("code first").
        public var manifestations: [String] = []
        /// `<diag>` elements read.
        public var codes = 0

        public init() {}
    }

    /// A file that is not the tabular's layout, or breaks off.
    public struct LayoutError: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
    }

    /// Reads the notes from the file's bytes. Liberal in what it skips (the introduction, the
    /// index, includes and other notes, processing instructions, comments); strict that every
    /// element it opens closes, and that the file is the tabular (`ICD10CM.tabular`).
    public static func notes(_ bytes: [UInt8]) throws(LayoutError) -> Notes {
        var notes = Notes()
        var elements: [String] = []
        // The codes of the open <diag> elements, innermost last ("" until its <name> is read).
        var diags: [String] = []
        var text: [UInt8] = []
        var sawRoot = false
        var index = 0
        let count = bytes.count

        func close(_ name: String) throws(LayoutError) {
            guard elements.last == name else {
                throw LayoutError(description: "</\(name)> closes <\(elements.last ?? "nothing")> at byte \(index)")
            }
            let content = decode(text).trimmingCharacters()
            text.removeAll(keepingCapacity: true)
            elements.removeLast()
            let parent = elements.last
            switch name {
            case "name" where parent == "diag" && diags.last == "":
                diags[diags.count - 1] = content.replacingDots()
                notes.codes += 1
            case "desc" where parent == "diag":
                if let code = diags.last, !code.isEmpty, content.lowercased().contains("in diseases classified elsewhere") {
                    notes.manifestations.append(code)
                }
            case "note" where parent == "excludes1" && elements.dropLast().last == "diag":
                if let code = diags.last, !code.isEmpty {
                    for (from, through) in references(in: content) {
                        notes.excludes1.append(Excludes1(code: code, from: from, through: through))
                    }
                }
            case "diag":
                diags.removeLast()
            default:
                break
            }
        }

        while index < count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "<") else {
                text.append(byte)
                index += 1
                continue
            }
            // A comment, a processing instruction or a declaration: skipped whole.
            if index + 1 < count, bytes[index + 1] == UInt8(ascii: "!") || bytes[index + 1] == UInt8(ascii: "?") {
                let isComment = index + 3 < count && bytes[index + 2] == UInt8(ascii: "-") && bytes[index + 3] == UInt8(ascii: "-")
                var end = index + 2
                while end < count {
                    if isComment {
                        if bytes[end] == UInt8(ascii: ">") && bytes[end - 1] == UInt8(ascii: "-") && bytes[end - 2] == UInt8(ascii: "-") {
                            break
                        }
                    } else if bytes[end] == UInt8(ascii: ">") {
                        break
                    }
                    end += 1
                }
                guard end < count else { throw LayoutError(description: "the file breaks off inside a comment or declaration") }
                index = end + 1
                continue
            }
            var end = index + 1
            while end < count && bytes[end] != UInt8(ascii: ">") { end += 1 }
            guard end < count else { throw LayoutError(description: "the file breaks off inside a tag at byte \(index)") }
            let tag = bytes[(index + 1)..<end]
            index = end + 1
            if tag.first == UInt8(ascii: "/") {
                try close(String(decoding: tag.dropFirst(), as: UTF8.self).trimmingCharacters())
                continue
            }
            let selfClosing = tag.last == UInt8(ascii: "/")
            let body = selfClosing ? tag.dropLast() : tag
            let name = String(decoding: body.prefix { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }, as: UTF8.self)
            if !sawRoot {
                guard name == "ICD10CM.tabular" else {
                    throw LayoutError(description: "not the ICD-10-CM tabular: its root element is <\(name)>, not <ICD10CM.tabular>")
                }
                sawRoot = true
            }
            if selfClosing { continue }
            elements.append(name)
            text.removeAll(keepingCapacity: true)
            if name == "diag" { diags.append("") }
        }
        guard sawRoot else { throw LayoutError(description: "no <ICD10CM.tabular> element: not the ICD-10-CM tabular") }
        guard elements.isEmpty else { throw LayoutError(description: "the file breaks off inside <\(elements.last ?? "")>") }
        return notes
    }

    /// The code references of a note, as prefix ranges: every parenthesised list, each item a
    /// code ("E08.42"), a category or subcategory with its dash ("E11.-", "O24.4-"), or a range
    /// ("E08-E13", "M05.0-M05.3"). Items of another form ("see ...", "E08-E13 with .42") are left out.
    public static func references(in note: String) -> [(String, String)] {
        var result: [(String, String)] = []
        var rest = Substring(note)
        while let open = rest.firstIndex(of: "("), let close = rest[open...].firstIndex(of: ")") {
            for item in rest[rest.index(after: open)..<close].split(separator: ",") {
                let token = item.trimmingCharacters()
                let bounds = token.split(separator: "-", omittingEmptySubsequences: true).map(String.init)
                let isRange = bounds.count == 2 && !token.hasSuffix("-")
                if isRange, let from = prefix(bounds[0]), let through = prefix(bounds[1]) {
                    result.append((from, through))
                } else if bounds.count == 1, let code = prefix(bounds[0]) {
                    result.append((code, code))
                }
            }
            rest = rest[rest.index(after: close)...]
        }
        return result
    }

    /// "E11.-" → "E11", "O24.4" → "O244", "E08.42" → "E0842"; nil for anything else.
    static func prefix(_ text: String) -> String? {
        var code = text
        while code.hasSuffix(".") || code.hasSuffix("-") { code.removeLast() }
        let plain = code.replacingDots()
        let scalars = Array(plain.unicodeScalars)
        guard (3...7).contains(scalars.count), ("A"..."Z").contains(scalars[0]), ("0"..."9").contains(scalars[1]),
            scalars.dropFirst(2).allSatisfy({ ("0"..."9").contains($0) || ("A"..."Z").contains($0) }),
            code.filter({ $0 == "." }).count <= 1
        else { return nil }
        return plain
    }

    /// Text with the five XML entities and numeric character references decoded.
    static func decode(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            result += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": result += "&"
            case "lt": result += "<"
            case "gt": result += ">"
            case "quot": result += "\""
            case "apos": result += "'"
            default:
                let number =
                    entity.hasPrefix("#x")
                    ? UInt32(entity.dropFirst(2), radix: 16) : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                if let number, let scalar = Unicode.Scalar(number) { result.unicodeScalars.append(scalar) } else { result += "&\(entity);" }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return result + rest
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters() -> String {
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, scalars[start].properties.isWhitespace { start = scalars.index(after: start) }
        while end > start, scalars[scalars.index(before: end)].properties.isWhitespace { end = scalars.index(before: end) }
        return String(String.UnicodeScalarView(scalars[start..<end]))
    }

    fileprivate func replacingDots() -> String { String(filter { $0 != "." }) }
}
