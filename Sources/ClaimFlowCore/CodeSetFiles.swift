import Foundation

/// The code sets ClaimFlow imports, each from its official file layout.
public enum CodeSetKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// ICD-10-CM, from the CMS/CDC order file (fixed columns).
    case icd10cm
    /// HCPCS Level II and modifiers, from the CMS HCPCS file (320-character records).
    case hcpcs
    /// A CPT licensee's own table: `code,short description` (CSV).
    case cpt
    /// NCCI procedure-to-procedure edits, from the CMS tab-delimited file.
    case ncciPTP = "ncci_ptp"
    /// Medically unlikely edits (practitioner services), from the CMS file (CSV or tab).
    case mue
    /// The ICD-10-CM tabular's Excludes1 notes and manifestation codes, from the CDC's XML.
    case icd10cmTabular = "icd10cm_tabular"
    /// The physician fee schedule's PC/TC and bilateral indicators, from the CMS RVU file (CSV).
    case feeSchedule = "pfs_rvu"
}

/// One parsed record of a code-set file.
public enum CodeSetRecord: Sendable, Hashable {
    case diagnosis(order: Int, code: String, billable: Bool, short: String, long: String)
    case procedure(code: String, short: String, long: String, lifespan: CodeLifespan)
    /// A continuation of the previous procedure's long description (HCPCS record id 4).
    case continuation(code: String, text: String)
    case modifier(code: String, description: String, lifespan: CodeLifespan)
    case cpt(code: String, short: String)
    case ncci(column1: String, column2: String, effective: CalendarDate, deletion: CalendarDate?, modifierIndicator: Int)
    case mue(code: String, maxUnits: Int, indicator: String?, rationale: String?)
    /// A header, title or blank line the layout allows and the import skips.
    case skip
}

/// The dates a HCPCS code or modifier may be billed on, from its record: the day it was added
/// to HCPCS and the last day it may be used (its termination date). The annual file keeps a
/// discontinued code, with its termination date, for a while after the date, so being in the
/// release in force does not make a code billable on every date the release covers.
public struct CodeLifespan: Sendable, Hashable {
    public var added: CalendarDate?
    public var terminated: CalendarDate?

    public init(added: CalendarDate? = nil, terminated: CalendarDate? = nil) {
        self.added = added
        self.terminated = terminated
    }

    /// Where `date` falls: both the added day and the termination day are billable.
    public enum Standing: Sendable, Hashable {
        case inForce
        case terminated(lastDay: CalendarDate)
        case notYetAdded(firstDay: CalendarDate)
    }

    public func standing(on date: CalendarDate) -> Standing {
        if let terminated, date > terminated { return .terminated(lastDay: terminated) }
        if let added, date < added { return .notYetAdded(firstDay: added) }
        return .inForce
    }
}

/// A line that does not fit the file's layout, with the reason in words. Only
/// ``CodeSetParser`` makes one; callers read it.
public struct CodeSetLineError: Error, Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let reason: String

    public var description: String { "line \(line): \(reason)" }
}

/// Parses the lines of the official code-set files. Pure: the store reads the file and
/// writes the rows; a bad line names itself so the operator can find it.
public enum CodeSetParser {
    /// Parses line `number` (1-based) of a file of `kind`.
    public static func parse(_ line: Substring, number: Int, kind: CodeSetKind) throws(CodeSetLineError) -> CodeSetRecord {
        try parse(bytes: Array(line.utf8)[...], number: number, kind: kind)
    }

    /// Parses one line given as its UTF-8 bytes (without the newline), which the importer
    /// slices straight out of the file without making a string of every line first.
    public static func parse(bytes: ArraySlice<UInt8>, number: Int, kind: CodeSetKind) throws(CodeSetLineError) -> CodeSetRecord {
        let trimmed = bytes.last == 0x0D ? bytes.dropLast() : bytes
        // The fixed-column layouts are sliced as bytes; the delimited ones are read as text.
        var text: Substring { Substring(String(decoding: trimmed, as: UTF8.self)) }
        switch kind {
        case .icd10cm: return try icd10cm(Columns(trimmed), number)
        case .hcpcs: return try hcpcs(Columns(trimmed), number)
        case .cpt: return try cpt(text, number)
        case .ncciPTP: return try ncci(text, number)
        case .mue: return try mue(text, number)
        case .icd10cmTabular, .feeSchedule:
            // Read as a whole (``TabularFile``, ``FeeScheduleFile``): an XML tree, a CSV with its header.
            throw CodeSetLineError(line: number, reason: "a \(kind.rawValue) file is read whole, not line by line")
        }
    }

