public import ClaimFlowCore
public import Foundation
import PostgresNIO

/// Practices, their rendering providers, and payers: the reference data a claim is built on.
public struct PracticeStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Creates a practice, or returns the id of the one with the same code.
    public func upsert(_ practice: Practice, audit: AuditContext) async throws -> UUID {
        try await insert(practice, onConflict: "DO UPDATE SET code = EXCLUDED.code", audit: audit)
    }

    /// Creates a practice; a code already taken is refused (409), so two administrators racing
    /// to create the same practice cannot both join it.
    public func create(_ practice: Practice, audit: AuditContext) async throws -> UUID {
        try await insert(practice, onConflict: "DO NOTHING", audit: audit)
    }

    private func insert(_ practice: Practice, onConflict action: SQLFragment, audit: AuditContext) async throws -> UUID {
        let address = practice.address
        // A practice is a billing provider: its address is refused now rather than on every 837P.
        if let finding = address.billingProviderFindings.first {
            throw StoreError(.invalidValue, "practice \(practice.code): address \(finding.fieldName) \(finding.message)")
        }
        return try await save(
            """
            INSERT INTO practices (code, name, npi, tax_id, taxonomy, address_line1, address_line2, city, state,
                                   postal_code, segregate_duties, individual_first_name, individual_last_name)
            VALUES (\(practice.code), \(practice.name), \(practice.npi), \(practice.taxID), \(practice.taxonomy),
                    \(address.line1), \(address.line2), \(address.city), \(address.state), \(address.postalCode),
                    \(practice.segregateDuties), \(practice.individual?.firstName), \(practice.individual?.lastName))
            ON CONFLICT (code) \(action)
            RETURNING id
            """,
            logging: AuditEntry("practice.saved", by: audit, practice: "id", rows: "FROM saved"),
            otherwise: "practice \(practice.code) already exists"
        )
    }

    /// Sets how many live leases of one queue a person may hold in the practice at once (the
    /// fair-share cap, 1 to 1000). Leases already held above a lowered cap are kept; the next
    /// pull simply answers with held work. Returns false when no such practice exists.
    public func setLeaseCap(practiceID: UUID, to cap: Int, audit: AuditContext) async throws -> Bool {
        guard (1...1000).contains(cap) else { throw StoreError(.invalidValue, "a lease cap is from 1 to 1000") }
        let entry = AuditEntry(
            "practice.lease_cap_set", by: audit, practice: "id", detail: "jsonb_build_object('lease_cap', lease_cap)",
            rows: "FROM saved")
        return try await database.count(
            """
            WITH saved AS (
                UPDATE practices SET lease_cap = \(cap) WHERE id = \(practiceID) RETURNING id, lease_cap
            ), logged AS (\(entry))
            SELECT count(*)::int FROM saved
            """
        ) == 1
    }

    /// The practice's fair-share cap: live leases of one queue a person may hold there at once.
    public func leaseCap(practiceID: UUID) async throws -> Int? {
        try await database.first(Int.self, "SELECT lease_cap FROM practices WHERE id = \(practiceID)")
    }

    /// The id of the practice with this code.
    public func id(forCode code: String) async throws -> UUID? {
        try await database.first(UUID.self, "SELECT id FROM practices WHERE code = \(code)")
    }

    /// Creates a rendering provider, or returns the id of the practice's provider with that NPI.
    public func upsert(_ provider: Provider, audit: AuditContext) async throws -> UUID {
        try await save(
            """
            INSERT INTO providers (practice_id, npi, first_name, last_name, taxonomy)
            VALUES (\(provider.practiceID), \(provider.npi), \(provider.firstName), \(provider.lastName),
                    \(provider.taxonomy))
            ON CONFLICT (practice_id, npi) DO UPDATE SET npi = EXCLUDED.npi
            RETURNING id, practice_id
            """,
            logging: AuditEntry(
                "provider.saved", by: audit, practice: "practice_id", detail: "jsonb_build_object('provider_id', id)",
                rows: "FROM saved"
            ),
            otherwise: "provider was not saved"
        )
    }

    /// Creates a payer, or brings the one with its payer code to these values.
    public func upsert(_ payer: Payer, audit: AuditContext) async throws -> UUID {
        try await save(
            PayerChange(
                payerCode: payer.payerCode, name: payer.name, filingLimitDays: payer.filingLimitDays,
                claimFilingIndicator: payer.claimFilingIndicator, acceptsCorrections: payer.acceptsCorrections,
                correctedFilingLimitDays: payer.correctedFilingLimitDays
            ),
            audit: audit
        ).id
    }

    /// Creates a payer (a value left nil takes the column's default), or changes the one with
    /// its payer code (a value left nil keeps the current one, so an administrator who sends
    /// only the name does not reset a Medicare payer's SBR09 to CI).
    ///
    /// The update's `WHERE ... IS DISTINCT FROM` skips a row that would not change: no write,
    /// no audit event, and the outcome says `unchanged`. The row is then read by the second
    /// branch; when another session inserted the payer after this statement's snapshot was
    /// taken, neither branch sees it and the save is refused as a conflict, to be retried.
    public func save(_ payer: PayerChange, audit: AuditContext) async throws -> (id: UUID, outcome: SaveOutcome) {
        let filingLimit = payer.filingLimitDays
        let indicator = payer.claimFilingIndicator
        let corrections = payer.acceptsCorrections
        let correctedLimit = payer.correctedFilingLimitDays
        let entry = AuditEntry(
            "payer.saved", by: audit, detail: "jsonb_build_object('payer_id', id, 'created', created)", rows: "FROM saved")
        let rows = try await database.query(
            """
            WITH saved AS (
                INSERT INTO payers AS py (payer_code, name, filing_limit_days, claim_filing_indicator, accepts_corrections,
                                          corrected_filing_limit_days)
                VALUES (\(payer.payerCode), \(payer.name), coalesce(\(filingLimit)::integer, 365),
                        coalesce(\(indicator)::text, 'CI'), coalesce(\(corrections)::boolean, true),
                        coalesce(\(correctedLimit)::integer, 365))
                ON CONFLICT (payer_code) DO UPDATE SET
                    name = EXCLUDED.name,
                    filing_limit_days = coalesce(\(filingLimit)::integer, py.filing_limit_days),
                    claim_filing_indicator = coalesce(\(indicator)::text, py.claim_filing_indicator),
                    accepts_corrections = coalesce(\(corrections)::boolean, py.accepts_corrections),
                    corrected_filing_limit_days = coalesce(\(correctedLimit)::integer, py.corrected_filing_limit_days)
                WHERE (py.name, py.filing_limit_days, py.claim_filing_indicator, py.accepts_corrections,
                       py.corrected_filing_limit_days)
                      IS DISTINCT FROM
                      (EXCLUDED.name, coalesce(\(filingLimit)::integer, py.filing_limit_days),
                       coalesce(\(indicator)::text, py.claim_filing_indicator),
                       coalesce(\(corrections)::boolean, py.accepts_corrections),
                       coalesce(\(correctedLimit)::integer, py.corrected_filing_limit_days))
                RETURNING id, (xmax = 0) AS created
            ), logged AS (\(entry))
            SELECT id, CASE WHEN created THEN 'created' ELSE 'updated' END FROM saved
            UNION ALL
            SELECT id, 'unchanged' FROM payers WHERE payer_code = \(payer.payerCode) AND NOT EXISTS (SELECT FROM saved)
            """
        )
        for try await (id, outcome) in rows.decode((UUID, String).self) {
            return (id, SaveOutcome(rawValue: outcome) ?? .updated)
        }
        throw StoreError(.conflict, "payer \(payer.payerCode) was saved by someone else at the same time; try again")
    }

    /// Runs an upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING id`) as the CTE `saved`,
    /// with its audit entry over `saved` in the same statement, and returns the row's id.
    private func save(_ upsert: SQLFragment, logging entry: AuditEntry, otherwise refusal: String) async throws -> UUID {
        let saved = try await database.first(
            UUID.self,
            """
            WITH saved AS (\(fragment: upsert)), logged AS (\(entry))
            SELECT id FROM saved
            """
        )
        guard let saved else { throw StoreError(.conflict, refusal) }
        return saved
    }

    /// The id of the practice with `code`, when it is one of `practiceIDs`.
    public func practiceID(code: String, within practiceIDs: Set<UUID>) async throws -> UUID? {
        let rows = try await client.query(
            "SELECT id FROM practices WHERE code = \(code) AND id = ANY (\(Array(practiceIDs)))",
            logger: logger
        )
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    /// The practice's rendering provider with this NPI.
    public func providerID(practiceID: UUID, npi: String) async throws -> UUID? {
        let rows = try await client.query(
            "SELECT id FROM providers WHERE practice_id = \(practiceID) AND npi = \(npi)",
            logger: logger
        )
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    /// The payer with this payer code.
    public func payerID(code: String) async throws -> UUID? {
        let rows = try await client.query("SELECT id FROM payers WHERE payer_code = \(code)", logger: logger)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    /// The practices in `practiceIDs`, by code.
    public func practices(_ practiceIDs: Set<UUID>) async throws -> [Practice] {
        let rows = try await client.query(
            """
            SELECT id, code, name, npi, tax_id, taxonomy, address_line1, address_line2, city, state, postal_code,
                   segregate_duties, individual_first_name, individual_last_name
            FROM practices WHERE id = ANY (\(Array(practiceIDs))) ORDER BY code
            """,
            logger: logger
        )
        var result: [Practice] = []
        for try await row in rows.decode(
            (UUID, String, String, String, String, String, String, String?, String, String, String, Bool, String?, String?).self
        ) {
            result.append(
                Practice(
                    id: row.0, code: row.1, name: row.2, npi: row.3, taxID: row.4, taxonomy: row.5,
                    address: PostalAddress(line1: row.6, line2: row.7, city: row.8, state: row.9, postalCode: row.10),
                    segregateDuties: row.11,
                    individual: row.12.flatMap { first in row.13.map { Practice.Individual(firstName: first, lastName: $0) } }
                )
            )
        }
        return result
    }

    /// The practice's rendering providers.
    public func providers(practiceID: UUID) async throws -> [Provider] {
        let rows = try await client.query(
            """
            SELECT id, npi, first_name, last_name, taxonomy FROM providers
            WHERE practice_id = \(practiceID) ORDER BY last_name, first_name, npi
            """,
            logger: logger
        )
        var result: [Provider] = []
        for try await (id, npi, first, last, taxonomy) in rows.decode((UUID, String, String, String, String?).self) {
            result.append(Provider(id: id, practiceID: practiceID, npi: npi, firstName: first, lastName: last, taxonomy: taxonomy))
        }
        return result
    }

    /// Every payer, with its profile.
    public func payers() async throws -> [Payer] {
        let rows = try await client.query(
            """
            SELECT id, payer_code, name, filing_limit_days, claim_filing_indicator, accepts_corrections,
                   corrected_filing_limit_days
            FROM payers ORDER BY payer_code
            """,
            logger: logger
        )
        var result: [Payer] = []
        for try await (id, code, name, limit, indicator, corrections, correctedLimit) in rows.decode(
            (UUID, String, String, Int, String, Bool, Int).self
        ) {
            result.append(
                Payer(
                    id: id, payerCode: code, name: name, filingLimitDays: limit, claimFilingIndicator: indicator,
                    acceptsCorrections: corrections, correctedFilingLimitDays: correctedLimit
                )
            )
        }
        return result
    }
}

/// A payer to create, or the changes to the payer with `payerCode`: a nil value is the
/// column's default for a new payer and the current value for an existing one.
public struct PayerChange: Sendable, Hashable {
    public var payerCode: String
    public var name: String
    public var filingLimitDays: Int?
    public var claimFilingIndicator: String?
    public var acceptsCorrections: Bool?
    public var correctedFilingLimitDays: Int?

    public init(
        payerCode: String, name: String, filingLimitDays: Int? = nil, claimFilingIndicator: String? = nil,
        acceptsCorrections: Bool? = nil, correctedFilingLimitDays: Int? = nil
    ) {
        self.payerCode = payerCode
        self.name = name
        self.filingLimitDays = filingLimitDays
        self.claimFilingIndicator = claimFilingIndicator
        self.acceptsCorrections = acceptsCorrections
        self.correctedFilingLimitDays = correctedFilingLimitDays
    }
}

/// What an upsert did to its row.
public enum SaveOutcome: String, Sendable, Hashable, Codable {
    case created, updated, unchanged
}
