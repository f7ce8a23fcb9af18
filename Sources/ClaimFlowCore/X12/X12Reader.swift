import Foundation

// Reading X12 text: segments, the ISA/GS/ST envelope around them, and the element values
// every answer shares (amounts, counts, control numbers). The readers of the 999, 277CA and
// 835 work on checked transaction sets, so every envelope error is found before any answer
// is read.

/// The separators an interchange declares in its ISA. X12 has no fixed separators: each
/// sender picks them, and the ISA's fixed width is what lets a reader find them.
struct X12Delimiters: Sendable, Hashable {
    var element: Unicode.Scalar
    var component: Unicode.Scalar
    var segment: Unicode.Scalar
}

/// One segment and where it sits in the file.
struct X12Segment: Sendable, Hashable {
    /// 1-based index of the segment in the file, ISA being 1: what people count when they
    /// open the file in an editor with one segment per line.
    var position: Int
    var id: String
    /// The elements after the id, as written (ISA keeps its padding).
    var elements: [String]
    var componentSeparator: Character

    /// Element `number` in X12 numbering (CLP03 is `self[3]`), without surrounding spaces;
    /// empty when the segment stops before it, as X12 drops trailing empty elements.
    subscript(_ number: Int) -> String {
        guard number >= 1, number <= elements.count else { return "" }
        return elements[number - 1].trimmingSpaces
    }

    /// The components of a composite element (STC01 is `components(1)`); trailing empty
    /// components are dropped.
    func components(_ number: Int) -> [String] {
        let value = self[number]
        guard !value.isEmpty else { return [] }
        return value.split(separator: componentSeparator, omittingEmptySubsequences: false).map {
            String($0).trimmingSpaces
        }.droppingTrailingEmpties
    }

    func error(_ reason: String) -> X12ParseError {
        X12ParseError(segmentPosition: position, segmentID: id, reason: reason)
    }

    func warning(_ reason: String) -> X12Warning {
        X12Warning(segmentPosition: position, segmentID: id, reason: reason)
    }
}

extension [String] {
    /// X12 leaves out trailing empty elements and components rather than ending a segment or
    /// a composite with separators; the writer does so and the reader reads both forms alike.
    var droppingTrailingEmpties: [String] {
        var values = self
        while values.last?.isEmpty == true { values.removeLast() }
        return values
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self).unicodeScalars
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Splits an interchange into segments.
///
/// Line feeds and carriage returns after a terminator are skipped, because most payers send
/// one segment per line; they are never treated as terminators unless the ISA says so.
struct X12Tokenizer {
    /// Widths of the ISA id and ISA01...ISA16: fixed by the standard, so the separators sit at
    /// known places (the element separator at 3, the component separator at 104 and the
    /// segment terminator at 105).
    static let isaWidths = [3, 2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1]
    static let isaLength = 106

    let delimiters: X12Delimiters
    let segments: [X12Segment]

