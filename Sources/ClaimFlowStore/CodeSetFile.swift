import ClaimFlowCore
import Foundation

/// Parses every line of a code-set file (its bytes already read and decompressed by the caller).
enum CodeSetFile {
    struct Diagnosis {
        let code: String
        let billable: Bool
        var suggestion: String?
        let short: String
        let long: String
    }

    struct Procedure {
        let code: String
        let short: String
        var long: String
        let lifespan: CodeLifespan
    }

    /// Every record of one file, grouped by table.
    struct Parsed {
        var rows = 0
        var billableRows = 0
        var diagnoses: [Diagnosis] = []
        var procedures: [Procedure] = []
        var modifiers: [(code: String, description: String, lifespan: CodeLifespan)] = []
        var cpt: [(code: String, short: String)] = []
        var edits: [(column1: String, column2: String, effective: CalendarDate, deletion: CalendarDate?, indicator: Int)] = []
        var limits: [(code: String, units: Int, indicator: String?, rationale: String?)] = []
        var tabular = TabularFile.Notes()
        var feeSchedule: [FeeScheduleFile.Indicators] = []

        var count: Int {
            diagnoses.count + procedures.count + modifiers.count + cpt.count + edits.count + limits.count + tabular.excludes1.count
                + tabular.manifestations.count + feeSchedule.count
        }
    }

    /// Parses every line; the first line that does not fit the layout stops the import.
    static func records(_ data: Data, kind: CodeSetKind, name: String) throws -> Parsed {
        let bytes = [UInt8](data)
        var parsed = Parsed()
        if kind == .feeSchedule {
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            do throws(FeeScheduleFile.LayoutError) {
                parsed.feeSchedule = try FeeScheduleFile.indicators(lines)
            } catch {
                throw CodeSetImportError("\(name): \(error.description)")
            }
            guard !parsed.feeSchedule.isEmpty else {
                throw CodeSetImportError("\(name): no codes below the header; is it the physician fee schedule's RVU file?")
            }
            parsed.rows = parsed.feeSchedule.count
            return parsed
        }
        if kind == .icd10cmTabular {
            do throws(TabularFile.LayoutError) {
                parsed.tabular = try TabularFile.notes(bytes)
            } catch {
                throw CodeSetImportError("\(name): \(error.description)")
            }
            guard parsed.tabular.codes > 0 else {
                throw CodeSetImportError("\(name): no <diag> codes found; is it the ICD-10-CM tabular?")
            }
            parsed.rows = parsed.tabular.codes
            // A note may name a range twice (two notes of one code); keep each once.
            var seen: Set<TabularFile.Excludes1> = []
            parsed.tabular.excludes1 = parsed.tabular.excludes1.filter { seen.insert($0).inserted }
            var manifestations: Set<String> = []
            parsed.tabular.manifestations = parsed.tabular.manifestations.filter { manifestations.insert($0).inserted }
            return parsed
        }
        var lastProcedure: Int?
        var number = 0
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            let record: CodeSetRecord
            do {
                record = try CodeSetParser.parse(bytes: line, number: number, kind: kind)
            } catch {
                throw CodeSetImportError("\(name) \(error.description)")
            }
            switch record {
            case .skip:
                continue
            case .diagnosis(_, let code, let billable, let short, let long):
                parsed.diagnoses.append(Diagnosis(code: code, billable: billable, suggestion: nil, short: short, long: long))
                if billable { parsed.billableRows += 1 }
            case .procedure(let code, let short, let long, let lifespan):
                parsed.procedures.append(Procedure(code: code, short: short, long: long, lifespan: lifespan))
                lastProcedure = parsed.procedures.count - 1
            case .continuation(let code, let text):
                if let index = lastProcedure, parsed.procedures[index].code == code {
                    parsed.procedures[index].long += " " + text
                }
                continue
            case .modifier(let code, let description, let lifespan):
                parsed.modifiers.append((code, description, lifespan))
            case .cpt(let code, let short):
                parsed.cpt.append((code, short))
            case .ncci(let column1, let column2, let effective, let deletion, let indicator):
                parsed.edits.append((column1, column2, effective, deletion, indicator))
            case .mue(let code, let units, let indicator, let rationale):
                parsed.limits.append((code, units, indicator, rationale))
            }
            parsed.rows += 1
        }
        guard parsed.rows > 0 else {
            throw CodeSetImportError("\(name): no \(kind.rawValue) records found; is it the right file for this kind?")
        }
        suggestBillableCodes(&parsed.diagnoses)
        // The order file may list a code twice (2026 lists QA0, B20 and others twice); keep the first.
        var seen: Set<String> = []
        parsed.diagnoses = parsed.diagnoses.filter { seen.insert($0.code).inserted }
        return parsed
    }

    /// For each header, a billable code under it to suggest: the shortest, preferring the
    /// "unspecified" one ending in 9 (E11 suggests E119), else the first in file order. The
    /// order file lists a category's codes right after it.
    static func suggestBillableCodes(_ diagnoses: inout [Diagnosis]) {
        for index in diagnoses.indices where !diagnoses[index].billable {
            let header = diagnoses[index].code
            var best: String?
            var next = index + 1
            while next < diagnoses.count, diagnoses[next].code.hasPrefix(header) {
                let candidate = diagnoses[next].code
                if diagnoses[next].billable, candidate != header {
                    if let current = best {
                        let better =
                            candidate.count < current.count
                            || (candidate.count == current.count && candidate.hasSuffix("9") && !current.hasSuffix("9"))
                        if better { best = candidate }
                    } else {
                        best = candidate
                    }
                }
                next += 1
            }
            diagnoses[index].suggestion = best
        }
    }
}

/// A code-set file could not be imported; the message names the file and, for a bad line,
/// the line.
public struct CodeSetImportError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
