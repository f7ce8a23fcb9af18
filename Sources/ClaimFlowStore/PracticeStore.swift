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
        return try await save(
            """
            INSERT INTO practices (code, name, npi, tax_id, taxonomy, address_line1, address_line2, city, state,
                                   postal_code, segregate_duties)
            VALUES (\(practice.code), \(practice.name), \(practice.npi), \(practice.taxID), \(practice.taxonomy),
                    \(address.line1), \(address.line2), \(address.city), \(address.state), \(address.postalCode),
                    \(practice.segregateDuties))
            ON CONFLICT (code) \(action)
            RETURNING id
            """,
            logging: AuditEntry("practice.saved", by: audit, practice: "id", rows: "FROM saved"),
            otherwise: "practice \(practice.code) already exists"
        )
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

    /// Creates a payer, or returns the id of the payer with that payer code.
    public func upsert(_ payer: Payer, audit: AuditContext) async throws -> UUID {
        try await save(
            """
            INSERT INTO payers (payer_code, name, filing_limit_days)
            VALUES (\(payer.payerCode), \(payer.name), \(payer.filingLimitDays))
            ON CONFLICT (payer_code) DO UPDATE SET payer_code = EXCLUDED.payer_code
            RETURNING id
            """,
            logging: AuditEntry("payer.saved", by: audit, detail: "jsonb_build_object('payer_id', id)", rows: "FROM saved"),
            otherwise: "payer \(payer.payerCode) was not saved"
        )
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
                   segregate_duties
            FROM practices WHERE id = ANY (\(Array(practiceIDs))) ORDER BY code
            """,
            logger: logger
        )
        var result: [Practice] = []
        for try await row in rows.decode(
            (UUID, String, String, String, String, String, String, String?, String, String, String, Bool).self
        ) {
            result.append(
                Practice(
                    id: row.0, code: row.1, name: row.2, npi: row.3, taxID: row.4, taxonomy: row.5,
                    address: PostalAddress(line1: row.6, line2: row.7, city: row.8, state: row.9, postalCode: row.10),
                    segregateDuties: row.11
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

    /// Every payer.
    public func payers() async throws -> [Payer] {
        let rows = try await client.query(
            "SELECT id, payer_code, name, filing_limit_days FROM payers ORDER BY payer_code",
            logger: logger
        )
        var result: [Payer] = []
        for try await (id, code, name, limit) in rows.decode((UUID, String, String, Int).self) {
            result.append(Payer(id: id, payerCode: code, name: name, filingLimitDays: limit))
        }
        return result
    }
}