    init(_ text: String) throws(X12ParseError) {
        var scalars = Array(text.unicodeScalars)
        // A byte order mark or blank lines before the ISA are common in uploaded files.
        let leading = scalars.prefix { $0 == "\u{FEFF}" || Self.isLayout($0) || $0 == " " }.count
        scalars.removeFirst(leading)
        let isaError = { (reason: String) in X12ParseError(segmentPosition: 1, segmentID: "ISA", reason: reason) }
        guard !scalars.isEmpty else { throw isaError("the file is empty") }
        guard scalars.count >= 3, String(String.UnicodeScalarView(scalars[0..<3])) == "ISA" else {
            throw isaError("the file does not start with an ISA segment")
        }
        guard scalars.count >= Self.isaLength else {
            throw isaError("the file ends inside the ISA, which is \(Self.isaLength) characters")
        }
        let element = scalars[3]
        let component = scalars[104]
        let terminator = scalars[105]
        for (name, separator) in [("element separator", element), ("component separator (ISA16)", component)] {
            guard !Self.isLayout(separator) else {
                throw isaError("the \(name) is a line break; the ISA must be \(Self.isaLength) characters")
            }
        }
        for (name, separator) in [
            ("element separator", element), ("component separator (ISA16)", component),
            ("segment terminator", terminator),
        ] where separator.properties.isAlphabetic || ("0"..."9").contains(separator) || separator == " " {
            throw isaError(
                "the \(name) is a letter, digit or space; the ISA must be \(Self.isaLength) characters with its separators in place")
        }
        guard element != component, element != terminator, component != terminator else {
            throw isaError("the element separator, component separator and segment terminator must differ")
        }
        let fields = scalars[0..<105].split(separator: element, omittingEmptySubsequences: false)
        guard fields.count == Self.isaWidths.count else {
            throw isaError(
                "has \(fields.count - 1) elements where 16 are required; the ISA must be \(Self.isaLength) characters counting separators")
        }
        for (index, (field, width)) in zip(fields, Self.isaWidths).enumerated() where field.count != width {
            let name = index == 0 ? "the segment id" : X12Segment.elementName("ISA", index)
            throw isaError(
                "\(name) is \(field.count) characters where \(width) are required; "
                    + "the ISA must be \(Self.isaLength) characters counting separators"
            )
        }
        self.delimiters = X12Delimiters(element: element, component: component, segment: terminator)

        // The ISA is cut by position, not by terminator, so a terminator character inside an
        // ISA field (a sender id, say) cannot split it.
        var segments = [
            X12Segment(
                position: 1, id: "ISA",
                elements: fields.dropFirst().map { String(String.UnicodeScalarView($0)) },
                componentSeparator: Character(component))
        ]
        var start = Self.isaLength
        var index = Self.isaLength
        while index < scalars.count {
            if scalars[index] == terminator {
                if let segment = try Self.segment(
                    scalars[start..<index], position: segments.count + 1, delimiters: delimiters)
                {
                    segments.append(segment)
                }
                start = index + 1
            }
            index += 1
        }
        let rest = scalars[start...]
        if rest.contains(where: { !Self.isLayout($0) && $0 != " " && $0 != "\u{1A}" }) {
            // Parse what is there only to name it; a missing terminator means a cut-off file.
            let partial = try Self.segment(rest, position: segments.count + 1, delimiters: delimiters)
            throw X12ParseError(
                segmentPosition: segments.count + 1, segmentID: partial?.id ?? "",
                reason: "the file ends inside this segment (no segment terminator): it was cut off")
        }
        self.segments = segments
    }

    /// Line breaks and tabs that people and transfer tools put between segments.
    private static func isLayout(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\n" || scalar == "\r" || scalar == "\t"
    }

    private static func segment(
        _ scalars: ArraySlice<Unicode.Scalar>, position: Int, delimiters: X12Delimiters
    ) throws(X12ParseError) -> X12Segment? {
        var body = scalars
        while let first = body.first, isLayout(first) || first == " " { body.removeFirst() }
        while let last = body.last, isLayout(last) { body.removeLast() }
        // Tolerated rather than counted: an empty segment carries nothing, and counting it
        // would shift every position after it away from what the sender's SE counts.
        guard !body.isEmpty else { return nil }
        let parts = body.split(separator: delimiters.element, omittingEmptySubsequences: false).map {
            String(String.UnicodeScalarView($0))
        }
        let id = parts[0].trimmingSpaces
        guard Self.isSegmentID(id) else {
            throw X12ParseError(
                segmentPosition: position, segmentID: String(id.prefix(3)),
                reason: "does not start with a segment id (2 or 3 capital letters and digits): the file is garbled")
        }
        return X12Segment(
            position: position, id: id, elements: Array(parts.dropFirst()),
            componentSeparator: Character(delimiters.component))
    }

    private static func isSegmentID(_ id: String) -> Bool {
        let scalars = Array(id.unicodeScalars)
        guard (2...3).contains(scalars.count), ("A"..."Z").contains(scalars[0]) else { return false }
        return scalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
    }
}

// MARK: - Envelope

/// An ST...SE transaction set whose count and control number have been checked.
struct X12TransactionSet: Sendable {
    var header: X12Segment
    /// The segments between ST and SE.
    var body: [X12Segment]
    var trailer: X12Segment

    var identifier: String { header[1] }
    var controlNumber: String { header[2] }
}

/// A GS...GE functional group whose count and control number have been checked.
struct X12FunctionalGroup: Sendable {
    var header: X12Segment
    var transactionSets: [X12TransactionSet]
    var trailer: X12Segment

    var functionalIdentifier: String { header[1] }
    var controlNumber: Int
    var implementationConvention: String { header[8] }
}

/// One checked interchange: every SE, GE and IEA count matches, and the file ends with the
/// IEA. It holds at least one functional group or at least one TA1.
///
/// Liberal where real payers' files are sloppy and the meaning is still clear: a GE02 or
/// IEA02 that does not repeat its header's control number, and an SE02 that repeats ST02
/// with other leading zeros, are warnings, since the trailer closes the one group or set
/// that is open. Counts that disagree stay errors: they are how a cut or spliced file shows.
struct X12Interchange: Sendable {
    var header: X12Segment
    var groups: [X12FunctionalGroup]
    var trailer: X12Segment

