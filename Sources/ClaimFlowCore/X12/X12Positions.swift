/// Finds segments in raw X12 text by what they start with, for messages that must name the
/// segment position of a parsed value (an unknown claim in an 835, say).
public enum X12Positions {
    /// The 1-based position of the first segment whose text starts with `prefix` (elements
    /// joined by the file's own separator), or nil. The separators come from the ISA header.
    public static func position(of prefix: [String], in text: String) -> Int? {
        let characters = Array(text.drop { $0 == "\u{FEFF}" || $0.isWhitespace })
        guard characters.count >= 106, String(characters.prefix(3)) == "ISA" else { return nil }
        let element = characters[3]
        let terminator = characters[105]
        let wanted = prefix.joined(separator: String(element))
        var position = 0
        for raw in String(characters).split(separator: terminator) {
            let segment = raw.trimmingPrefix(while: { $0 == "\n" || $0 == "\r" })
            guard !segment.isEmpty else { continue }
            position += 1
            if segment == wanted || segment.hasPrefix(wanted + String(element)) { return position }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
        var copy = self
        while let first = copy.first, predicate(first) { copy = copy.dropFirst() }
        return copy
    }
}