    /// Order file: order number in columns 1-5, code 7-13, billable flag 15, short
    /// description 17-76, long description 78 on.
    static func icd10cm(_ columns: Columns, _ number: Int) throws(CodeSetLineError) -> CodeSetRecord {
        if columns.isBlank { return .skip }
        guard columns.count >= 17, let order = Int(columns.field(1, 5)), columns.field(6, 6).isEmpty else {
            throw CodeSetLineError(
                line: number,
                reason: "not in the ICD-10-CM order-file layout (order number in columns 1-5, code in 7-13, billable flag in 15)"
            )
        }
        let code = columns.field(7, 13)
        guard CodeFormat.normalizedDiagnosis(code) == code else {
            throw CodeSetLineError(line: number, reason: "'\(code)' is not an ICD-10-CM code")
        }
        let flag = columns.field(15, 15)
        guard flag == "0" || flag == "1" else {
            throw CodeSetLineError(line: number, reason: "the billable flag in column 15 must be 0 or 1, not '\(flag)'")
        }
        let short = columns.field(17, 76)
        let long = columns.count >= 78 ? columns.field(78, columns.count) : ""
        return .diagnosis(order: order, code: code, billable: flag == "1", short: short, long: long.isEmpty ? short : long)
    }

    /// HCPCS record: code 1-5 (a modifier right-aligned in 4-5), sequence 6-10, record id 11
    /// (3 procedure, 4 its continuation, 7 modifier, 8 its continuation), long description
    /// 12-91, short description 92-119, code added date 269-276, action effective date 277-284,
    /// termination date 285-292 (dates YYYYMMDD or blank), action code 293. The action
    /// effective date is the day of the record's latest change, not the code's first day, so
    /// only the added and termination dates are kept.
    static func hcpcs(_ columns: Columns, _ number: Int) throws(CodeSetLineError) -> CodeSetRecord {
        if columns.isBlank { return .skip }
        let field = columns.field
        guard columns.count >= 12, Int(field(6, 10)) != nil else {
            throw CodeSetLineError(line: number, reason: "not in the CMS HCPCS record layout (code 1-5, sequence 6-10, record id 11)")
        }
        let code = field(1, 5)
        let long = field(12, 91)
        func lifespan() throws(CodeSetLineError) -> CodeLifespan {
            func date(_ from: Int, _ through: Int, _ name: String) throws(CodeSetLineError) -> CalendarDate? {
                let text = field(from, through)
                // Blank, or a year 9999 some extracts write for "open": no date.
                if text.isEmpty || text.hasPrefix("9999") { return nil }
                guard let date = compactDate(text) else {
                    throw CodeSetLineError(
                        line: number, reason: "the \(name) date in columns \(from)-\(through) must be YYYYMMDD, not '\(text)'")
                }
                return date
            }
            return CodeLifespan(added: try date(269, 276, "code added"), terminated: try date(285, 292, "termination"))
        }
        switch field(11, 11) {
        case "3":
            guard code.count == 5, CodeFormat.isProcedure(code) else {
                throw CodeSetLineError(line: number, reason: "'\(code)' is not a procedure code")
            }
            // Level I (CPT) rows are the AMA's: ClaimFlow keeps Level II only.
            guard code.first?.isLetter == true else { return .skip }
            return .procedure(code: code, short: field(92, 119), long: long, lifespan: try lifespan())
        case "4":
            guard code.first?.isLetter == true else { return .skip }
            return .continuation(code: code, text: long)
        case "7":
            guard CodeFormat.isModifier(code) else {
                throw CodeSetLineError(line: number, reason: "'\(code)' is not a two-character modifier")
            }
            return .modifier(code: code, description: long, lifespan: try lifespan())
        case "8":
            return .skip
        default:
            throw CodeSetLineError(line: number, reason: "record id in column 11 must be 3, 4, 7 or 8, not '\(field(11, 11))'")
        }
    }

    /// `code,short description`, optionally quoted, with an optional header line.
    static func cpt(_ text: Substring, _ number: Int) throws(CodeSetLineError) -> CodeSetRecord {
        if text.allSatisfy(\.isWhitespace) { return .skip }
        let fields = csvFields(text)
        let code = fields.first ?? ""
        if number == 1, !CodeFormat.isProcedure(code) { return .skip }
        guard fields.count >= 2, CodeFormat.isProcedure(code), code.first?.isNumber == true else {
            throw CodeSetLineError(line: number, reason: "expected `code,short description` with a CPT code, got '\(text.prefix(40))'")
        }
        return .cpt(code: code, short: fields[1])
    }