    var controlNumber: Int
    /// The TA1 segments outside the functional groups, in file order.
    var interchangeAcks: [InterchangeAck]
    /// The envelope's quirks, in file order.
    var warnings: [X12Warning]

    init(_ text: String) throws(X12ParseError) {
        let segments = try X12Tokenizer(text).segments
        let isa = segments[0]
        guard let interchangeControlNumber = isa.controlNumber(at: 13) else {
            throw isa.error("ISA13 \(isa[13]) is not a 9-digit interchange control number")
        }
        header = isa
        controlNumber = interchangeControlNumber

        var groups: [X12FunctionalGroup] = []
        var interchangeAcks: [InterchangeAck] = []
        var warnings: [X12Warning] = []
        var group: (header: X12Segment, controlNumber: Int, sets: [X12TransactionSet])?
        var set: (header: X12Segment, body: [X12Segment])?
        var trailer: X12Segment?
        // GS and IEA may not stand inside an open transaction set or group, nor ST and GE
        // inside an open transaction set: the SE or GE before them is missing.
        func refuseInsideOpen(_ segment: X12Segment, group checksGroup: Bool) throws(X12ParseError) {
            if let set {
                throw segment.error("\(segment.id) inside transaction set \(set.header[2]), which has no SE")
            }
            if checksGroup, let group {
                throw segment.error("\(segment.id) inside functional group \(group.controlNumber), which has no GE")
            }
        }

        for segment in segments.dropFirst() {
            if trailer != nil {
                throw segment.error("comes after the IEA; a file must hold exactly one interchange")
            }
            switch segment.id {
            case "ISA":
                throw segment.error("a second ISA inside the interchange; the previous one has no IEA")
            case "GS":
                try refuseInsideOpen(segment, group: true)
                guard let number = segment.controlNumber(at: 6) else {
                    throw segment.error("GS06 \(segment[6]) is not a group control number (1 to 9 digits)")
                }
                try segment.required(1, "functional identifier code")
                try segment.required(8, "version")
                group = (segment, number, [])
            case "ST":
                try refuseInsideOpen(segment, group: false)
                guard group != nil else { throw segment.error("ST outside a functional group (no GS before it)") }
                try segment.required(1, "transaction set identifier")
                guard (4...9).contains(segment[2].count) else {
                    throw segment.error("ST02 \(segment[2]) is not a transaction set control number (4 to 9 characters)")
                }
                set = (segment, [])
            case "SE":
                guard let open = set else { throw segment.error("SE without an ST") }
                let count = open.body.count + 2
                guard let said = Int(segment[1]), segment[1].allSatisfy(\.isASCIIDigit) else {
                    throw segment.error("SE01 \(segment[1]) is not a segment count")
                }
                guard said == count else {
                    throw segment.error("the SE count says \(said) segments, the transaction set has \(count)")
                }
                let (trailerNumber, headerNumber) = (segment[2], open.header[2])
                if trailerNumber != headerNumber {
                    // `0002` for `00002`: the same number, written with other leading zeros.
                    guard trailerNumber.allSatisfy(\.isASCIIDigit), headerNumber.allSatisfy(\.isASCIIDigit),
                        let trailerValue = Int(trailerNumber), trailerValue == Int(headerNumber)
                    else {
                        throw segment.error("SE02 \(segment.shown(2)) does not match ST02 \(headerNumber)")
                    }
                    warnings.append(
                        segment.warning("SE02 \(trailerNumber) matches ST02 \(headerNumber) only as a number (other leading zeros)"))
                }
                group?.sets.append(X12TransactionSet(header: open.header, body: open.body, trailer: segment))
                set = nil
            case "GE":
                try refuseInsideOpen(segment, group: false)
                guard let open = group else { throw segment.error("GE without a GS") }
                guard let said = segment.count(at: 1) else {
                    throw segment.error("GE01 \(segment[1]) is not a transaction set count")
                }
                guard said == open.sets.count else {
                    throw segment.error(
                        "GE01 says \(said) transaction sets, the functional group has \(open.sets.count)")
                }
                if segment.controlNumber(at: 2) != open.controlNumber {
                    warnings.append(
                        segment.warning(
                            "GE02 \(segment.shown(2)) does not match GS06 \(open.header[6]); read as the end of group \(open.controlNumber)"
                        ))
                }
                guard !open.sets.isEmpty else { throw segment.error("the functional group has no transaction set") }
                groups.append(
                    X12FunctionalGroup(
                        header: open.header, transactionSets: open.sets, trailer: segment,
                        controlNumber: open.controlNumber))
                group = nil
            case "IEA":
                try refuseInsideOpen(segment, group: true)
                guard let said = segment.count(at: 1) else {
                    throw segment.error("IEA01 \(segment[1]) is not a functional group count")
                }
                guard said == groups.count else {
                    throw segment.error("IEA01 says \(said) functional groups, the interchange has \(groups.count)")
                }
                guard !groups.isEmpty || !interchangeAcks.isEmpty else {
                    throw segment.error("the interchange has no functional group and no TA1")
                }
                if segment.controlNumber(at: 2) != interchangeControlNumber {
                    warnings.append(
                        segment.warning(
                            "IEA02 \(segment.shown(2)) does not match ISA13 \(isa[13]); read as the end of interchange \(isa[13])"
                        ))
                }
                trailer = segment
            case "TA1":
                // An interchange acknowledgment: alone in a file (IEA01 0), or riding along
                // before the groups of a file that answers something else.
                guard group == nil else { throw segment.error("TA1 inside a functional group") }
                interchangeAcks.append(try InterchangeAckReader.read(segment, warnings: &warnings))
            default:
                guard set != nil else {
                    throw segment.error("\(segment.id) outside a transaction set (ST...SE)")
                }
                set?.body.append(segment)
            }
        }
        guard let trailer else {
            let last = segments[segments.count - 1]
            let reason =
                if let set {
                    "the file ends after this segment, inside transaction set \(set.header[2]) (no SE, GE or IEA): it was cut off"
                } else if let group {
                    "the file ends after this segment, inside functional group \(group.controlNumber) (no GE or IEA): it was cut off"
                } else {
                    "the file ends after this segment without an IEA: it was cut off"
                }
            throw last.error(reason)
        }
        self.groups = groups
        self.trailer = trailer
        self.interchangeAcks = interchangeAcks
        self.warnings = warnings
    }
}

// MARK: - Errors

/// Why a payer's file cannot be read. Parsing stops at the first problem and never returns a
/// partial answer, so a claim is moved only by a file that was read whole.
///
/// The reason names segments, elements, codes, counts and control numbers; it never repeats
/// names or member ids, so it is safe to log and to show to the uploader. Only the readers in
/// this module make one; callers read it.
public struct X12ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based index of the segment in the file (ISA is 1), so people can find it in an
    /// editor that shows one segment per line.
    public let segmentPosition: Int
    /// The segment's id (`SE`, `CLP`); empty when the file has no readable id there.
    public let segmentID: String
    public let reason: String

