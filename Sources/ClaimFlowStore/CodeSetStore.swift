public import ClaimFlowCore
import Crypto
public import Foundation
import Logging
import NIOCore
public import PostgresNIO

/// The imported code sets: releases of ICD-10-CM, HCPCS Level II (with modifiers), a CPT
/// licensee table, NCCI PTP edits and MUE limits, and the facts the handoff rules need.
public struct CodeSetStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// What an import did.
    public struct ImportSummary: Sendable, Hashable {
        public let kind: CodeSetKind
        public let label: String
        /// Lines of the file that held a record.
        public let rows: Int
        /// Distinct codes (or edits) stored.
        public let stored: Int
        /// ICD-10-CM: billable codes stored; the ICD-10-CM tabular: manifestation codes stored
        /// (`stored` then counts its Excludes1 ranges); HCPCS: codes with a termination date.
        public let billable: Int
        /// ICD-10-CM only: lines of the file flagged billable.
        public let billableRows: Int
        /// False when the same file was already imported under this label: nothing changed.
        public let changed: Bool
    }

    /// Imports the contents of a code-set file (already decompressed; `fileName` names it in
    /// messages) as release `label`, in force from `effectiveFrom` through `effectiveTo`. One
    /// transaction: a file that fails to parse, anywhere, changes nothing, and the release in
    /// force before stays in force. Importing the same contents under the same label again
    /// changes nothing. Reading a file from disk is ClaimFlowHosting's `importFile(_:...)`.
    public func importContents(
        _ data: Data,
        fileName: String,
        kind: CodeSetKind,
        label: String,
        effectiveFrom: CalendarDate,
        effectiveTo: CalendarDate?,
        progress: (@Sendable (Double) -> Void)? = nil
    ) async throws -> ImportSummary {
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        let parseStarted = ContinuousClock.now
        let records = try CodeSetFile.records(data, kind: kind, name: fileName)
        logger.debug("code-set file parsed", metadata: ["rows": "\(records.rows)", "elapsed": "\(ContinuousClock.now - parseStarted)"])

        return try await database.transaction { connection in
            // One import of a kind at a time; a concurrent one waits, then sees this one's result.
            try await database.lock(.codeSetImport(kind), on: connection)
            let existing = try await connection.query(
                "SELECT id, source_sha256, row_count FROM code_set_releases WHERE kind = \(kind.rawValue) AND label = \(label)",
                logger: logger
            )
            for try await (id, sha, _) in existing.decode((Int64, String, Int).self) {
                if sha == digest {
                    let (stored, billable) = try await counts(release: id, kind: kind, on: connection)
                    return ImportSummary(
                        kind: kind, label: label, rows: records.rows, stored: stored, billable: billable,
                        billableRows: records.billableRows, changed: false
                    )
                }
                try await connection.query("DELETE FROM code_set_releases WHERE id = \(id)", logger: logger)
            }
            let inserted = try await connection.query(
                """
                INSERT INTO code_set_releases (kind, label, effective_from, effective_to, source_sha256, row_count)
                VALUES (\(kind.rawValue), \(label), \(effectiveFrom.description)::date, \(effectiveTo?.description)::date,
                        \(digest), \(records.rows))
                RETURNING id
                """,
                logger: logger
            )
            var releaseID: Int64 = 0
            for try await id in inserted.decode(Int64.self) { releaseID = id }
            try await write(records, release: releaseID, kind: kind, on: connection, progress: progress)
            let (stored, billable) = try await counts(release: releaseID, kind: kind, on: connection)
            return ImportSummary(
                kind: kind, label: label, rows: records.rows, stored: stored, billable: billable,
                billableRows: records.billableRows, changed: true
            )
        }
    }

    /// The releases of each kind, newest first.
    public func releases() async throws -> [(kind: String, label: String, from: String, to: String?, rows: Int)] {
        let rows = try await client.query(
            """
            SELECT kind, label, effective_from::text, effective_to::text, row_count FROM code_set_releases
            ORDER BY kind, effective_from DESC
            """,
            logger: logger
        )
        var result: [(kind: String, label: String, from: String, to: String?, rows: Int)] = []
        for try await row in rows.decode((String, String, String, String?, Int).self) { result.append(row) }
        return result
    }

    private func counts(release: Int64, kind: CodeSetKind, on connection: PostgresConnection) async throws -> (Int, Int) {
        let query: PostgresQuery =
            switch kind {
            case .icd10cm:
                "SELECT count(*)::int, count(*) FILTER (WHERE billable)::int FROM icd10cm_codes WHERE release_id = \(release)"
            case .hcpcs: "SELECT count(*)::int, count(terminated_on)::int FROM hcpcs_codes WHERE release_id = \(release)"
            case .cpt: "SELECT count(*)::int, 0 FROM cpt_codes WHERE release_id = \(release)"
            case .ncciPTP: "SELECT count(*)::int, 0 FROM ncci_ptp_edits WHERE release_id = \(release)"
            case .mue: "SELECT count(*)::int, 0 FROM mue_limits WHERE release_id = \(release)"
            case .feeSchedule: "SELECT count(*)::int, 0 FROM fee_schedule_indicators WHERE release_id = \(release)"
            case .icd10cmTabular:
                """
                SELECT (SELECT count(*) FROM icd10cm_excludes1 WHERE release_id = \(release))::int,
                       (SELECT count(*) FROM icd10cm_manifestations WHERE release_id = \(release))::int
                """
            }
        let rows = try await connection.query(query, logger: logger)
        for try await counts in rows.decode((Int, Int).self) { return counts }
        return (0, 0)
    }

    /// Writes the records in batches of arrays (`unnest`), a few thousand rows a statement.
    private func write(
        _ records: CodeSetFile.Parsed,
        release: Int64,
        kind: CodeSetKind,
        on connection: PostgresConnection,
        progress: (@Sendable (Double) -> Void)?
    ) async throws {
        let batch = 5_000
        let total = max(1, records.count)
        var done = 0
        func report(_ count: Int) {
            done += count
            progress?(Double(done) / Double(total))
        }
        if !records.diagnoses.isEmpty {
            // COPY: the ICD-10-CM file is large (about 98,000 codes), and COPY moves it in one stream.
            try await connection.copyFrom(
                table: "icd10cm_codes",
                columns: ["release_id", "code", "billable", "suggestion", "short_description", "long_description"],
                logger: logger
            ) { writer in
                var buffer = ByteBuffer()
                for (index, diagnosis) in records.diagnoses.enumerated() {
                    buffer.writeString("\(release)\t\(diagnosis.code)\t\(diagnosis.billable ? "t" : "f")\t")
                    buffer.writeString(diagnosis.suggestion ?? "\\N")
                    buffer.writeString("\t")
                    buffer.writeString(Self.copyText(diagnosis.short))
                    buffer.writeString("\t")
                    buffer.writeString(Self.copyText(diagnosis.long))
                    buffer.writeString("\n")
                    if buffer.readableBytes > 1 << 20 || index == records.diagnoses.count - 1 {
                        try await writer.write(buffer)
                        buffer.clear()
                        report(0)
                    }
                }
            }
            report(records.diagnoses.count)
        }
        // The smaller tables: a few thousand rows a statement, as arrays unnested server-side.
        func insert<Record>(_ rows: [Record], _ statement: (ArraySlice<Record>) throws -> PostgresQuery) async throws {
            for chunk in rows.chunked(batch) {
                try await connection.query(try statement(chunk), logger: logger)
                report(chunk.count)
            }
        }
        try await insert(records.procedures) { chunk in
            """
            INSERT INTO hcpcs_codes (release_id, code, short_description, long_description, added_on, terminated_on)
            SELECT \(release), c, s, l, nullif(a, '')::date, nullif(e, '')::date
            FROM unnest(\(chunk.map(\.code))::text[], \(chunk.map(\.short))::text[], \(chunk.map(\.long))::text[],
                        \(chunk.map { $0.lifespan.added?.description ?? "" })::text[],
                        \(chunk.map { $0.lifespan.terminated?.description ?? "" })::text[]) AS t(c, s, l, a, e)
            ON CONFLICT DO NOTHING
            """
        }
        try await insert(records.modifiers) { chunk in
            """
            INSERT INTO code_modifiers (release_id, code, description, added_on, terminated_on)
            SELECT \(release), c, d, nullif(a, '')::date, nullif(e, '')::date
            FROM unnest(\(chunk.map(\.code))::text[], \(chunk.map(\.description))::text[],
                        \(chunk.map { $0.lifespan.added?.description ?? "" })::text[],
                        \(chunk.map { $0.lifespan.terminated?.description ?? "" })::text[]) AS t(c, d, a, e)
            ON CONFLICT DO NOTHING
            """
        }
        try await insert(records.cpt) { chunk in
            """
            INSERT INTO cpt_codes (release_id, code, short_description)
            SELECT \(release), * FROM unnest(\(chunk.map(\.code))::text[], \(chunk.map(\.short))::text[])
            ON CONFLICT DO NOTHING
            """
        }
        try await insert(records.edits) { chunk in
            """
            INSERT INTO ncci_ptp_edits (release_id, column1, column2, effective_date, deletion_date, modifier_indicator)
            SELECT \(release), c1, c2, e::date, nullif(d, '')::date, m
            FROM unnest(\(chunk.map(\.column1))::text[], \(chunk.map(\.column2))::text[],
                        \(chunk.map { $0.effective.description })::text[], \(chunk.map { $0.deletion?.description ?? "" })::text[],
                        \(chunk.map(\.indicator))::int[]) AS t(c1, c2, e, d, m)
            ON CONFLICT DO NOTHING
            """
        }
        try await insert(records.feeSchedule) { chunk in
            """
            INSERT INTO fee_schedule_indicators (release_id, code, pc_tc, bilateral)
            SELECT \(release), c, p, nullif(b, -1)
            FROM unnest(\(chunk.map(\.code))::text[], \(chunk.map(\.pcTC))::int[], \(chunk.map { $0.bilateral ?? -1 })::int[]) AS t(c, p, b)
            ON CONFLICT DO NOTHING
            """
        }
        try await insert(records.tabular.excludes1) { chunk in
            """
            INSERT INTO icd10cm_excludes1 (release_id, code_prefix, excluded_from, excluded_through)
            SELECT \(release), * FROM unnest(\(chunk.map(\.code))::text[], \(chunk.map(\.from))::text[], \(chunk.map(\.through))::text[])
            ON CONFLICT DO NOTHING
            """
        }
        try await insert(records.tabular.manifestations) { chunk in
            """
            INSERT INTO icd10cm_manifestations (release_id, code_prefix)
            SELECT \(release), * FROM unnest(\(Array(chunk))::text[])
            ON CONFLICT DO NOTHING
            """
        }
        try await insert(records.limits) { chunk in
            """
            INSERT INTO mue_limits (release_id, code, max_units, adjudication_indicator, rationale)
            SELECT \(release), c, u, nullif(i, ''), nullif(r, '')
            FROM unnest(\(chunk.map(\.code))::text[], \(chunk.map(\.units))::int[],
                        \(chunk.map { $0.indicator ?? "" })::text[], \(chunk.map { $0.rationale ?? "" })::text[]) AS t(c, u, i, r)
            ON CONFLICT DO NOTHING
            """
        }
    }

    /// Escapes a value for COPY's text format.
    static func copyText(_ text: String) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\t" || $0 == "\n" || $0 == "\r" }) else { return text }
        return text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }

    // MARK: Facts for the rules

    /// What the code sets in force on the draft's date of service say about its codes.
    ///
    /// One statement, so one round trip: the releases in force on the date, then each table
    /// asked only about the claim's own codes, every answer an array in one row.
    public func facts(for draft: ClaimDraft, on connection: PostgresConnection? = nil) async throws -> CodeFacts {
        let dos = draft.dateOfService.description
        let diagnoses = Array(Set(draft.codes.diagnoses)).sorted()
        let procedures = Array(Set(draft.codes.lines.map(\.code))).sorted()
        let modifiers = Array(Set(draft.codes.lines.flatMap(\.modifiers))).sorted()
        // Every prefix of every diagnosis, so the tabular's notes are found by their own code
        // (an index lookup) whatever level of the tree they sit at.
        let prefixes = Array(Set(diagnoses.flatMap { code in (3...max(3, code.count)).map { String(code.prefix($0)) } })).sorted()
        let rows = try await database.rows(
            """
            WITH releases AS MATERIALIZED (
                SELECT DISTINCT ON (kind) kind, id FROM code_set_releases
                WHERE effective_from <= \(dos)::date AND (effective_to IS NULL OR effective_to >= \(dos)::date)
                ORDER BY kind, effective_from DESC
            ), icd AS (
                SELECT c.code, c.billable, coalesce(c.suggestion, '') AS suggestion
                FROM icd10cm_codes c JOIN releases r ON r.kind = 'icd10cm' AND c.release_id = r.id
                WHERE c.code = ANY (\(diagnoses)::text[])
            ), hcpcs AS (
                SELECT id FROM releases WHERE kind = 'hcpcs'
            ), known_hcpcs AS (
                SELECT h.code, coalesce(h.added_on::text, '') AS added, coalesce(h.terminated_on::text, '') AS terminated
                FROM hcpcs_codes h JOIN hcpcs ON h.release_id = hcpcs.id
                WHERE h.code = ANY (\(procedures)::text[])
            ), known_modifiers AS (
                SELECT m.code, coalesce(m.added_on::text, '') AS added, coalesce(m.terminated_on::text, '') AS terminated
                FROM code_modifiers m JOIN hcpcs ON m.release_id = hcpcs.id
                WHERE m.code = ANY (\(modifiers)::text[])
            ), ptp AS (
                SELECT e.column1, e.column2, e.modifier_indicator::int AS indicator
                FROM ncci_ptp_edits e JOIN releases r ON r.kind = 'ncci_ptp' AND e.release_id = r.id
                WHERE cardinality(\(procedures)::text[]) > 1
                  AND e.column1 = ANY (\(procedures)::text[]) AND e.column2 = ANY (\(procedures)::text[])
                  AND e.effective_date <= \(dos)::date AND (e.deletion_date IS NULL OR e.deletion_date >= \(dos)::date)
            ), tabular AS (
                SELECT id FROM releases WHERE kind = 'icd10cm_tabular'
            ), excluded AS (
                SELECT DISTINCT a.code, b.code AS excluded, x.code_prefix
                FROM icd10cm_excludes1 x JOIN tabular t ON x.release_id = t.id,
                     unnest(\(diagnoses)::text[]) AS a(code), unnest(\(diagnoses)::text[]) AS b(code)
                WHERE x.code_prefix = ANY (\(prefixes)::text[]) AND starts_with(a.code, x.code_prefix) AND a.code <> b.code
                  AND left(b.code, length(x.excluded_from)) >= x.excluded_from
                  AND left(b.code, length(x.excluded_through)) <= x.excluded_through
            ), manifestations AS (
                SELECT DISTINCT d.code
                FROM icd10cm_manifestations m JOIN tabular t ON m.release_id = t.id, unnest(\(diagnoses)::text[]) AS d(code)
                WHERE m.code_prefix = ANY (\(prefixes)::text[]) AND starts_with(d.code, m.code_prefix)
            ), fee_schedule AS (
                SELECT f.code, f.pc_tc, coalesce(f.bilateral, -1) AS bilateral
                FROM fee_schedule_indicators f JOIN releases r ON r.kind = 'pfs_rvu' AND f.release_id = r.id
                WHERE f.code = ANY (\(procedures)::text[])
            ), mue AS (
                -- The adjudication indicator as the CMS file writes it ("2 Date of Service Edit:
                -- Policy"): its leading digit; none read as 1, a line edit.
                SELECT m.code, m.max_units, coalesce(substring(m.adjudication_indicator FROM '^ *([123])'), '1')::int AS indicator
                FROM mue_limits m JOIN releases r ON r.kind = 'mue' AND m.release_id = r.id
                WHERE m.code = ANY (\(procedures)::text[])
            )
            SELECT
                EXISTS (SELECT 1 FROM releases WHERE kind = 'icd10cm'),
                (SELECT coalesce(array_agg(code ORDER BY code), '{}') FROM icd),
                (SELECT coalesce(array_agg(billable ORDER BY code), '{}') FROM icd),
                (SELECT coalesce(array_agg(suggestion ORDER BY code), '{}') FROM icd),
                -- Codes missing from the release in force but in another one: not in force on the date.
                (SELECT coalesce(array_agg(DISTINCT c.code), '{}') FROM icd10cm_codes c
                 WHERE EXISTS (SELECT 1 FROM releases WHERE kind = 'icd10cm')
                   AND c.code = ANY (\(diagnoses)::text[]) AND c.code NOT IN (SELECT code FROM icd)),
                EXISTS (SELECT 1 FROM hcpcs),
                (SELECT coalesce(array_agg(code ORDER BY code), '{}') FROM known_hcpcs),
                (SELECT coalesce(array_agg(added ORDER BY code), '{}') FROM known_hcpcs),
                (SELECT coalesce(array_agg(terminated ORDER BY code), '{}') FROM known_hcpcs),
                EXISTS (SELECT 1 FROM code_modifiers m JOIN hcpcs ON m.release_id = hcpcs.id),
                (SELECT coalesce(array_agg(code ORDER BY code), '{}') FROM known_modifiers),
                (SELECT coalesce(array_agg(added ORDER BY code), '{}') FROM known_modifiers),
                (SELECT coalesce(array_agg(terminated ORDER BY code), '{}') FROM known_modifiers),
                EXISTS (SELECT 1 FROM code_set_releases WHERE kind = 'cpt'),
                (SELECT coalesce(array_agg(c.code), '{}') FROM cpt_codes c JOIN releases r ON r.kind = 'cpt' AND c.release_id = r.id
                 WHERE c.code = ANY (\(procedures)::text[])),
                (SELECT coalesce(array_agg(code ORDER BY code), '{}') FROM mue),
                (SELECT coalesce(array_agg(max_units ORDER BY code), '{}') FROM mue),
                (SELECT coalesce(array_agg(indicator ORDER BY code), '{}') FROM mue),
                (SELECT coalesce(array_agg(column1 ORDER BY column1, column2), '{}') FROM ptp),
                (SELECT coalesce(array_agg(column2 ORDER BY column1, column2), '{}') FROM ptp),
                (SELECT coalesce(array_agg(indicator ORDER BY column1, column2), '{}') FROM ptp),
                (SELECT coalesce(array_agg(code ORDER BY code, excluded, code_prefix), '{}') FROM excluded),
                (SELECT coalesce(array_agg(excluded ORDER BY code, excluded, code_prefix), '{}') FROM excluded),
                (SELECT coalesce(array_agg(code_prefix ORDER BY code, excluded, code_prefix), '{}') FROM excluded),
                (SELECT coalesce(array_agg(code ORDER BY code), '{}') FROM manifestations),
                (SELECT coalesce(array_agg(code ORDER BY code), '{}') FROM fee_schedule),
                (SELECT coalesce(array_agg(pc_tc ORDER BY code), '{}') FROM fee_schedule),
                (SELECT coalesce(array_agg(bilateral ORDER BY code), '{}') FROM fee_schedule)
            """,
            prepared: Facts.self, on: connection
        )
        guard let row = rows.first else { return CodeFacts() }
        let (
            icdInForce, icdCodes, billable, suggestions, notInForce, hcpcsInForce, knownHCPCS, hcpcsAdded, hcpcsTerminated,
            modifiersLoaded, knownModifiers, modifiersAdded, modifiersTerminated, cptLoaded, knownCPT, mueCodes, mueUnits,
            mueIndicators, column1, column2, indicators, excludedCodes, excludedOthers, excludedNotes, manifestations, feeCodes,
            pcTC, bilateral
        ) = try row.decode(
            (
                Bool, [String], [Bool], [String], [String], Bool, [String], [String], [String], Bool, [String], [String], [String],
                Bool, [String], [String], [Int], [Int], [String], [String], [Int], [String], [String], [String], [String], [String],
                [Int], [Int]
            ).self)
        var facts = CodeFacts()
        if icdInForce {
            facts.diagnosisReleaseInForce = true
            for (index, code) in icdCodes.enumerated() {
                facts.diagnoses[code] =
                    billable[index] ? .billable : .header(suggestion: suggestions[index].isEmpty ? nil : suggestions[index])
            }
            for code in notInForce { facts.diagnoses[code] = .notInForce }
        }
        if hcpcsInForce {
            facts.hcpcsReleaseInForce = true
            facts.knownHCPCS = Set(knownHCPCS)
            facts.modifierListLoaded = modifiersLoaded
            facts.knownModifiers = Set(knownModifiers)
            func lifespans(_ codes: [String], _ added: [String], _ terminated: [String]) -> [String: CodeLifespan] {
                var result: [String: CodeLifespan] = [:]
                for (index, code) in codes.enumerated() {
                    let lifespan = CodeLifespan(added: CalendarDate(added[index]), terminated: CalendarDate(terminated[index]))
                    if lifespan != CodeLifespan() { result[code] = lifespan }
                }
                return result
            }
            facts.hcpcsLifespans = lifespans(knownHCPCS, hcpcsAdded, hcpcsTerminated)
            facts.modifierLifespans = lifespans(knownModifiers, modifiersAdded, modifiersTerminated)
        }
        if cptLoaded {
            facts.cptTableLoaded = true
            facts.knownCPT = Set(knownCPT)
        }
        for (index, code) in mueCodes.enumerated() {
            facts.unitLimits[code] = mueUnits[index]
            facts.unitLimitIndicators[code] = mueIndicators[index]
        }
        for index in column1.indices {
            facts.ncciEdits.append(NCCIEdit(column1: column1[index], column2: column2[index], modifierIndicator: indicators[index]))
        }
        for index in excludedCodes.indices {
            facts.excludes1.append(Excludes1Pair(code: excludedCodes[index], excluded: excludedOthers[index], noted: excludedNotes[index]))
        }
        facts.manifestations = Set(manifestations)
        for (index, code) in feeCodes.enumerated() {
            facts.pcTCIndicators[code] = pcTC[index]
            if bilateral[index] >= 0 { facts.bilateralIndicators[code] = bilateral[index] }
        }
        return facts
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

/// The code sets' hot-path statement (see ``PreparedName``).
enum Facts: PreparedName {}