    /// Column 1, column 2, prior-to-1996 flag, effective date (YYYYMMDD), deletion date
    /// (YYYYMMDD or *), modifier indicator (0, 1, 9), rationale; tab-delimited, after
    /// title and header lines.
    static func ncci(_ text: Substring, _ number: Int) throws(CodeSetLineError) -> CodeSetRecord {
        let fields = tabFields(text)
        guard let first = fields.first, CodeFormat.isProcedure(first) else { return .skip }
        guard fields.count >= 6 else {
            throw CodeSetLineError(line: number, reason: "an NCCI PTP row needs 6 tab-separated columns, this has \(fields.count)")
        }
        guard CodeFormat.isProcedure(fields[1]) else {
            throw CodeSetLineError(line: number, reason: "column 2 '\(fields[1])' is not a procedure code")
        }
        guard let effective = compactDate(fields[3]) else {
            throw CodeSetLineError(line: number, reason: "effective date '\(fields[3])' is not YYYYMMDD")
        }
        let deletion: CalendarDate?
        if fields[4] == "*" || fields[4].isEmpty {
            deletion = nil
        } else if let date = compactDate(fields[4]) {
            deletion = date
        } else {
            throw CodeSetLineError(line: number, reason: "deletion date '\(fields[4])' is not YYYYMMDD or *")
        }
        guard let indicator = Int(fields[5]), [0, 1, 9].contains(indicator) else {
            throw CodeSetLineError(line: number, reason: "modifier indicator '\(fields[5])' must be 0, 1 or 9")
        }
        return .ncci(column1: first, column2: fields[1], effective: effective, deletion: deletion, modifierIndicator: indicator)
    }

    /// Code, MUE value, adjudication indicator, rationale: comma or tab separated, after
    /// title and header lines.
    static func mue(_ text: Substring, _ number: Int) throws(CodeSetLineError) -> CodeSetRecord {
        let fields = text.contains("\t") ? tabFields(text) : csvFields(text)
        guard let first = fields.first, CodeFormat.isProcedure(first) else { return .skip }
        guard fields.count >= 2, let units = Int(fields[1]), units >= 0 else {
            throw CodeSetLineError(line: number, reason: "the MUE value '\(fields.count > 1 ? fields[1] : "")' is not a whole number")
        }
        return .mue(
            code: first, maxUnits: units, indicator: fields.count > 2 ? fields[2] : nil, rationale: fields.count > 3 ? fields[3] : nil
        )
    }

    /// Fixed-column access to one line. The files are ASCII but for a few accented letters in
    /// descriptions, and their columns count characters: ASCII lines are sliced by byte (fast),
    /// others by character.
    struct Columns {
        let bytes: ArraySlice<UInt8>
        let characters: [Character]?

        init(_ bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            self.characters = bytes.allSatisfy { $0 < 0x80 } ? nil : Array(String(decoding: bytes, as: UTF8.self))
        }

        var count: Int { characters?.count ?? bytes.count }

        var isBlank: Bool { bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 } }

        /// Columns `from` through `through` (1-based, inclusive), without surrounding spaces.
        func field(_ from: Int, _ through: Int) -> String {
            guard from <= count else { return "" }
            let upper = Swift.min(through, count)
            if let characters {
                return String(characters[(from - 1)..<upper]).trimmingCharacters(in: .whitespaces)
            }
            var start = bytes.startIndex + from - 1
            var end = bytes.startIndex + upper
            while start < end, bytes[start] == 0x20 { start += 1 }
            while end > start, bytes[end - 1] == 0x20 { end -= 1 }
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
    }

    static func compactDate(_ text: String) -> CalendarDate? {
        guard text.count == 8, let year = Int(text.prefix(4)), let month = Int(text.dropFirst(4).prefix(2)),
            let day = Int(text.suffix(2))
        else { return nil }
        return CalendarDate(year: year, month: month, day: day)
    }

    /// Splits one tab-delimited line; fields lose their surrounding spaces, as CSV fields do.
    static func tabFields(_ text: Substring) -> [String] {
        text.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Splits one CSV line, honouring double quotes ("" inside quotes is a quote).
    public static func csvFields(_ text: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if quoted, character == "\"" {
                if index + 1 < characters.count, characters[index + 1] == "\"" {
                    current.append("\"")
                    index += 1
                } else {
                    quoted = false
                }
            } else if quoted {
                current.append(character)
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                fields.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else {
                current.append(character)
            }
            index += 1
        }
        fields.append(current.trimmingCharacters(in: .whitespaces))
        return fields
    }
}