    public var description: String {
        segmentID.isEmpty
            ? "segment \(segmentPosition): \(reason)"
            : "segment \(segmentPosition) (\(segmentID)): \(reason)"
    }
}

// MARK: - Reading helpers

/// Walks a transaction set's body; past its end it stands on the SE, so "expected X, found
/// SE" names the place where a required segment is missing.
struct X12Cursor {
    let set: X12TransactionSet
    private(set) var index = 0

    init(_ set: X12TransactionSet) {
        self.set = set
    }

    var isAtEnd: Bool { index >= set.body.count }
    var current: X12Segment { isAtEnd ? set.trailer : set.body[index] }

    /// The segments not read yet, up to the SE (which is not among them).
    var rest: ArraySlice<X12Segment> { self.set.body.dropFirst(index) }

    /// The current segment, which must have the id `id` (`expected` says what was required,
    /// when more than the id); the cursor moves past it.
    mutating func next(_ id: String, expecting expected: String? = nil) throws(X12ParseError) -> X12Segment {
        guard current.id == id else { throw unexpected(expecting: expected ?? id) }
        defer { index += 1 }
        return current
    }

    /// The current segment when it is one of `ids`, moving past it; otherwise nil, staying put.
    mutating func next(ifOneOf ids: Set<String>) -> X12Segment? {
        guard !isAtEnd, ids.contains(current.id) else { return nil }
        defer { index += 1 }
        return current
    }

    private func unexpected(expecting expected: String) -> X12ParseError {
        let found = current
        return isAtEnd
            ? found.error("the transaction set ends where \(expected) is required")
            : found.error("expected \(expected), found \(found.id)")
    }
}

