/// The Medicare Physician Fee Schedule's relative value file (PPRRVU, CSV), read for the
/// indicators the modifier rules need: each code's PC/TC indicator (whether modifiers 26 and
/// TC apply) and its bilateral surgery indicator (whether modifier 50 does).
///
/// The columns are found by their header names (`HCPCS`, `MOD`, `PCTC IND` or `PCTC`,
/// `BILAT SURG` or `BILAT`), so a release that moves or adds columns still reads; title lines
/// above the header and rows with a modifier (the 26 and TC rows of split codes) are skipped.
public enum FeeScheduleFile {
    /// One code's indicators (the row without a modifier).
    public struct Indicators: Sendable, Hashable {
        public let code: String
        public let pcTC: Int
        public let bilateral: Int?

        public init(code: String, pcTC: Int, bilateral: Int?) {
            self.code = code
            self.pcTC = pcTC
            self.bilateral = bilateral
        }
    }

    /// A file without the header, or a row whose indicator is not a digit.
    public struct LayoutError: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
    }

    /// Every code's indicators, in file order, each code once.
    public static func indicators(_ lines: [Substring]) throws(LayoutError) -> [Indicators] {
        var columns: (code: Int, modifier: Int?, pcTC: Int, bilateral: Int?)?
        var result: [Indicators] = []
        var seen: Set<String> = []
        for (number, line) in lines.enumerated() {
            let text = line.hasSuffix("\r") ? line.dropLast() : line
            let fields = CodeSetParser.csvFields(text).map { $0.uppercased() }
            guard let found = columns else {
                // The header: a line whose first field is HCPCS and which names the PC/TC column.
                if fields.first == "HCPCS", let pcTC = fields.firstIndex(where: { $0 == "PCTC IND" || $0 == "PCTC" }) {
                    columns = (
                        0, fields.firstIndex(of: "MOD"), pcTC, fields.firstIndex(where: { $0 == "BILAT SURG" || $0 == "BILAT" })
                    )
                }
                continue
            }
            guard let code = fields.first, CodeFormat.isProcedure(code), fields.count > found.pcTC else { continue }
            if let modifier = found.modifier, modifier < fields.count, !fields[modifier].isEmpty { continue }
            guard let pcTC = Int(fields[found.pcTC]), (0...9).contains(pcTC) else {
                throw LayoutError(description: "line \(number + 1): the PC/TC indicator '\(fields[found.pcTC])' of \(code) is not a digit")
            }
            let bilateral = found.bilateral.flatMap { $0 < fields.count ? Int(fields[$0]) : nil }
            if seen.insert(code).inserted { result.append(Indicators(code: code, pcTC: pcTC, bilateral: bilateral)) }
        }
        guard columns != nil else {
            throw LayoutError(description: "no header line naming HCPCS and PCTC IND: not the physician fee schedule's RVU file")
        }
        return result
    }
}