/// The element values every transaction set reads, checked in one place so that all readers
/// word their errors alike.
extension X12Segment {
    /// `CAS05`, `PLB10`: X12 names elements with two digits.
    static func elementName(_ id: String, _ number: Int) -> String {
        id + (number < 10 ? "0" : "") + String(number)
    }

    func elementName(_ number: Int) -> String { Self.elementName(id, number) }

    /// Element `number` as a message shows it: `(empty)` when it is empty or missing.
    func shown(_ number: Int) -> String {
        value(number) ?? "(empty)"
    }

    /// Element `number`, or nil when it is empty or missing.
    func value(_ number: Int) -> String? {
        let value = self[number]
        return value.isEmpty ? nil : value
    }

    /// The elements among `numbers` that are not empty, in that order.
    func values(_ numbers: some Sequence<Int>) -> [String] {
        numbers.compactMap { value($0) }
    }

    /// Element `number`, which must not be empty; `label` says what it holds.
    @discardableResult
    func required(_ number: Int, _ label: String) throws(X12ParseError) -> String {
        guard let value = value(number) else { throw error("\(elementName(number)) (\(label)) is empty") }
        return value
    }

    func amount(_ number: Int, _ label: String) throws(X12ParseError) -> Decimal {
        guard let value = try optionalAmount(number, label) else {
            throw error("\(elementName(number)) (\(label)) is missing")
        }
        return value
    }

    /// X12's R type: an optional minus, up to 18 digits and at most one decimal point; no
    /// exponent, no plus sign, no thousands separators.
    func optionalAmount(_ number: Int, _ label: String) throws(X12ParseError) -> Decimal? {
        let text = self[number]
        guard !text.isEmpty else { return nil }
        var digits = 0
        var points = 0
        var valid = true
        for (offset, character) in text.enumerated() {
            if character.isASCIIDigit {
                digits += 1
            } else if character == "." {
                points += 1
            } else if !(character == "-" && offset == 0) {
                valid = false
            }
        }
        guard valid, (1...18).contains(digits), points <= 1,
            let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
        else {
            throw error("\(elementName(number)) \(text) (\(label)) is not an amount")
        }
        return value
    }

    /// A control number (ISA13, GS06, AK102): 1 to 9 digits. X12 N0 control numbers may
    /// carry leading zeros (ISA13 always does), so they compare as numbers.
    func controlNumber(at number: Int) -> Int? { Self.unsigned(self[number], maxDigits: 9) }

    /// A count of transaction sets or groups (GE01, IEA01, AK902...AK904): 1 to 6 digits.
    func count(at number: Int) -> Int? { Self.unsigned(self[number], maxDigits: 6) }

    private static func unsigned(_ text: String, maxDigits: Int) -> Int? {
        guard (1...maxDigits).contains(text.count), text.allSatisfy(\.isASCIIDigit) else { return nil }
        return Int(text)
    }
}

// MARK: - Positions

/// Finds segments in raw X12 text by what they start with, for messages that must name the
/// segment position of a parsed value (an unknown claim in an 835, say).
public enum X12Positions {
    /// The 1-based position of the first segment whose text starts with `prefix` (elements
    /// joined by the file's own separator), or nil. The separators come from the ISA header.
    public static func position(of prefix: [String], in text: String) -> Int? {
        positions(of: prefix, in: text).first
    }

    /// The 1-based positions of every segment whose text starts with `prefix`, in one pass over
    /// the file: for naming many segments of one upload without reading it again for each.
    public static func positions(of prefix: [String], in text: String) -> [Int] {
        let characters = Array(text.drop { $0 == "\u{FEFF}" || $0.isWhitespace })
        guard characters.count >= 106, String(characters.prefix(3)) == "ISA" else { return [] }
        let element = characters[3]
        let terminator = characters[105]
        let wanted = prefix.joined(separator: String(element))
        var position = 0
        var found: [Int] = []
        for raw in String(characters).split(separator: terminator) {
            let segment = raw.trimmingPrefix(while: { $0 == "\n" || $0 == "\r" })
            guard !segment.isEmpty else { continue }
            position += 1
            if segment == wanted || segment.hasPrefix(wanted + String(element)) { found.append(position) }
        }
        return found
    }
}

extension Substring {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
        var copy = self
        while let first = copy.first, predicate(first) { copy = copy.dropFirst() }
        return copy
    }
}
